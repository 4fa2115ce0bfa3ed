"""Keys derived from SECRET_KEY, one per use: sealing TOTP secrets at rest, digesting recovery codes, signing
login challenges. A database copy alone then gives neither a secret nor a code.

The lock holds no AEAD cipher (no `cryptography`), so a secret is sealed with what the standard library has:
HMAC-SHA256 as a pseudo-random function in counter mode for the key stream, under a random nonce, and an
HMAC-SHA256 tag over the nonce and the ciphertext (encrypt-then-MAC), each with its own derived key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_VERSION = "v1"
_NONCE_BYTES = 16
_TAG_BYTES = 32


class SealBroken(ValueError):
    """A sealed value was altered, or sealed under another SECRET_KEY."""


def derive(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, from the service's secret key."""
    return hmac.new(secret_key.encode(), b"dispatch two-factor: " + purpose.encode(), hashlib.sha256).digest()


class Keys:
    """The two-factor keys of one process."""

    def __init__(self, secret_key: str) -> None:
        self._seal = derive(secret_key, "seal")
        self._tag = derive(secret_key, "tag")
        self._codes = derive(secret_key, "recovery codes")
        self.challenge_secret = derive(secret_key, "login challenge").hex()

    def seal(self, plaintext: str) -> str:
        """`plaintext` encrypted and authenticated, as text for a column."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        data = plaintext.encode()
        body = bytes(a ^ b for a, b in zip(data, self._stream(nonce, len(data)), strict=True))
        tag = hmac.new(self._tag, nonce + body, hashlib.sha256).digest()
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + body + tag).decode()}"

    def unseal(self, sealed: str) -> str:
        """The plaintext of `seal`'s output; SealBroken if it was altered or sealed under another key."""
        version, _, encoded = sealed.partition(".")
        try:
            raw = base64.urlsafe_b64decode(encoded.encode())
        except (binascii.Error, ValueError):
            raise SealBroken("the sealed value is damaged") from None
        if version != _VERSION or len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SealBroken("the sealed value is damaged")
        nonce, body, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, hmac.new(self._tag, nonce + body, hashlib.sha256).digest()):
            raise SealBroken("the sealed value was altered or sealed under another SECRET_KEY")
        return bytes(a ^ b for a, b in zip(body, self._stream(nonce, len(body)), strict=True)).decode()

    def code_digest(self, user_id: int, code: str) -> str:
        """What is stored of a recovery code: keyed, so that a database copy cannot be searched for codes."""
        return hmac.new(self._codes, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def _stream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        stream = b"".join(
            hmac.new(self._seal, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            for counter in range(blocks)
        )
        return stream[:length]
