"""The routes that move a case along its path: Twilio's webhooks (a physician's reply, a delivery status),
the coordinator's hand moves, and ending a case before its visit (cancelled, the family called 119, closed
unfilled).

Webhooks are public routes that prove themselves instead: `X-Twilio-Signature` must match the configured
public URL and the posted form, in every configuration. They answer quickly: one transaction, TwiML back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user, public
from dispatch.auth.models import Role, User
from dispatch.cases.intake import IntakeRejected
from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.cases.schemas import CancelRequest, CaseOut, EndingRequest, LinkPatientIn
from dispatch.cases.service import CaseNotVisible
from dispatch.clock import Clock
from dispatch.deps import db_session, get_services
from dispatch.flow import endings, linking, manual, replies, runner
from dispatch.ids import PathId
from dispatch.matching.areas import case_estimate
from dispatch.offers.schemas import Assignment, ManualOffer
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.services import Services
from dispatch.sms.twilio_gateway import INBOUND_PATH, STATUS_PATH, signature_is_valid, twiml_message

router = APIRouter()
COORDINATION = (Role.coordinator, Role.admin)


# -- Twilio's webhooks ------------------------------------------------------------------------------------
async def _signed_form(request: Request, services: Services) -> dict[str, str]:
    params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    url = services.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not signature_is_valid(
        services.settings.webhook_auth_token, url, params, request.headers.get("X-Twilio-Signature", "")
    ):
        raise HTTPException(403, detail="X-Twilio-Signature does not match")
    return params


def _inbound(services: Services, params: dict[str, str]) -> str | None:
    try:
        phone = to_e164(params.get("From", ""))
    except InvalidPhoneNumber:
        return None
    return replies.answer_sms(
        services, sid=params.get("MessageSid", ""), phone=phone, body=params.get("Body", "")
    )


@router.post(INBOUND_PATH, tags=["sms"], dependencies=[public()], response_class=Response)
async def inbound_sms(request: Request) -> Response:
    """An SMS to our number, as Twilio posts it; answered with TwiML in Japanese."""
    services = get_services(request)
    params = await _signed_form(request, services)
    if not params.get("MessageSid"):
        raise HTTPException(422, detail="MessageSid: missing")
    text = await run_in_threadpool(_inbound, services, params)
    return Response(twiml_message(text), media_type="application/xml")


@router.post(STATUS_PATH, tags=["sms"], dependencies=[public()], status_code=204, response_class=Response)
async def status_callback(request: Request) -> Response:
    """A delivery status; it only moves forward, and an undelivered offer goes on to the next physician."""
    services = get_services(request)
    params = await _signed_form(request, services)
    await run_in_threadpool(
        runner.on_status,
        services,
        params.get("MessageSid", ""),
        params.get("MessageStatus", ""),
        params.get("ErrorCode") or None,
    )
    return Response(status_code=204)


# -- the coordinator's hand -------------------------------------------------------------------------------
@contextmanager
def _hand_move_errors(case_id: int) -> Iterator[None]:
    """The coordinator's hand moves fail the same ways: no case, not a substitute, physician not free."""
    try:
        yield
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except manual.NotASubstitute as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except (manual.PhysicianHasOffer, manual.AlreadyAssigned) as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except manual.service.PhysicianBusy:
        raise HTTPException(409, detail="physician_id: this physician is on another case") from None


def _actor(user: User) -> Actor:
    return Actor(label=f"user:{user.username}", user_id=user.id)


@router.post(
    "/api/v1/cases/{case_id}/offers",
    tags=["dispatch"],
    response_model=CaseOut,
    dependencies=[allow(*COORDINATION)],
)
def offer_by_hand(
    body: ManualOffer,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Offer the case to a physician of your choosing now (a pending offer to someone else is withdrawn; a
    physician holding the case is relieved only when named in `replaces_physician_id`)."""
    services = get_services(request)
    with _hand_move_errors(case_id):
        message = manual.offer_to(
            session,
            services.clock,
            case_id,
            body.physician_id,
            _actor(user),
            body.replaces_physician_id,
            case_estimate(session, case_id),
        )
    session.commit()
    runner.send(services, message)
    return CaseOut.model_validate(session.get(Case, case_id))


@router.post(
    "/api/v1/cases/{case_id}/assign",
    tags=["dispatch"],
    response_model=CaseOut,
    dependencies=[allow(*COORDINATION)],
)
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
            body.replaces_physician_id,
            case_estimate(session, case_id),
        )
    session.commit()
    return CaseOut.model_validate(case)


# -- ending a case before its visit ---------------------------------------------------------------------
Ending = Callable[[Session, Clock, User, int, str], Case]


def _ended(request: Request, session: Session, case_id: int, end: Ending, user: User, reason: str) -> CaseOut:
    """Run an ending (`flow.endings`), commit it with its event; a wrong state is a 409 naming it."""
    try:
        case = end(session, get_services(request).clock, user, case_id, reason)
    except CaseNotVisible:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    session.commit()
    return CaseOut.model_validate(case)


@router.post(
    "/api/v1/cases/{case_id}/cancel",
    tags=["cases"],
    response_model=CaseOut,
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def cancel_case(
    body: CancelRequest,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Cancel an open case, with the reason (after a physician accepted, they are told by SMS)."""
    return _ended(request, session, case_id, endings.cancel, user, body.reason)


@router.post(
    "/api/v1/cases/{case_id}/referred-ems",
    tags=["cases"],
    response_model=CaseOut,
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
def family_called_119(
    body: EndingRequest,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """The family called 119 while a physician was being found or was on the way: the case goes to
    `referred_ems`, the pending offer is withdrawn, a physician who had accepted is told by SMS."""
    return _ended(request, session, case_id, endings.family_called_119, user, body.reason)


@router.post(
    "/api/v1/cases/{case_id}/close-unfilled",
    tags=["dispatch"],
    response_model=CaseOut,
    dependencies=[allow(*COORDINATION)],
)
def close_unfilled(
    body: EndingRequest,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Close an unfilled case (no physician could take it), with the reason: offering and alerts stop."""
    return _ended(request, session, case_id, endings.close_unfilled, user, body.reason)


@router.post(
    "/api/v1/cases/{case_id}/patient",
    response_model=CaseOut,
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def link_patient(
    body: LinkPatientIn,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Link an unidentified case to its patient; contract and clinic as at the call's time (audited)."""
    try:
        case = linking.link_patient(
            session,
            get_services(request).clock,
            user,
            case_id=case_id,
            patient_id=body.patient_id,
            reason=body.reason,
        )
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except linking.LinkRefused as exc:
        raise HTTPException(409, detail=f"case_id: {exc}") from None
    except (linking.LinkRejected, IntakeRejected) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return CaseOut.model_validate(case)
