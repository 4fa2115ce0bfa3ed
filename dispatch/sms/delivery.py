"""Delivery reports that never came. Twilio posts each status once and does not post it again if the post
fails (the API restarting, a dropped connection), so a message can sit at `queued` for good; the reconciler
asks Twilio for the status of those (`flow.reconciler`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.sms.models import AWAITING_REPORT, SmsMessage

# A report older than this is no use to anyone (an offer has long timed out): stop asking.
ASK_WITHIN = timedelta(hours=1)


def awaiting_report(session: Session, now: datetime, quiet_for: timedelta, limit: int) -> list[tuple[int, str]]:
    """(id, provider sid) of the messages sent within the hour whose status has not moved for `quiet_for`
    and that are due to be asked (`asked`)."""
    rows = session.execute(
        select(SmsMessage.id, SmsMessage.provider_sid)
        .where(
            SmsMessage.status.in_(AWAITING_REPORT),
            SmsMessage.sent_at >= now - ASK_WITHIN,
            SmsMessage.updated_at <= now - quiet_for,
            or_(SmsMessage.not_before.is_(None), SmsMessage.not_before <= now),
            SmsMessage.provider_sid.is_not(None),
        )
        .order_by(SmsMessage.id)
        .limit(limit)
    )
    return [(message_id, str(sid)) for message_id, sid in rows]


def asked(session: Session, clock: Clock, message_id: int, gone: bool = False) -> None:
    """The provider was asked and had nothing newer: ask again once the message has been out twice as long
    (at 2, 4, 8, 16, 32 minutes: a carrier that never reports costs five asks, not thirty). `gone`: the
    provider does not know it (a 404): never again."""
    message = session.get(SmsMessage, message_id, with_for_update=True)
    if message is None or message.status not in AWAITING_REPORT or message.sent_at is None:
        return
    now = clock.now()
    # `not_before` otherwise says when a held message may go (`sms.cap`); a sent one has no other use for it.
    message.not_before = message.sent_at + ASK_WITHIN if gone else now + (now - message.sent_at)
    message.updated_at = now
