"""The voice caller: one small interface beside the SMS gateway, with a Twilio adapter and a console adapter.

A call says what Twilio fetches from our TwiML URL when the physician picks up (`url`), or a short message
given inline (`say`, for the coordinator's alerts, no keys to press)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PlacedCall:
    sid: str
    status: str


class CallRejected(Exception):
    """The provider refused the call for good (e.g. Twilio 21211, an invalid 'To' number)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class CallUnavailable(Exception):
    """The provider could not be reached or failed; calling again later may work."""


class Caller(Protocol):
    def call(
        self, to: str, *, url: str | None = None, say: str | None = None, status_callback: str | None = None
    ) -> PlacedCall:
        """Ring the E.164 number `to`; raise CallRejected or CallUnavailable on failure."""
        ...
