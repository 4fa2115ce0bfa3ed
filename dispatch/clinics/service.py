"""Reading clinics, scoped to what the user may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role, User
from dispatch.clinics.models import Clinic


def visible_clinics(session: Session, user: User) -> list[Clinic]:
    """All clinics, or only their own for a clinic admin."""
    query = select(Clinic).options(selectinload(Clinic.contract_periods)).order_by(Clinic.label)
    if user.role is Role.clinic_admin:
        query = query.where(Clinic.id == user.clinic_id)
    return list(session.scalars(query))
