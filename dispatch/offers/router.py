"""The dispatch view's routes: a case's offers, progress phoned in, the details link revoked (the
coordinator's hand moves are `flow.router`'s)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.cases.schemas import CaseOut
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.offers import links, progress
from dispatch.offers.models import Offer
from dispatch.offers.schemas import OfferOut, Progress
from dispatch.sms.protocol import Intent

router = APIRouter(prefix="/api/v1", tags=["dispatch"])


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


@router.post(
    "/cases/{case_id}/visit-link/revoke",
    status_code=204,
    response_class=Response,
    dependencies=[allow(Role.coordinator, Role.admin)],
)
def revoke_visit_link(
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """End every details link of the case sent so far (forwarded, or on a lost phone); audited. The
    physician gets a fresh one by texting 「リンク」 from their registered phone."""
    try:
        links.revoke(session, get_services(request).clock, case_id, user)
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except links.NoLinkToRevoke as exc:
        raise HTTPException(409, detail={"message": str(exc), "current_state": exc.case.state.value}) from None
    session.commit()
    return Response(status_code=204)
