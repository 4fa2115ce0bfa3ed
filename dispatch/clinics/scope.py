"""Which clinics are an area's: those under a contract of one of its programmes."""

from __future__ import annotations

from sqlalchemy import Select, select

from dispatch.areas.scope import area_programmes
from dispatch.clinics.models import Clinic


def clinics_in_area(area_id: int) -> Select[int]:
    """The ids of the clinics of the programmes serving an area."""
    return select(Clinic.id).where(Clinic.programme_id.in_(area_programmes(area_id)))
