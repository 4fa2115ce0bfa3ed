"""Delivery reports that never came. Twilio posts each status once and does not post it again if the post
fails (the API restarting, a dropped connection), so a message can sit at `queued` for good; the reconciler
asks Twilio for the status of those (`flow.reconciler`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.sms.models import AWAITING_REPORT, SmsMessage

# A report older than this is no use to anyone (an offer has long timed out): stop asking.
ASK_WITHIN = timedelta(hours=1)


def awaiting_report(session: Session, now: datetime, quiet_for: timedelta, limit: int) -> list[tuple[int, str]]:
    """(id, provider sid) of the messages sent within the hour whose status has not moved for `quiet_for`."""
    rows = session.execute(
        select(SmsMessage.id, SmsMessage.provider_sid)
        .where(
            SmsMessage.status.in_(AWAITING_REPORT),
            SmsMessage.sent_at >= now - ASK_WITHIN,
            SmsMessage.updated_at <= now - quiet_for,
            SmsMessage.provider_sid.is_not(None),
        )
        .order_by(SmsMessage.id)
        .limit(limit)
    )
    return [(message_id, str(sid)) for message_id, sid in rows]


def asked(session: Session, clock: Clock, message_id: int) -> None:
    """The provider was asked and had nothing newer: ask again only after another quiet spell."""
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status.in_(AWAITING_REPORT))
        .values(updated_at=clock.now())
    )
