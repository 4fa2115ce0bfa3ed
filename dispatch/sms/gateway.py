"""The SMS gateway: one small interface, with a Twilio adapter and a console adapter behind it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, Protocol, TypeVar

from dispatch.telemetry.metrics import SMS_SEND_DURATION, SMS_SENDS


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


UNKNOWN = "unknown"  # a status the provider gives for a message it does not know (Twilio: 404, 20404)


@dataclass(frozen=True)
class DeliveryStatus:
    """What the provider knows of a message it took: its status now, and its error code if it failed."""

    status: str
    error_code: str | None = None


@dataclass(frozen=True)
class ReceivedMessage:
    """An SMS to our number as the provider holds it: what a webhook would have posted."""

    sid: str
    phone: str  # the sender, as the provider gives it
    body: str
    received_at: datetime


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

    def status_of(self, sid: str) -> DeliveryStatus | None:
        """The provider's status of message `sid` now (UNKNOWN: it has no such message); None when it cannot
        say now (unreachable, failing)."""
        ...

    def received_since(self, since: datetime) -> list[ReceivedMessage] | None:
        """The SMS to our number received from `since` on, newest first; None when it cannot say."""
        ...


P = ParamSpec("P")
R = TypeVar("R")


def timed_sms_send(send: Callable[P, R]) -> Callable[P, R]:
    """Decorate a gateway's `send`: count its outcome (sent, rejected, unavailable) and time it."""

    @functools.wraps(send)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            result = send(*args, **kwargs)
            outcome = "sent"
            return result
        except SmsRejected:
            outcome = "rejected"
            raise
        finally:
            SMS_SENDS.labels(outcome).inc()
            SMS_SEND_DURATION.observe(time.perf_counter() - started)

    return timed
