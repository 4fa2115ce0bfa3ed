"""Each physician's turns on call (covers applied), their private calendar feed, and their reminder choice.

A feed is reached by a random token of which only the SHA-256 is stored; a physician has at most one live
token, and revoking it (or issuing a new one) ends the old feed at once. Feeds hold shifts and towns only:
never a case, a patient or a phone number.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from dispatch.clock import Clock
from dispatch.roster.models import CalendarToken, Physician, PhysicianRole, Shift, ShiftCover

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=90)
TOKEN_BYTES = 32


@dataclass(frozen=True)
class Turn:
    """A physician on call for part or all of a shift: their own, or one they cover for a colleague."""

    shift_id: int
    physician_id: int
    starts_at: datetime
    ends_at: datetime
    towns: tuple[str, ...]
    covering: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def substitute(session: Session, physician_id: int) -> Physician | None:
    """The substitute physician with this id, if there is one."""
    physician = session.get(Physician, physician_id)
    return physician if physician is not None and physician.role is PhysicianRole.substitute else None


def issue_token(session: Session, clock: Clock, physician_id: int) -> str:
    """A new feed token for the physician (the old one, if any, stops working); returned this once only."""
    revoke_tokens(session, clock, physician_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(CalendarToken(physician_id=physician_id, token_sha256=_hash(token), created_at=clock.now()))
    session.flush()
    return token


def revoke_tokens(session: Session, clock: Clock, physician_id: int) -> int:
    """End the physician's feed; how many live tokens were revoked."""
    result = session.execute(
        update(CalendarToken)
        .where(CalendarToken.physician_id == physician_id, CalendarToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_token_since(session: Session, physician_id: int) -> datetime | None:
    """When the physician's live feed token was issued, if they have one."""
    return session.scalar(
        select(CalendarToken.created_at).where(
            CalendarToken.physician_id == physician_id, CalendarToken.revoked_at.is_(None)
        )
    )


def physician_for_token(session: Session, token: str) -> Physician | None:
    """The active physician whose live feed token this is, if any."""
    if not token or len(token) > 128:
        return None
    return session.scalar(
        select(Physician)
        .join(CalendarToken, CalendarToken.physician_id == Physician.id)
        .where(
            CalendarToken.token_sha256 == _hash(token),
            CalendarToken.revoked_at.is_(None),
            Physician.active.is_(True),
        )
    )


def _pieces(shift: Shift, covers: list[ShiftCover]) -> list[tuple[datetime, datetime, int, bool]]:
    """The shift cut by its covers: (start, end, holder, covering) in time order."""
    pieces: list[tuple[datetime, datetime, int, bool]] = []
    at = shift.starts_at
    for cover in sorted(covers, key=lambda c: c.starts_at):
        if cover.starts_at > at:
            pieces.append((at, cover.starts_at, shift.physician_id, False))
        pieces.append((cover.starts_at, cover.ends_at, cover.covering_physician_id, True))
        at = max(at, cover.ends_at)
    if at < shift.ends_at:
        pieces.append((at, shift.ends_at, shift.physician_id, False))
    return pieces


def turns(session: Session, start: datetime, end: datetime, physician_id: int | None = None) -> list[Turn]:
    """Every turn on call overlapping [start, end), covers applied; only one physician's with `physician_id`."""
    query = (
        select(Shift)
        .where(Shift.starts_at < end, Shift.ends_at > start)
        .options(selectinload(Shift.coverage))
        .order_by(Shift.starts_at, Shift.id)
    )
    if physician_id is not None:
        covered = select(ShiftCover.shift_id).where(ShiftCover.covering_physician_id == physician_id)
        query = query.where(or_(Shift.physician_id == physician_id, Shift.id.in_(covered)))
    shifts = list(session.scalars(query))
    covers: dict[int, list[ShiftCover]] = {}
    if shifts:
        rows = session.scalars(select(ShiftCover).where(ShiftCover.shift_id.in_([s.id for s in shifts])))
        for cover in rows:
            covers.setdefault(cover.shift_id, []).append(cover)
    found = []
    for shift in shifts:
        towns = tuple(m.name for m in sorted(shift.coverage, key=lambda m: m.id))
        for piece_start, piece_end, holder, covering in _pieces(shift, covers.get(shift.id, [])):
            if piece_end <= start or piece_start >= end:
                continue
            if physician_id is None or holder == physician_id:
                found.append(Turn(shift.id, holder, piece_start, piece_end, towns, covering))
    return found


def summary(towns: tuple[str, ...]) -> str:
    """The event's title: 「夜間往診 当番（印西市・佐倉市）」."""
    return f"夜間往診 当番（{'・'.join(towns)}）" if towns else "夜間往診 当番"


def feed(session: Session, clock: Clock, physician: Physician, zone: str, domain: str) -> bytes:
    """The physician's turns from 30 days ago to 90 days ahead as an iCalendar (RFC 5545), times in `zone`."""
    now = clock.now()
    tz = ZoneInfo(zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//house-call-dispatch//calendar feed//JA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "夜間往診 当番")
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for turn in turns(session, now - FEED_PAST, now + FEED_AHEAD, physician.id):
        event = icalendar.Event()
        start_key = turn.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        event.add("uid", f"shift-{turn.shift_id}-{turn.physician_id}-{start_key}@{domain}")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", turn.starts_at.astimezone(tz))
        event.add("dtend", turn.ends_at.astimezone(tz))
        title = summary(turn.towns)
        event.add("summary", f"{title}（交代）" if turn.covering else title)
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
