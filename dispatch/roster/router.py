"""The roster: who is on call, shifts, and covers (overrides)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.roster import physicians, service
from dispatch.roster.models import Shift
from dispatch.roster.physicians import PhysicianCreated, PhysicianIn
from dispatch.roster.schemas import CoverIn, CoverOut, OnCallOut, PhysicianOut, ShiftIn, ShiftOut
from dispatch.times import time_problem

router = APIRouter(prefix="/api/v1", tags=["roster"])
READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)
EDITORS = (Role.coordinator, Role.admin)


def _aware(name: str, value: datetime | None) -> None:
    problem = time_problem(value)
    if problem:
        raise HTTPException(422, detail=f"{name}: {problem}")


def _out(shift: Shift) -> ShiftOut:
    return ShiftOut(
        id=shift.id,
        physician_id=shift.physician_id,
        physician_name=shift.physician.name,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        coverage=[m.name for m in shift.coverage],
    )


@router.get("/roster/shifts", response_model=list[ShiftOut], dependencies=[allow(*READERS)])
def list_shifts(
    request: Request,
    at: datetime | None = Query(None, description="shifts running at this time (default: now)"),
    until: datetime | None = Query(None, description="with `at`: shifts overlapping [at, until)"),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[ShiftOut]:
    """Shifts running at a time, or overlapping a window (an area coordinator: their area's)."""
    _aware("at", at)
    _aware("until", until)
    when = at or get_services(request).clock.now()
    area_id = area_scope(user)
    if until:
        shifts = service.shifts_between(session, when, until, area_id)
    else:
        shifts = service.shifts_at(session, when, area_id)
    return [_out(s) for s in shifts]


@router.get("/roster/on-call", response_model=list[OnCallOut], dependencies=[allow(*READERS)])
def who_is_on_call(
    request: Request,
    at: datetime | None = Query(None),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[OnCallOut]:
    """Who is on call, covers applied (an area coordinator: for their area's towns)."""
    _aware("at", at)
    slots = service.on_call(session, at or get_services(request).clock.now(), area_scope(user))
    return [OnCallOut(**{**s.__dict__, "municipality_ids": sorted(s.municipality_ids)}) for s in slots]


@router.post("/roster/shifts", response_model=ShiftOut, status_code=201, dependencies=[allow(*EDITORS)])
def add_shift(
    body: ShiftIn, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> ShiftOut:
    """Put a substitute physician on call (shifts may cross midnight, holidays and month ends; an area
    coordinator for their area's towns)."""
    try:
        service.towns_inside(session, area_scope(user), "coverage", body.coverage)
        shift = service.add_shift(session, body.physician_id, body.starts_at, body.ends_at, body.coverage)
    except service.RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return _out(shift)


@router.post(
    "/roster/shifts/{shift_id}/covers", response_model=CoverOut, status_code=201, dependencies=[allow(*EDITORS)]
)
def add_cover(body: CoverIn, shift_id: PathId, session: Session = Depends(db_session)) -> CoverOut:
    """Another physician takes this shift, or part of it."""
    try:
        cover = service.add_cover(
            session, shift_id, body.covering_physician_id, body.starts_at, body.ends_at, body.note
        )
    except LookupError:
        raise HTTPException(404, detail=f"shift_id: no shift {shift_id}") from None
    except service.RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return CoverOut.model_validate(cover)


@router.get("/roster/physicians", response_model=list[PhysicianOut], dependencies=[allow(*READERS)])
def list_substitutes(session: Session = Depends(db_session)) -> list[PhysicianOut]:
    """The substitute physicians (for shifts and the coordinator's hand moves); no phone numbers. Every
    area's, for every reader: a neighbouring area's physician may back up a case (広域連携) and is named."""
    return [PhysicianOut.model_validate(p) for p in service.substitutes(session)]


@router.post(
    "/roster/physicians", response_model=PhysicianCreated, status_code=201, dependencies=[allow(*EDITORS)]
)
def register_physician(
    body: PhysicianIn, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> PhysicianCreated:
    """Register a physician: a substitute (with the mobile offers go to), a consulting or an attending one;
    an area coordinator registers physicians based in their area, of their area's clinics."""
    try:
        service.based_inside(session, area_scope(user), body.base_municipality_id)
        physician = physicians.register(session, body, area_scope(user))
        session.commit()
    except service.RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except IntegrityError:  # the same number registered at the same instant by another coordinator
        session.rollback()
        raise HTTPException(409, detail="phone: another physician already has this number") from None
    return PhysicianCreated.model_validate(physician)
