"""The demo's phone simulator: the physicians' phones as a page shows them, and replies sent from them,
signed exactly as Twilio signs. It exists only with the console SMS adapter, never in production: the app
mounts it, and so imports it (with httpx, from the `demo` extra), only then."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import redact_links
from dispatch.sms.twilio_gateway import INBOUND_PATH, sign

router = APIRouter(prefix="/api/v1/sms/simulator", tags=["sms"])
SIMULATOR_ROLES = (Role.operator, Role.coordinator, Role.admin, Role.substitute_physician)
MESSAGES_PER_PHONE = 20


class SimulatedSms(BaseModel):
    from_phone: str = Field(max_length=32, description="the physician's phone, e.g. 090-1111-0101")
    body: str = Field(min_length=1, max_length=320, description="e.g. 412 Y")


class PhoneMessage(BaseModel):
    id: int
    direction: str
    body: str
    purpose: str
    case_id: int | None
    created_at: object


class SimulatedPhone(BaseModel):
    physician_id: int
    name: str
    phone_e164: str
    messages: list[PhoneMessage]


def _require_simulator(request: Request) -> None:
    if not get_services(request).settings.phone_simulator_enabled:
        raise HTTPException(404, detail="the phone simulator exists only with the console SMS adapter")


def _own_phone_only(user: User, session: Session, phone: str) -> None:
    """A substitute physician answers from their own phone only."""
    if user.role is not Role.substitute_physician:
        return
    own = session.get(Physician, user.physician_id) if user.physician_id else None
    if own is None or own.phone_e164 != phone:
        raise HTTPException(403, detail="from_phone: a substitute physician replies from their own phone only")


@router.get("/phones", response_model=list[SimulatedPhone], dependencies=[allow(*SIMULATOR_ROLES)])
def simulated_phones(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[SimulatedPhone]:
    """Each substitute physician's phone with its latest messages (a substitute sees only their own)."""
    _require_simulator(request)
    query = (
        select(Physician)
        .where(Physician.role == PhysicianRole.substitute, Physician.phone_e164.is_not(None))
        .order_by(Physician.id)
    )
    if user.role is Role.substitute_physician:
        query = query.where(Physician.id == user.physician_id)
    phones = []
    for physician in session.scalars(query):
        rows = session.scalars(
            select(SmsMessage)
            .where(SmsMessage.phone_e164 == physician.phone_e164)
            .order_by(SmsMessage.id.desc())
            .limit(MESSAGES_PER_PHONE)
        )
        messages = [
            PhoneMessage(
                id=m.id,
                direction=m.direction.value,
                body=redact_links(m.body),
                purpose=m.purpose,
                case_id=m.case_id,
                created_at=m.created_at,
            )
            for m in rows
        ]
        phones.append(
            SimulatedPhone(
                physician_id=physician.id,
                name=physician.name,
                phone_e164=physician.phone_e164,
                messages=messages,
            )
        )
    return phones


@router.post("", dependencies=[allow(*SIMULATOR_ROLES)])
async def phone_simulator(
    body: SimulatedSms,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict:
    """Reply as a physician's phone would. The request is signed exactly as Twilio signs."""
    _require_simulator(request)
    services = get_services(request)
    try:
        phone = to_e164(body.from_phone)
    except InvalidPhoneNumber as exc:
        raise HTTPException(422, detail=f"from_phone: {exc}") from None
    await run_in_threadpool(_own_phone_only, user, session, phone)
    await run_in_threadpool(session.rollback)  # hold no connection while the webhook runs
    params = {
        "MessageSid": "SMsim" + uuid.uuid4().hex[:27],
        "From": phone,
        "To": "+815000000000",
        "Body": body.body,
    }
    base = services.settings.public_base_url.rstrip("/")
    headers = {"X-Twilio-Signature": sign(services.settings.webhook_auth_token, base + INBOUND_PATH, params)}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        response = await client.post(INBOUND_PATH, data=params, headers=headers)
    return {"status": response.status_code, "twiml": response.text}
