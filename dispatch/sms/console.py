"""The console adapter for local runs: nothing leaves the machine; messages appear in the outbox."""

from __future__ import annotations

import logging
import uuid

from dispatch.phones import masked
from dispatch.sms.gateway import SentMessage

log = logging.getLogger(__name__)


class ConsoleGateway:
    """Accepts every message at once; the SMS table is the outbox the console lists."""

    def send(self, to: str, body: str, status_callback: str | None = None) -> SentMessage:
        sid = "SMconsole" + uuid.uuid4().hex[:24]
        # Bodies carry no patient data by construction; the number is masked all the same.
        log.info("console SMS %s to %s: %s", sid, masked(to), body)
        return SentMessage(sid=sid, status="delivered")
