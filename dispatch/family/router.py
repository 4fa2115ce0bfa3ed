"""The board's family call-back tasks: list them, and record one done (「連絡済み」)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.cases.lifecycle import Actor
from dispatch.cases.schemas import CaseOut
from dispatch.deps import db_session, get_services
from dispatch.family import service
from dispatch.family.schemas import CallbackTaskOut, CalledBackIn
from dispatch.ids import PathId

router = APIRouter(prefix="/api/v1", tags=["family"])

CALLERS = (Role.operator, Role.coordinator, Role.admin)


@router.get("/family/callbacks", response_model=list[CallbackTaskOut], dependencies=[allow(*CALLERS)])
def callbacks(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[CallbackTaskOut]:
    """Cases waiting for a physician past the threshold whose family is to be called back, longest first."""
    services = get_services(request)
    after = timedelta(minutes=services.settings.family_callback_after_min)
    tasks = service.callback_tasks(session, services.clock.now(), after, user)
    return [CallbackTaskOut.model_validate(task) for task in tasks]


@router.post("/cases/{case_id}/family-callback", response_model=CaseOut, dependencies=[allow(*CALLERS)])
def called_back(
    body: CalledBackIn,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Record that the family was called back (on the timeline); the board's task goes."""
    actor = Actor(label=f"user:{user.username}", user_id=user.id)
    try:
        case = service.record_called_back(session, get_services(request).clock, case_id, actor, body.note)
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.NoCallbackDue as exc:
        raise HTTPException(409, detail=f"case_id: {exc}") from None
    session.commit()
    return CaseOut.model_validate(case)
