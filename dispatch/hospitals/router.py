"""Hospitals and tonight's backup beds: the admin keeps the list, the coordinator marks the beds, the
consulting physician reads them when deciding."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.hospitals import service
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.schemas import BedReportOut, BedsIn, HospitalChange, HospitalIn, HospitalOut, TonightOut
from dispatch.ids import PathId
from dispatch.programme.choice import AREA_HELP, asked_programme

# `?area=`: the centre's users name any area's list; an area coordinator only their own (another's: 404).
AREA = Query(None, max_length=32, description=AREA_HELP)
router = APIRouter(prefix="/api/v1", tags=["hospitals"])

READERS = (Role.consulting_physician, Role.operator, Role.coordinator, Role.admin)
MARKERS = (Role.coordinator, Role.admin)


def _hospital(session: Session, hospital_id: int) -> Hospital:
    hospital = session.get(Hospital, hospital_id)
    if hospital is None:
        raise HTTPException(404, detail=f"hospital_id: no hospital {hospital_id}")
    return hospital


@router.get("/hospitals", response_model=list[HospitalOut], dependencies=[allow(*READERS)])
def list_hospitals(
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[HospitalOut]:
    """Every hospital on the programme's list (`area`'s; an area coordinator's area's), 後方支援病院 first
    (inactive ones too)."""
    programme = asked_programme(request, session, user, area)
    return [HospitalOut.model_validate(h) for h in service.hospitals(session, programme.id)]


@router.get("/hospitals/tonight", response_model=list[TonightOut], dependencies=[allow(*READERS)])
def tonight(
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[TonightOut]:
    """Active hospitals holding backup beds: tonight's free ones and when marked (null: not marked tonight);
    `area`'s (an area coordinator's area's)."""
    services = get_services(request)
    programme = asked_programme(request, session, user, area)
    return service.tonight(session, services.clock, programme)


@router.post("/hospitals", response_model=HospitalOut, status_code=201, dependencies=[allow(Role.admin)])
def add_hospital(
    body: HospitalIn,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> HospitalOut:
    """Add a hospital to the list (of `area`'s programme; else the centre's)."""
    services = get_services(request)
    programme = asked_programme(request, session, user, area)
    try:
        hospital = service.add_hospital(session, services.clock, user, programme.id, body)
    except service.HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return HospitalOut.model_validate(hospital)


@router.patch("/hospitals/{hospital_id}", response_model=HospitalOut, dependencies=[allow(Role.admin)])
def change_hospital(
    body: HospitalChange,
    request: Request,
    hospital_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> HospitalOut:
    """Change a hospital: only the fields sent change (active=false takes it off tonight's list)."""
    hospital = _hospital(session, hospital_id)
    try:
        service.change_hospital(session, get_services(request).clock, user, hospital, body)
    except service.HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return HospitalOut.model_validate(hospital)


@router.put(
    "/hospitals/{hospital_id}/beds/tonight", response_model=BedReportOut, dependencies=[allow(*MARKERS)]
)
def mark_beds(
    body: BedsIn,
    request: Request,
    hospital_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> BedReportOut:
    """Mark how many of the hospital's backup beds are free tonight; earlier marks are kept, the latest wins."""
    hospital = _hospital(session, hospital_id)
    if not hospital.active:
        raise HTTPException(409, detail=f"hospital_id: {hospital.name} is no longer on the list")
    try:
        report = service.mark_beds(
            session, get_services(request).clock, user, hospital, free=body.free, note=body.note
        )
    except service.HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return BedReportOut.model_validate(report)


@router.get("/hospitals/{hospital_id}/beds", response_model=list[BedReportOut], dependencies=[allow(*READERS)])
def bed_history(hospital_id: PathId, session: Session = Depends(db_session)) -> list[BedReportOut]:
    """The hospital's marks of free backup beds, newest first, night by night."""
    hospital = _hospital(session, hospital_id)
    return [BedReportOut.model_validate(r) for r in service.history(session, hospital.id)]
