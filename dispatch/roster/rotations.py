"""Rotations: recurring on-call patterns over the programme's service hours, a month's draft shifts made from
them in one step, published to go live, and overridden one by one (an override survives a re-generate)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.programme.models import Municipality
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.programme.service_hours import SATURDAY, is_day_off
from dispatch.roster.models import Physician, PhysicianRole, Rotation, RotationKind, Shift, ShiftCover
from dispatch.roster.scope import rotation_in_area, shift_in_area
from dispatch.roster.service import RosterRejected

ONE_PHYSICIAN = (RotationKind.weekly, RotationKind.alternate_weeks)


class Conflict(ValueError):
    """A change the shift's state does not allow (409); the message names the field."""


@dataclass(frozen=True)
class MonthGenerated:
    created: int  # new draft shifts
    replaced: int  # untouched drafts of an earlier run, deleted (and made again where still due)
    kept: int  # published, overridden, removed or covered shifts left as they were
    skipped: int  # nights of a physician no longer an active substitute


def service_window(day: date, rule: dict[str, Any], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The service-hours window that belongs to `day`: from the evening (Saturday: noon; a Sunday, holiday
    or 年末年始 day: the morning hand-back) to the next morning's hand-back, in UTC."""
    until = time.fromisoformat(rule["weekday_until"])
    if is_day_off(day, rule):
        start = until
    elif day.weekday() == SATURDAY and rule.get("saturday_from"):
        start = time.fromisoformat(rule["saturday_from"])
    else:
        start = time.fromisoformat(rule["weekday_from"])
    return (
        datetime.combine(day, start, tz).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), until, tz).astimezone(UTC),
    )


def week_number(day: date, anchor: date) -> int:
    """Weeks (Monday to Sunday) from `anchor`'s week to `day`'s: 0 in the anchor's own week."""
    return ((day - timedelta(days=day.weekday())) - (anchor - timedelta(days=anchor.weekday()))).days // 7


def on_duty(rotation: Rotation, day: date) -> int | None:
    """The physician the rotation puts on call for `day`'s window, or None."""
    if day < rotation.starts_on or (rotation.ends_on is not None and day > rotation.ends_on):
        return None
    if day.weekday() not in rotation.weekdays:
        return None
    week = week_number(day, rotation.starts_on)
    if rotation.kind is RotationKind.alternate_weeks and week % 2:
        return None
    if rotation.kind is RotationKind.weekly_turn:
        return int(rotation.physician_ids[week % len(rotation.physician_ids)])
    return int(rotation.physician_ids[0])


def month_days(month: date) -> list[date]:
    """Every day of `month` (its first day given)."""
    return [month.replace(day=d) for d in range(1, calendar.monthrange(month.year, month.month)[1] + 1)]


def _rule_on(programme: ProgrammeSnapshot, day: date) -> dict[str, Any]:
    start = datetime.combine(day, time(0), ZoneInfo(programme.timezone))
    in_force = [r for r in programme.rules if r.effective_from <= start] or list(programme.rules[:1])
    if not in_force:
        raise RosterRejected("month", "the programme has no service-hours rule")
    return in_force[-1].definition


def add_rotation(
    session: Session,
    clock: Clock,
    user: User,
    *,
    name: str,
    kind: RotationKind,
    weekdays: list[int],
    physician_ids: list[int],
    coverage: list[int],
    starts_on: date,
    ends_on: date | None,
) -> Rotation:
    """A new rotation; its physicians must be active substitutes and its towns known."""
    if kind in ONE_PHYSICIAN and len(physician_ids) != 1:
        raise RosterRejected(
            "physician_ids", f"a {kind.value} rotation has one physician (a turn: weekly_turn)"
        )
    if ends_on is not None and ends_on < starts_on:
        raise RosterRejected("ends_on", "must not be before starts_on")
    found = set(
        session.scalars(
            select(Physician.id).where(
                Physician.id.in_(physician_ids),
                Physician.role == PhysicianRole.substitute,
                Physician.active.is_(True),
            )
        )
    )
    missing = [pid for pid in physician_ids if pid not in found]
    if missing:
        raise RosterRejected("physician_ids", f"no active substitute physician {missing[0]}")
    towns = list(session.scalars(select(Municipality).where(Municipality.id.in_(coverage))))
    if len(towns) != len(set(coverage)):
        raise RosterRejected("coverage", "list one or more known municipality ids")
    rotation = Rotation(
        name=name,
        kind=kind,
        weekdays=sorted(set(weekdays)),
        physician_ids=list(physician_ids),
        starts_on=starts_on,
        ends_on=ends_on,
        active=True,
    )
    rotation.coverage = towns
    session.add(rotation)
    session.flush()
    audit.record(session, clock, user, "roster.rotation.add", detail={"rotation_id": rotation.id})
    return rotation


def rotations(session: Session, area_id: int | None = None) -> list[Rotation]:
    """Every rotation (of an area's towns, if given), active first, by name."""
    query = (
        select(Rotation)
        .where(*rotation_in_area(area_id))
        .options(selectinload(Rotation.coverage))
        .order_by(Rotation.active.desc(), Rotation.name)
    )
    return list(session.scalars(query))


def end_rotation(session: Session, clock: Clock, user: User, rotation: Rotation) -> None:
    """Stop a rotation: the next generate makes no more of its nights (shifts already made stay)."""
    rotation.active = False
    audit.record(session, clock, user, "roster.rotation.end", detail={"rotation_id": rotation.id})


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
) -> MonthGenerated:
    """Make the month's draft shifts from the active rotations (an area's, if given). Drafts of an earlier
    run that nobody touched are made again; published, overridden, removed or covered ones stay; hand-made
    shifts are never read."""
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
    tz = ZoneInfo(programme.timezone)
    created = skipped = 0
    for rotation in session.scalars(
        select(Rotation)
        .where(Rotation.active.is_(True), *rotation_in_area(area_id))
        .options(selectinload(Rotation.coverage))
    ):
        for day in days:
            physician_id = on_duty(rotation, day)
            if physician_id is None or (rotation.id, day) in taken:
                continue
            if physician_id not in active:
                skipped += 1
                continue
            starts_at, ends_at = service_window(day, _rule_on(programme, day), tz)
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
