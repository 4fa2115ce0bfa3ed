"""The hourly SMS cap per number: a bug must not flood a physician's phone.

Counted from `sms_message` itself (each message's `sent_at`, set as its send is claimed), over the hour up to
now: exact across workers and processes, and it survives Redis being lost. Two senders to one number take
turns under a per-number lock (PostgreSQL's advisory lock, held to the commit that records the claim), so
they cannot both take the last place; SQLite, the embedded demo's database, has one writer at a time anyway.
A message beyond the cap is held, not sent, until a place frees; what follows from that is the flow's to say
(`flow.sms_cap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from dispatch.clock import Clock
from dispatch.db import UTCDateTime
from dispatch.sms.models import SmsCapAlert, SmsMessage

WINDOW = timedelta(hours=1)
CAP_ALERT = "sms_cap_alert"
# What goes to the coordinator is neither counted nor held: an escalation capped into silence is worse than
# many of them, and each is throttled where it is made (a case re-alerts every 15 minutes at most, a morning
# report is flagged once, this cap's own alert goes once per number per hour).
UNCAPPED = frozenset({"coordinator_alert", "handoff_flag", CAP_ALERT})
# An offer never waits behind held messages for a free place: it goes now, or the flow offers the case to
# the next physician. Everything else keeps its order.
JUMPS_THE_QUEUE = frozenset({"offer"})
# Our own key space among advisory locks: (this class, the number's hash).
_LOCK_CLASS = 0x534D53

_earlier = aliased(SmsMessage)
_WINDOW = select(
    func.count(),
    func.min(SmsMessage.sent_at),
    select(_earlier.id)
    .where(_earlier.phone_e164 == bindparam("phone"), _earlier.status == "held", _earlier.id < bindparam("id"))
    .exists(),
).where(
    SmsMessage.phone_e164 == bindparam("phone"),
    SmsMessage.sent_at > bindparam("since", type_=UTCDateTime()),
    SmsMessage.purpose.not_in(UNCAPPED),
)


@dataclass(frozen=True)
class HourlyCap:
    """At most `per_hour` SMS to one number in any hour; `on_held(session, message)` runs in the transaction
    that holds a message (the first time and each time it must wait again)."""

    per_hour: int
    on_held: Callable[[Session, SmsMessage], None] | None = None

    def hold_until(
        self, session: Session, clock: Clock, message_id: int, phone: str, purpose: str
    ) -> datetime | None:
        """Lock the number for this transaction; None if the message may go now, else when it may."""
        if purpose in UNCAPPED:
            return None
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, func.hashtext(phone))))
        now = clock.now()
        sent, oldest, queued_behind = session.execute(
            _WINDOW, {"phone": phone, "id": message_id, "since": now - WINDOW}
        ).one()
        if sent >= self.per_hour and oldest is not None:
            return oldest + WINDOW  # when the oldest of them leaves the hour
        if queued_behind and purpose not in JUMPS_THE_QUEUE:
            return now  # a place is free, and the held ones before it take it first (the next sweep)
        return None

    def hold(self, session: Session, message: SmsMessage, until: datetime) -> None:
        """Hold the message until `until`, and every other one to its number with it, so that the sweep
        tries none of them before a place can be free."""
        message.status, message.not_before, message.sent_at = "held", until, None
        session.execute(
            update(SmsMessage)
            .where(
                SmsMessage.phone_e164 == message.phone_e164,
                SmsMessage.status == "held",
                SmsMessage.not_before < until,
                SmsMessage.id != message.id,
            )
            .values(not_before=until)
        )
        if self.on_held is not None:
            self.on_held(session, message)


def window(session: Session, clock: Clock, phone: str) -> tuple[int, datetime | None]:
    """What the cap counts to this number in the hour up to now, and when the oldest of it leaves the hour."""
    sent, oldest, _ = session.execute(_WINDOW, {"phone": phone, "id": 0, "since": clock.now() - WINDOW}).one()
    return sent, (oldest + WINDOW if oldest is not None else None)


@dataclass(frozen=True)
class HeldNumber:
    """A number with messages held by the cap: how many, when the next may go, when the coordinator was told."""

    phone_e164: str
    held: int
    next_at: datetime | None
    alerted_at: datetime | None


def held_numbers(session: Session) -> list[HeldNumber]:
    """Every number with held messages, the longest held first."""
    alerted = (
        select(func.max(SmsCapAlert.alerted_at))
        .where(SmsCapAlert.phone_e164 == SmsMessage.phone_e164)
        .scalar_subquery()
    )
    rows = session.execute(
        select(SmsMessage.phone_e164, func.count(), func.min(SmsMessage.not_before), alerted)
        .where(SmsMessage.status == "held")
        .group_by(SmsMessage.phone_e164)
        .order_by(func.min(SmsMessage.id))
    )
    return [HeldNumber(*row) for row in rows]
