"""Clinics under contract."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.clinics import service
from dispatch.clinics.schemas import ClinicOut
from dispatch.deps import db_session

router = APIRouter(prefix="/api/v1", tags=["clinics"])

CLINIC_READERS = (
    Role.operator,
    Role.consulting_physician,
    Role.coordinator,
    Role.clinic_admin,
    Role.prefecture_analyst,
    Role.admin,
)


@router.get("/clinics", response_model=list[ClinicOut], dependencies=[allow(*CLINIC_READERS)])
def list_clinics(user: User = Depends(current_user), session: Session = Depends(db_session)):
    """Clinics and their contract periods (a clinic admin sees only their own)."""
    return service.visible_clinics(session, user)
