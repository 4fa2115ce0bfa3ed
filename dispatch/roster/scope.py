"""The roster of one medical area, for an area coordinator: the shifts and rotations covering its towns, and
its physicians."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, or_, select

from dispatch.areas.scope import area_towns
from dispatch.clinics.scope import clinics_in_area
from dispatch.roster.models import Physician, Rotation, Shift, rotation_coverage, shift_coverage


def shifts_in_area(area_id: int) -> Select[int]:
    """Shifts covering at least one town of the area."""
    return select(shift_coverage.c.shift_id).where(shift_coverage.c.municipality_id.in_(area_towns(area_id)))


def shift_in_area(area_id: int | None) -> tuple[ColumnElement[bool], ...]:
    """`.where(*shift_in_area(a))`: shifts covering a town of area `a`; nothing to add for None."""
    return () if area_id is None else (Shift.id.in_(shifts_in_area(area_id)),)


def rotation_in_area(area_id: int | None) -> tuple[ColumnElement[bool], ...]:
    """`.where(*rotation_in_area(a))`: rotations covering a town of area `a`; nothing to add for None."""
    return () if area_id is None else (Rotation.id.in_(rotations_in_area(area_id)),)


def rotations_in_area(area_id: int) -> Select[int]:
    """Rotations covering at least one town of the area."""
    covering = rotation_coverage.c.municipality_id.in_(area_towns(area_id))
    return select(rotation_coverage.c.rotation_id).where(covering)


def physicians_in_area(area_id: int) -> Select[int]:
    """Physicians of the area: based in one of its towns, of one of its clinics, or rostered for its towns."""
    rostered = exists(
        select(Shift.id).where(Shift.physician_id == Physician.id, Shift.id.in_(shifts_in_area(area_id)))
    )
    return select(Physician.id).where(
        or_(
            Physician.base_municipality_id.in_(area_towns(area_id)),
            Physician.clinic_id.in_(clinics_in_area(area_id)),
            rostered,
        )
    )
