"""The console adapters for local runs: nothing leaves the machine; messages appear in the outbox, calls on
the timeline."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from dispatch.phones import masked
from dispatch.sms.caller import PlacedCall
from dispatch.sms.gateway import DeliveryStatus, ReceivedMessage, SentMessage

log = logging.getLogger(__name__)


class ConsoleGateway:
    """Accepts every message at once; the SMS table is the outbox the console lists."""

    def send(self, to: str, body: str, status_callback: str | None = None) -> SentMessage:
        sid = "SMconsole" + uuid.uuid4().hex[:24]
        # Bodies carry no patient data by construction; the number is masked all the same.
        log.info("console SMS %s to %s: %s", sid, masked(to), body)
        return SentMessage(sid=sid, status="delivered")

    def status_of(self, sid: str) -> DeliveryStatus | None:
        """Every console message was delivered the moment it was sent."""
        return DeliveryStatus("delivered")

    def received_since(self, since: datetime) -> list[ReceivedMessage] | None:
        """None missed: the phone simulator posts to the webhook in-process."""
        return []


class ConsoleCaller:
    """Rings nobody: the call is logged here and on the case's timeline (`flow.calls`), answered by nobody."""

    def call(
        self, to: str, *, url: str | None = None, say: str | None = None, status_callback: str | None = None
    ) -> PlacedCall:
        sid = "CAconsole" + uuid.uuid4().hex[:24]
        log.info("console call %s to %s", sid, masked(to))
        return PlacedCall(sid=sid, status="queued")
