"""The consulting physician's queue, claims and decisions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.cases.schemas import CaseOut
from dispatch.deps import db_session, get_services, model_response
from dispatch.ids import PathId
from dispatch.triage import service
from dispatch.triage.schemas import Decision, QueueItem, ReleaseRequest

router = APIRouter(prefix="/api/v1", tags=["triage"])

PHYSICIAN = allow(Role.consulting_physician)


def _conflict(exc: service.ClaimConflict) -> HTTPException:
    return HTTPException(
        409,
        detail={
            "message": str(exc),
            "case_id": exc.case.id,
            "current_state": exc.case.state.value,
            "claimed_by_physician_id": exc.case.triage_physician_id,
        },
    )


@router.get(
    "/triage/queue",
    response_model=list[QueueItem],
    dependencies=[allow(Role.consulting_physician, Role.operator, Role.coordinator, Role.admin)],
)
def triage_queue(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[QueueItem]:
    """Cases waiting for a decision: most urgent first, then longest waiting."""
    services = get_services(request)
    return service.queue(session, services.clock, services.settings.triage_claim_idle_s, user)


@router.post("/cases/{case_id}/claim", response_model=CaseOut, dependencies=[PHYSICIAN])
def claim_case(
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Take a case for triage. If another physician got it first, 409 says who."""
    services = get_services(request)
    try:
        case = service.claim(session, services.clock, case_id, user, services.settings.triage_claim_idle_s)
    except service.CaseNotFound:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.ClaimConflict as exc:
        raise _conflict(exc) from None
    except service.NotAPhysician as exc:
        raise HTTPException(403, detail=str(exc)) from None
    session.commit()
    return CaseOut.model_validate(case)


@router.post("/cases/{case_id}/release", response_model=CaseOut, dependencies=[PHYSICIAN])
def release_case(
    request: Request,
    case_id: PathId,
    body: ReleaseRequest | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """Give your claim back to the queue."""
    try:
        case = service.release(
            session, get_services(request).clock, case_id, user, body.reason if body else None
        )
    except service.CaseNotFound:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.ClaimConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    return model_response(CaseOut.model_validate(case))


@router.post("/cases/{case_id}/decision", response_model=CaseOut, dependencies=[PHYSICIAN])
def decide_case(
    body: Decision,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """Decide on a case you claimed. A visit goes to dispatching; anything else closes the case."""
    try:
        case = service.decide(session, get_services(request).clock, case_id, user, body)
    except service.CaseNotFound:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.ClaimConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    return model_response(CaseOut.model_validate(case))
