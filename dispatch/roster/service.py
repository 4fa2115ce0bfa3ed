"""The roster: shifts, covers (one physician taking another's shift or part of it), and who is on call."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, Select, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from dispatch.programme.models import Municipality
from dispatch.roster.models import Physician, PhysicianRole, Shift, ShiftCover, shift_coverage
from dispatch.roster.scope import shift_in_area
from dispatch.times import time_problem

MAX_SHIFT = timedelta(hours=48)


class RosterRejected(ValueError):
    """A shift or cover that cannot be; `field` names the part that is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class OnCall:
    """A physician on call at an instant, with the municipalities they cover then."""

    physician_id: int
    physician_name: str
    shift_id: int
    municipality_ids: frozenset[int]
    until: datetime
    covering_for: int | None  # the rostered physician whose shift this is, when covered


def shifts_at(session: Session, at: datetime, area_id: int | None = None) -> list[Shift]:
    """Live shifts running at `at` (start inclusive, end exclusive); drafts of a month are not live. With
    `area_id`, those covering a town of that area."""
    query = (
        select(Shift)
        .where(Shift.starts_at <= at, Shift.ends_at > at, Shift.published.is_(True), *shift_in_area(area_id))
        .options(selectinload(Shift.coverage), selectinload(Shift.physician))
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(session.scalars(query))


def shifts_between(session: Session, start: datetime, end: datetime, area_id: int | None = None) -> list[Shift]:
    """Live shifts overlapping [start, end) (covering a town of `area_id`, if given)."""
    query = (
        select(Shift)
        .where(Shift.starts_at < end, Shift.ends_at > start, Shift.published.is_(True), *shift_in_area(area_id))
        .options(selectinload(Shift.coverage), selectinload(Shift.physician))
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(session.scalars(query))


def on_call_select(
    at: datetime | BindParameter, municipality_ids: set[int] | BindParameter | None = None
) -> Select:
    """One row per shift running at `at` and town it covers: the shift's id, rostered physician and end,
    the cover's physician and end (when covered), the town; `Physician` is joined as whoever holds the
    shift then (covers applied), active ones only. With `municipality_ids`, only rows for those towns.
    Callers add the columns they need; plain rows, no ORM objects (a matching round reads every
    physician on call)."""
    cover = aliased(ShiftCover)
    holder = func.coalesce(cover.covering_physician_id, Shift.physician_id)
    query = (
        select(
            Shift.id,
            Shift.physician_id,
            Shift.ends_at,
            cover.covering_physician_id,
            cover.ends_at,
            shift_coverage.c.municipality_id,
        )
        .outerjoin(cover, (cover.shift_id == Shift.id) & (cover.starts_at <= at) & (cover.ends_at > at))
        .join(Physician, (Physician.id == holder) & Physician.active.is_(True))
        .outerjoin(shift_coverage, shift_coverage.c.shift_id == Shift.id)
        .where(Shift.starts_at <= at, Shift.ends_at > at, Shift.published.is_(True))
        .order_by(Shift.starts_at, Shift.id)
    )
    if municipality_ids is not None:
        query = query.where(shift_coverage.c.municipality_id.in_(municipality_ids))
    return query


def on_call(session: Session, at: datetime, area_id: int | None = None) -> list[OnCall]:
    """Who is on call at `at`, covers applied; only active physicians (on shifts covering `area_id`'s towns)."""
    slots: dict[int, tuple[OnCall, set[int]]] = {}
    rows = session.execute(on_call_select(at).add_columns(Physician.name).where(*shift_in_area(area_id)))
    for shift_id, rostered, ends_at, covering, cover_ends_at, town, name in rows:
        if shift_id not in slots:
            slot = OnCall(
                physician_id=covering or rostered,
                physician_name=name,
                shift_id=shift_id,
                municipality_ids=frozenset(),
                until=min(ends_at, cover_ends_at) if covering else ends_at,
                covering_for=rostered if covering else None,
            )
            slots[shift_id] = (slot, set())
        if town is not None:
            slots[shift_id][1].add(town)
    return [replace(slot, municipality_ids=frozenset(towns)) for slot, towns in slots.values()]


def _substitute(session: Session, physician_id: int, field: str) -> Physician:
    physician = session.get(Physician, physician_id)
    if physician is None or physician.role is not PhysicianRole.substitute or not physician.active:
        raise RosterRejected(field, f"no active substitute physician {physician_id}")
    return physician


def _window(starts_at: datetime, ends_at: datetime) -> None:
    problem = time_problem(starts_at) or time_problem(ends_at)
    if problem:
        raise RosterRejected("starts_at", problem)
    if ends_at <= starts_at:
        raise RosterRejected("ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise RosterRejected("ends_at", "a shift lasts at most 48 hours")


def add_shift(
    session: Session, physician_id: int, starts_at: datetime, ends_at: datetime, municipality_ids: list[int]
) -> Shift:
    """Put a substitute physician on the roster for a window, covering some municipalities."""
    _window(starts_at, ends_at)
    _substitute(session, physician_id, "physician_id")
    towns = list(session.scalars(select(Municipality).where(Municipality.id.in_(municipality_ids))))
    if not municipality_ids or len(towns) != len(set(municipality_ids)):
        raise RosterRejected("coverage", "list one or more known municipality ids")
    shift = Shift(physician_id=physician_id, starts_at=starts_at, ends_at=ends_at)
    shift.coverage = towns
    session.add(shift)
    session.flush()
    return shift


def add_cover(
    session: Session,
    shift_id: int,
    physician_id: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
    note: str | None,
) -> ShiftCover:
    """Have another physician take a shift, or the part of it from `starts_at` to `ends_at`."""
    shift = session.get(Shift, shift_id)
    if shift is None or shift.removed:
        raise LookupError(shift_id)
    _substitute(session, physician_id, "covering_physician_id")
    if physician_id == shift.physician_id:
        raise RosterRejected("covering_physician_id", "is the physician already on this shift")
    start, end = starts_at or shift.starts_at, ends_at or shift.ends_at
    _window(start, end)
    if start < shift.starts_at or end > shift.ends_at:
        raise RosterRejected("starts_at", "a cover must lie inside its shift")
    overlapping = session.scalar(
        select(ShiftCover.id).where(
            ShiftCover.shift_id == shift_id, ShiftCover.starts_at < end, ShiftCover.ends_at > start
        )
    )
    if overlapping:
        raise RosterRejected("starts_at", "this part of the shift is already covered")
    cover = ShiftCover(
        shift_id=shift_id, covering_physician_id=physician_id, starts_at=start, ends_at=end, note=note
    )
    session.add(cover)
    session.flush()
    return cover


def substitutes(session: Session) -> list[Physician]:
    """Active substitute physicians, by name."""
    return list(
        session.scalars(
            select(Physician)
            .where(Physician.role == PhysicianRole.substitute, Physician.active.is_(True))
            .order_by(Physician.name)
        )
    )


def upcoming_shifts(session: Session, physician_id: int, now: datetime, limit: int = 60) -> list[Shift]:
    """A physician's rostered shifts still to come."""
    query = (
        select(Shift)
        .where(Shift.physician_id == physician_id, Shift.starts_at > now, Shift.published.is_(True))
        .order_by(Shift.starts_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def towns_inside(session: Session, area_id: int | None, field: str, municipality_ids: list[int]) -> None:
    """RosterRejected naming `field` when an area coordinator names a town outside their area."""
    if area_id is None or not municipality_ids:
        return
    outside = session.scalar(
        select(Municipality.name)
        .where(Municipality.id.in_(municipality_ids), Municipality.area_id != area_id)
        .order_by(Municipality.code)
        .limit(1)
    )
    if outside is not None:
        raise RosterRejected(field, f"{outside} is outside your area")


def based_inside(session: Session, area_id: int | None, base_municipality_id: int | None) -> None:
    """RosterRejected unless an area coordinator registers a physician based in their area."""
    if area_id is None:
        return
    if base_municipality_id is None:
        raise RosterRejected("base_municipality_id", "give the town in your area the physician sets off from")
    towns_inside(session, area_id, "base_municipality_id", [base_municipality_id])
