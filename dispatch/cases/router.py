"""Intake and cases: log a call, list, read with timeline (cancelling one is `flow.router`'s)."""

from __future__ import annotations

import functools
from datetime import datetime

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.areas.scope import UnknownArea, area_id_of
from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.cases import idempotency, intake, service
from dispatch.cases.schemas import CaseDetail, CaseOut, IntakeRequest
from dispatch.cases.states import CaseState
from dispatch.deps import db_session, get_services, model_response
from dispatch.ids import ID_MAX, PathId
from dispatch.programme.service import ProgrammeNotLoaded
from dispatch.times import time_problem

router = APIRouter(prefix="/api/v1", tags=["cases"])

REPLAYED = {"Idempotent-Replayed": "true"}
CASE_READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.clinic_admin, Role.admin)


@router.post("/cases", response_model=CaseOut, status_code=201, dependencies=[allow(Role.operator)])
def log_call(
    body: IntakeRequest,
    request: Request,
    idempotency_key: str | None = Header(
        None, min_length=8, max_length=100, description="repeat it on a retry to get the same case back"
    ),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """Log a call. The case and its first events are committed before this answers."""
    services = get_services(request)
    digest = idempotency.request_digest(body) if idempotency_key else ""
    try:
        if idempotency_key and (earlier := idempotency.replay(session, idempotency_key, user, digest)):
            return model_response(CaseOut.model_validate(earlier), 201, REPLAYED)
        programmes = functools.partial(services.reference.for_municipality, session)
        case = intake.log_call(session, services.clock, services.settings, programmes, user, body)
        if idempotency_key:
            idempotency.remember_key(session, services.clock, idempotency_key, user, digest, case)
        session.commit()
    except intake.IntakeRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except idempotency.IdempotencyKeyReused as exc:
        return _key_reused(exc)
    except ProgrammeNotLoaded as exc:
        raise HTTPException(503, detail=str(exc)) from None
    except IntegrityError:
        # The same key arrived twice at once and the other request made the case: this one is its retry if
        # the bodies match, else a different call under a used key.
        session.rollback()
        if not idempotency_key:
            raise
        try:
            earlier = idempotency.replay(session, idempotency_key, user, digest)
        except idempotency.IdempotencyKeyReused as exc:
            return _key_reused(exc)
        if earlier is None:
            raise
        return model_response(CaseOut.model_validate(earlier), 201, REPLAYED)
    return model_response(CaseOut.model_validate(case), 201)


def _key_reused(exc: idempotency.IdempotencyKeyReused) -> JSONResponse:
    """422: the key made another call's case (named when the same operator sent both)."""
    problem = {"field": "idempotency_key", "problem": str(exc)}
    content: dict[str, object] = {"detail": f"idempotency_key: {exc}", "errors": [problem]}
    if exc.case is not None:
        content["earlier_case"] = {"id": exc.case.id, "reference": exc.case.reference}
    return JSONResponse(status_code=422, content=content)


@router.get("/cases", response_model=list[CaseOut], dependencies=[allow(*CASE_READERS)])
def list_cases(
    state: list[CaseState] | None = Query(None, description="repeat for several states"),
    clinic_id: int | None = Query(None, ge=1, le=ID_MAX),
    area: str | None = Query(None, max_length=32, description="a medical area's code, e.g. katori-kaiso"),
    called_from: datetime | None = Query(None, description="ISO 8601 with offset, inclusive"),
    called_before: datetime | None = Query(None, description="ISO 8601 with offset, exclusive"),
    open_only: bool = False,
    alarm_only: bool = Query(False, description="only cases whose coordinator alarm is live"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[CaseOut]:
    """Cases, newest call first, filtered by state, clinic, area and call time (an area coordinator sees
    their area's only, whatever the filter)."""
    for name, value in (("called_from", called_from), ("called_before", called_before)):
        if problem := time_problem(value):
            raise HTTPException(422, detail=f"{name}: {problem}")
    try:
        area_id = area_id_of(session, area) if area else None
    except UnknownArea:
        raise HTTPException(422, detail=f"area: no medical area {area!r}") from None
    filters = service.CaseFilter(
        state, clinic_id, area_id, called_from, called_before, open_only, alarm_only, limit, offset
    )
    return [CaseOut.model_validate(c) for c in service.list_cases(session, user, filters)]


@router.get("/cases/{case_id}", response_model=CaseDetail, dependencies=[allow(*CASE_READERS)])
def read_case(
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseDetail:
    """A case with what the caller said and its whole timeline (the read is audited)."""
    try:
        detail = service.case_detail(session, get_services(request).clock, user, case_id)
    except service.CaseNotVisible:
        raise HTTPException(404, detail=f"case_id: no case {case_id} that you may see") from None
    session.commit()
    return detail
