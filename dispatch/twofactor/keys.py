"""Keys derived from SECRET_KEY, one per use: sealing TOTP secrets at rest (`cryptography`'s Fernet: AES-CBC
under a random IV, authenticated by HMAC-SHA256), digesting recovery codes, signing login challenges. A
database copy alone then gives neither a secret nor a code."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SealBroken(ValueError):
    """A sealed value was altered, or sealed under another SECRET_KEY."""


def derive(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, from the service's secret key."""
    return hmac.new(secret_key.encode(), b"dispatch two-factor: " + purpose.encode(), hashlib.sha256).digest()


class Keys:
    """The two-factor keys of one process."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive(secret_key, "seal")))
        self._codes = derive(secret_key, "recovery codes")
        self.challenge_secret = derive(secret_key, "login challenge").hex()

    def seal(self, plaintext: str) -> str:
        """`plaintext` encrypted and authenticated, as text for a column."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, sealed: str) -> str:
        """The plaintext of `seal`'s output; SealBroken if it was altered or sealed under another key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealBroken("the sealed value was altered or sealed under another SECRET_KEY") from None

    def code_digest(self, user_id: int, code: str) -> str:
        """What is stored of a recovery code: keyed, so that a database copy cannot be searched for codes."""
        return hmac.new(self._codes, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()
