"""A month's roster made from the rotations in one step: draft shifts, each night following the service hours
of its rotation's area, published to go live, and overridden one by one (an override survives a
re-generate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.roster.models import Physician, PhysicianRole, Rotation, Shift, ShiftCover
from dispatch.roster.rotations import month_days, on_duty, rule_on, service_window
from dispatch.roster.scope import rotation_in_area, shift_in_area
from dispatch.roster.service import RosterRejected


class Conflict(ValueError):
    """A change the shift's state does not allow (409); the message names the field."""


@dataclass(frozen=True)
class MonthGenerated:
    created: int  # new draft shifts
    replaced: int  # untouched drafts of an earlier run, deleted (and made again where still due)
    kept: int  # published, overridden, removed or covered shifts left as they were
    skipped: int  # nights of a physician no longer an active substitute


def programme_of(
    rotation: Rotation, programmes: list[ProgrammeSnapshot], default: ProgrammeSnapshot
) -> ProgrammeSnapshot:
    """The programme whose service hours a rotation's nights follow: that of the area of the first of its towns
    an area's programme serves; `default` for none."""
    by_area = {p.area_id: p for p in reversed(programmes)}
    return next((by_area[t.area_id] for t in rotation.coverage if t.area_id in by_area), default)


def month_shifts(
    session: Session, programme: ProgrammeSnapshot, month: date, area_id: int | None = None
) -> list[Shift]:
    """Every shift of the month (of an area's towns, if given): generated ones by their day (drafts and
    removed included), hand-made ones by their local start."""
    days = month_days(month)
    tz = ZoneInfo(programme.timezone)
    start = datetime.combine(days[0], time(0), tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
    query = (
        select(Shift)
        .where(
            (Shift.generated.is_(True) & Shift.rotation_day.between(days[0], days[-1]))
            | (Shift.generated.is_(False) & (Shift.starts_at >= start) & (Shift.starts_at < end)),
            *shift_in_area(area_id),
        )
        .options(selectinload(Shift.coverage), selectinload(Shift.physician))
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(session.scalars(query))


def generate_month(
    session: Session,
    clock: Clock,
    user: User,
    programme: ProgrammeSnapshot,
    month: date,
    area_id: int | None = None,
    programmes: list[ProgrammeSnapshot] | None = None,
) -> MonthGenerated:
    """Make the month's draft shifts from the active rotations (an area's, if given), each rotation's nights in
    the service hours of its area's programme among `programmes` (`programme` for a rotation of no area they
    serve). Drafts of an earlier run that nobody touched are made again; published, overridden, removed or
    covered ones stay; hand-made shifts are never read."""
    days = month_days(month)
    existing = list(
        session.scalars(
            select(Shift).where(
                Shift.generated.is_(True),
                Shift.rotation_day.between(days[0], days[-1]),
                *shift_in_area(area_id),
            )
        )
    )
    covered = set(
        session.scalars(select(ShiftCover.shift_id).where(ShiftCover.shift_id.in_([s.id for s in existing])))
    )
    taken: set[tuple[int | None, date | None]] = set()
    replaced = 0
    for shift in existing:
        if shift.published or shift.overridden or shift.removed or shift.id in covered:
            taken.add((shift.rotation_id, shift.rotation_day))
        else:
            session.delete(shift)
            replaced += 1
    session.flush()
    active = set(
        session.scalars(
            select(Physician.id).where(Physician.role == PhysicianRole.substitute, Physician.active.is_(True))
        )
    )
    created = skipped = 0
    for rotation in session.scalars(
        select(Rotation)
        .where(Rotation.active.is_(True), *rotation_in_area(area_id))
        .options(selectinload(Rotation.coverage))
    ):
        nights = programme_of(rotation, programmes or [], programme)
        tz = ZoneInfo(nights.timezone)
        for day in days:
            physician_id = on_duty(rotation, day)
            if physician_id is None or (rotation.id, day) in taken:
                continue
            if physician_id not in active:
                skipped += 1
                continue
            starts_at, ends_at = service_window(day, rule_on(nights, day), tz)
            shift = Shift(
                physician_id=physician_id,
                starts_at=starts_at,
                ends_at=ends_at,
                note=rotation.name,
                rotation_id=rotation.id,
                rotation_day=day,
                generated=True,
                published=False,
                overridden=False,
                removed=False,
            )
            shift.coverage = list(rotation.coverage)
            session.add(shift)
            created += 1
    session.flush()
    result = MonthGenerated(created=created, replaced=replaced, kept=len(taken), skipped=skipped)
    audit.record(
        session,
        clock,
        user,
        "roster.month.generate",
        detail={"month": month.isoformat()[:7], **result.__dict__},
    )
    return result


def publish_month(session: Session, clock: Clock, user: User, month: date, area_id: int | None = None) -> int:
    """Make the month's draft shifts (an area's, if given) live: matching sees them from now on; how many
    were published."""
    days = month_days(month)
    result = session.execute(
        update(Shift)
        .where(
            Shift.generated.is_(True),
            Shift.published.is_(False),
            Shift.removed.is_(False),
            Shift.rotation_day.between(days[0], days[-1]),
            *shift_in_area(area_id),
        )
        .values(published=True)
        .execution_options(synchronize_session=False)
    )
    published = int(result.rowcount)  # type: ignore[attr-defined]
    audit.record(
        session,
        clock,
        user,
        "roster.month.publish",
        detail={"month": month.isoformat()[:7], "published": published},
    )
    return published


def override_shift(
    session: Session, clock: Clock, user: User, shift_id: int, *, physician_id: int | None, remove: bool
) -> Shift:
    """Give a generated shift to another physician, or take it off the roster; a re-generate keeps either."""
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise LookupError(shift_id)
    if not shift.generated:
        raise Conflict("shift_id: this shift was entered by hand; add a cover to change who takes it")
    if shift.removed:
        raise Conflict("shift_id: this shift was removed from the roster")
    before = shift.physician_id
    if remove:
        if session.scalar(select(ShiftCover.id).where(ShiftCover.shift_id == shift.id).limit(1)) is not None:
            raise Conflict("removed: the shift has covers; a removed shift cannot keep them")
        shift.removed, shift.published = True, False
    else:
        assert physician_id is not None
        physician = session.get(Physician, physician_id)
        if physician is None or physician.role is not PhysicianRole.substitute or not physician.active:
            raise RosterRejected("physician_id", f"no active substitute physician {physician_id}")
        if physician_id == shift.physician_id:
            raise RosterRejected("physician_id", "is the physician already on this shift")
        shift.physician_id = physician_id
    shift.overridden = True
    session.flush()
    session.refresh(shift)
    detail = {
        "shift_id": shift.id,
        "from_physician_id": before,
        "physician_id": None if remove else physician_id,
    }
    audit.record(session, clock, user, "roster.shift.override", detail={**detail, "removed": remove})
    return shift
