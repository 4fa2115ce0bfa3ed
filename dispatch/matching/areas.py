"""What matching needs of the medical areas (広域連携): each one's travel estimate and cap, who neighbours
whom, and which area a physician offered a case by hand backs it up from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from dispatch.cases.models import Case
from dispatch.matching.travel import StraightLineEstimate
from dispatch.programme.models import MedicalArea, Municipality, Programme, area_neighbour
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.roster.models import Physician, shift_coverage
from dispatch.roster.service import on_call_select


def estimator_for(programme: ProgrammeSnapshot) -> StraightLineEstimate:
    """The programme area's travel-time estimate."""
    return StraightLineEstimate(road_factor=programme.road_factor, speed_kmh=programme.travel_speed_kmh)


@dataclass(frozen=True)
class AreaRules:
    """What matching needs of a medical area: its travel estimate, its cap and its neighbours."""

    area_id: int
    estimate: StraightLineEstimate
    cap_min: int
    neighbours: frozenset[int]


def area_rules(session: Session) -> dict[int, AreaRules]:
    """Every area's rules, by id (two small reads: the areas, and who neighbours whom)."""
    neighbours: dict[int, set[int]] = {}
    for area, neighbour in session.execute(select(area_neighbour.c.area_id, area_neighbour.c.neighbour_id)):
        neighbours.setdefault(area, set()).add(neighbour)
        neighbours.setdefault(neighbour, set()).add(area)  # both ways, even if a row was written one way
    rows = session.execute(
        select(
            MedicalArea.id, MedicalArea.road_factor, MedicalArea.travel_speed_kmh, MedicalArea.travel_cap_min
        )
    )
    return {
        area: AreaRules(
            area, StraightLineEstimate(road_factor, speed), cap, frozenset(neighbours.get(area, ()))
        )
        for area, road_factor, speed, cap in rows
    }


def case_estimate(session: Session, case_id: int) -> StraightLineEstimate | None:
    """The travel estimate of the case's area (None: no such case)."""
    row = session.execute(
        select(MedicalArea.road_factor, MedicalArea.travel_speed_kmh)
        .join(Programme, Programme.area_id == MedicalArea.id)
        .join(Case, Case.programme_id == Programme.id)
        .where(Case.id == case_id)
    ).one_or_none()
    return StraightLineEstimate(road_factor=row[0], speed_kmh=row[1]) if row else None


def backup_area(session: Session, case: Case, physician_id: int, at: datetime) -> int | None:
    """The area a physician offered this case by hand backs it up from (広域連携): None when they are on call
    for its town or only in its own area; else the area they are on call in (a neighbour first), or, off
    shift, the area of their base."""
    towns = session.execute(
        on_call_select(at)
        .add_columns(Municipality.area_id)
        .outerjoin(Municipality, Municipality.id == shift_coverage.c.municipality_id)
        .where(Physician.id == physician_id)
    ).all()
    if any(row[5] == case.municipality_id for row in towns):
        return None
    areas = {row[-1] for row in towns if row[-1] is not None}
    if not towns:
        base = session.scalar(
            select(Municipality.area_id)
            .join(Physician, Physician.base_municipality_id == Municipality.id)
            .where(Physician.id == physician_id)
        )
        areas = {base} if base is not None else set()
    own = session.scalar(select(Programme.area_id).where(Programme.id == case.programme_id))
    areas.discard(own)
    if not areas:
        return None
    rules = area_rules(session).get(own) if own is not None else None
    near = sorted(areas & rules.neighbours) if rules else []
    return near[0] if near else min(areas)


@dataclass(frozen=True)
class CaseArea:
    """The case's area: its travel cap and its neighbouring areas' names, by id."""

    area_id: int
    cap_min: int
    neighbours: dict[int, str]


def case_area(session: Session, case: Case) -> CaseArea:
    """The area of the case's programme, its cap and its neighbours."""
    area_id, cap = session.execute(
        select(MedicalArea.id, MedicalArea.travel_cap_min)
        .join(Programme, Programme.area_id == MedicalArea.id)
        .where(Programme.id == case.programme_id)
    ).one()
    other = aliased(MedicalArea)
    neighbours = session.execute(
        select(other.id, other.name)
        .join(area_neighbour, area_neighbour.c.neighbour_id == other.id)
        .where(area_neighbour.c.area_id == area_id)
        .union(
            select(other.id, other.name)
            .join(area_neighbour, area_neighbour.c.area_id == other.id)
            .where(area_neighbour.c.neighbour_id == area_id)
        )
    )
    return CaseArea(area_id, cap, {area: name for area, name in neighbours})
