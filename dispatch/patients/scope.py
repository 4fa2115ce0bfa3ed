"""Which patients an area coordinator may see: the one rule for opening a patient (`dispatch.area_paths`)
and for naming one in a request's body (linking a call to its patient)."""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from dispatch.areas.scope import area_towns
from dispatch.auth.models import User
from dispatch.auth.scope import area_scope
from dispatch.clinics.scope import clinics_in_area
from dispatch.patients.models import Enrolment, Patient


def patients_in_area(area_id: int) -> Select[int]:
    """Patients of an area: living in one of its towns, or enrolled with a clinic of its programme."""
    enrolled = exists(
        select(Enrolment.id).where(
            Enrolment.patient_id == Patient.id, Enrolment.clinic_id.in_(clinics_in_area(area_id))
        )
    )
    return select(Patient.id).where(or_(Patient.municipality_id.in_(area_towns(area_id)), enrolled))


def patient_visible(session: Session, user: User, patient_id: int) -> bool:
    """Whether the patient exists and the user may see them (an area coordinator: one of their area's)."""
    area_id = area_scope(user)
    query = select(Patient.id) if area_id is None else patients_in_area(area_id)
    return session.scalar(query.where(Patient.id == patient_id).limit(1)) is not None
