"""The SMS gateway: one small interface, with a Twilio adapter and a console adapter behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


class SmsRejected(Exception):
    """The provider refused the message for good (e.g. Twilio 21211, an invalid 'To' number)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SmsUnavailable(Exception):
    """The provider could not be reached or failed; sending again later may work."""


class SmsGateway(Protocol):
    def send(self, to: str, body: str, status_callback: str | None = None) -> SentMessage:
        """Send `body` to the E.164 number `to`; raise SmsRejected or SmsUnavailable on failure."""
        ...
