"""Clinics under contract."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.clinics import service
from dispatch.clinics.models import Clinic
from dispatch.clinics.schemas import ClinicIn, ClinicOut, ContractIn
from dispatch.deps import db_session
from dispatch.ids import PathId
from dispatch.programme.choice import AREA_HELP, asked_programme

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


@router.post("/clinics", response_model=ClinicOut, status_code=201, dependencies=[allow(Role.admin)])
def add_clinic(
    body: ClinicIn,
    request: Request,
    area: str | None = Query(None, max_length=32, description=AREA_HELP),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> ClinicOut:
    """A clinic joins the programme (`area`'s; else the centre's), with its contract periods (start month
    YYYY-MM, last month or open)."""
    programme = asked_programme(request, session, user, area)
    try:
        clinic = service.add_clinic(session, programme.id, body)
    except service.ClinicRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    session.refresh(clinic)
    return ClinicOut.model_validate(clinic)


@router.post(
    "/clinics/{clinic_id}/contracts",
    response_model=ClinicOut,
    status_code=201,
    dependencies=[allow(Role.admin)],
)
def add_contract(body: ContractIn, clinic_id: PathId, session: Session = Depends(db_session)) -> ClinicOut:
    """A new contract period for a clinic (e.g. renewed for the next fiscal year)."""
    clinic = session.get(Clinic, clinic_id)
    if clinic is None:
        raise HTTPException(404, detail=f"clinic_id: no clinic {clinic_id}")
    try:
        service.add_contract(session, clinic, body.start_month, body.end_month)
    except service.ClinicRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    session.refresh(clinic)
    return ClinicOut.model_validate(clinic)
