"""Password hashing with argon2id, a memory-hard hash."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config.settings import Settings

# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_PASSWORD = "not-a-real-password"


class Passwords:
    """Hash and verify passwords with the configured argon2id cost."""

    def __init__(self, memory_kib: int, time_cost: int) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)
        self._dummy_hash: str | None = None  # made on first need: workers never verify passwords

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(settings.argon2_memory_kib, settings.argon2_time_cost)

    def hash(self, password: str) -> str:
        """Hash a new password."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; an absent hash still costs one verification."""
        try:
            if password_hash is None:
                self._dummy_hash = self._dummy_hash or self._hasher.hash(_DUMMY_PASSWORD)
                self._hasher.verify(self._dummy_hash, password)
                return False
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash used weaker parameters than configured now."""
        return self._hasher.check_needs_rehash(password_hash)
