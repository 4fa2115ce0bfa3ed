"""Two-factor login: TOTP (RFC 6238) codes, recovery codes, remembered browsers."""
