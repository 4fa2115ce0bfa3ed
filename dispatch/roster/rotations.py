"""Rotations: recurring on-call patterns over the programme's service hours, and which night of which day
each puts whom on call (the month's shifts made from them: `roster.months`)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.programme.models import Municipality
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.programme.service_hours import SATURDAY, is_day_off
from dispatch.roster.models import Physician, PhysicianRole, Rotation, RotationKind
from dispatch.roster.scope import rotation_in_area
from dispatch.roster.service import RosterRejected

ONE_PHYSICIAN = (RotationKind.weekly, RotationKind.alternate_weeks)


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


def rule_on(programme: ProgrammeSnapshot, day: date) -> dict[str, Any]:
    """The service-hours rule in force on `day` (the first version before any took effect)."""
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
