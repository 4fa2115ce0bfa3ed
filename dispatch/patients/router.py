"""Patients' care profiles (audited reads)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.patients import service
from dispatch.patients.schemas import CareProfileOut

router = APIRouter(prefix="/api/v1", tags=["patients"])

PROFILE_READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.clinic_admin)


@router.get("/patients/{patient_id}", response_model=CareProfileOut, dependencies=[allow(*PROFILE_READERS)])
def read_care_profile(
    request: Request,
    patient_id: int = Path(ge=1),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CareProfileOut:
    """A patient's care profile: diagnoses, ACP/DNAR wishes, devices, key person, attending physician."""
    try:
        profile = service.care_profile(session, get_services(request).clock, user, patient_id)
    except service.PatientNotFound:
        raise HTTPException(404, detail=f"patient_id: no patient {patient_id} that you may see") from None
    session.commit()  # the audit entry is part of the read
    return profile
