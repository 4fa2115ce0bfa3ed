"""The dispatch view's routes: a case's offers, the coordinator's hand moves, progress phoned in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.cases.schemas import CaseOut
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.offers import manual, progress, runner
from dispatch.offers.models import Offer
from dispatch.offers.schemas import Assignment, ManualOffer, OfferOut, Progress
from dispatch.sms.protocol import Intent

router = APIRouter(prefix="/api/v1", tags=["dispatch"])
COORDINATION = (Role.coordinator, Role.admin)


@contextmanager
def _hand_move_errors(case_id: int) -> Iterator[None]:
    """The coordinator's hand moves fail the same ways: no case, not a substitute, physician not free."""
    try:
        yield
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except manual.NotASubstitute as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except manual.PhysicianHasOffer as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except manual.service.PhysicianBusy:
        raise HTTPException(409, detail="physician_id: this physician is on another case") from None


def _actor(user: User) -> Actor:
    return Actor(label=f"user:{user.username}", user_id=user.id)


@router.get(
    "/cases/{case_id}/offers",
    response_model=list[OfferOut],
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
def list_offers(case_id: PathId, session: Session = Depends(db_session)) -> list[Offer]:
    """Every offer made on the case, with its deadline and how it ended."""
    return list(session.scalars(select(Offer).where(Offer.case_id == case_id).order_by(Offer.id)))


@router.post("/cases/{case_id}/offers", response_model=CaseOut, dependencies=[allow(*COORDINATION)])
def offer_by_hand(
    body: ManualOffer,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Offer the case to a physician of your choosing now (a pending offer to someone else is withdrawn)."""
    services = get_services(request)
    with _hand_move_errors(case_id):
        message = manual.offer_to(session, services.clock, case_id, body.physician_id, _actor(user))
    session.commit()
    runner.send(services, message)
    return CaseOut.model_validate(session.get(Case, case_id))


@router.post("/cases/{case_id}/assign", response_model=CaseOut, dependencies=[allow(*COORDINATION)])
def assign_by_hand(
    body: Assignment,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Record that a physician agreed by phone: the case is theirs, and they get the details link."""
    services = get_services(request)
    settings = services.settings
    with _hand_move_errors(case_id):
        case = manual.assign(
            session,
            services.clock,
            case_id,
            body.physician_id,
            _actor(user),
            body.reason,
            settings.secret_key.get_secret_value(),
            settings.public_base_url,
        )
    session.commit()
    return CaseOut.model_validate(case)


@router.post(
    "/cases/{case_id}/progress",
    response_model=CaseOut,
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def progress_by_phone(
    body: Progress,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Record the physician's progress when they phone it in (on the way, arrived, done)."""
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise HTTPException(404, detail=f"case_id: no case {case_id}")
    try:
        progress.report(session, get_services(request).clock, case, Intent(body.step), _actor(user))
    except progress.ProgressRefused as exc:
        raise HTTPException(409, detail={"message": str(exc), "current_state": case.state.value}) from None
    session.commit()
    return CaseOut.model_validate(case)
