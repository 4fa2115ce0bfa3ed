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

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

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

_other = aliased(SmsMessage)
_SENT_IN_HOUR = (
    select(func.count())
    .where(
        _other.phone_e164 == SmsMessage.phone_e164,
        _other.sent_at > bindparam("since", type_=UTCDateTime()),
        _other.purpose.not_in(UNCAPPED),
    )
    .scalar_subquery()
)
_HELD_BEFORE = (
    select(_other.id)
    .where(_other.phone_e164 == SmsMessage.phone_e164, _other.status == "held", _other.id < SmsMessage.id)
    .exists()
)
# The rule, on the message being sent: it may go now. Its parameters: `HourlyCap.params`.
ROOM = SmsMessage.purpose.in_(UNCAPPED) | (
    (bindparam("per_hour") > _SENT_IN_HOUR) & (SmsMessage.purpose.in_(JUMPS_THE_QUEUE) | ~_HELD_BEFORE)
)
_LOCK = select(func.pg_advisory_xact_lock(_LOCK_CLASS, func.hashtext(SmsMessage.phone_e164))).where(
    SmsMessage.id == bindparam("message_id")
)
# A place taken for a message, nothing more: that commit need not wait for the disk. A crash that lost it
# would lose the claim's send with it (the sweep sends again, and counts it then), and the send's own record,
# a later commit, is durable and carries all the log before it.
_LOCK_NO_DISK_WAIT = _LOCK.add_columns(func.set_config("synchronous_commit", "off", True))
_DISK_WAIT = text("SET LOCAL synchronous_commit TO ON")
_TAKE_PLACE = (
    update(SmsMessage)
    .where(SmsMessage.id == bindparam("message_id"), ROOM)
    .values(sent_at=bindparam("now", type_=UTCDateTime()))
    .returning(SmsMessage.id)
)
_WINDOW = select(func.count(), func.min(SmsMessage.sent_at)).where(
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

    def lock(self, session: Session, message_id: int, *, no_disk_wait: bool = False) -> None:
        """Take the message's number for this transaction: of two senders to one number, the second counts
        after the first has committed its place (PostgreSQL; SQLite writes one at a time)."""
        if session.get_bind().dialect.name == "postgresql":
            session.connection().execute(
                _LOCK_NO_DISK_WAIT if no_disk_wait else _LOCK, {"message_id": message_id}
            )

    def params(self, clock: Clock) -> dict[str, object]:
        """The values `ROOM` reads."""
        return {"per_hour": self.per_hour, "since": clock.now() - WINDOW}

    def take_place(self, session: Session, clock: Clock, message: SmsMessage) -> bool:
        """Lock the number, then take a place under the cap for the message (True) or hold it (False); the
        caller commits, and sends only what took a place."""
        self.lock(session, message.id, no_disk_wait=True)
        now = clock.now()
        place = {"message_id": message.id, "now": now, **self.params(clock)}
        if session.connection().execute(_TAKE_PLACE, place).scalar() is not None:
            set_committed_value(message, "sent_at", now)
            return True
        if session.get_bind().dialect.name == "postgresql":
            session.execute(_DISK_WAIT)  # what a hold sets off (an offer ended) is kept like any change
        self.hold(session, clock, message)
        return False

    def hold(self, session: Session, clock: Clock, message: SmsMessage) -> None:
        """Hold the message until its number's hour has room (if it has room now, only others were held
        before it: the next sweep, after them); the number's other held messages wait as long, so the sweep
        tries none of them sooner."""
        sent, frees_at = window(session, clock, message.phone_e164)
        until = frees_at if sent >= self.per_hour and frees_at is not None else clock.now()
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
    sent, oldest = session.execute(_WINDOW, {"phone": phone, "since": clock.now() - WINDOW}).one()
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
