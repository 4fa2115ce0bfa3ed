"""Twilio's webhooks (inbound SMS, delivery statuses) and the outbox.

Webhooks are public routes that prove themselves instead: `X-Twilio-Signature` must match the configured
public URL and the posted form, in every configuration. They answer quickly: one transaction, TwiML back.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, public
from dispatch.auth.models import Role
from dispatch.deps import db_session, get_services
from dispatch.offers import replies, runner
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.services import Services
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import is_failure, record_status, redact_links
from dispatch.sms.twilio_gateway import signature_is_valid, twiml_message

router = APIRouter(tags=["sms"])
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"


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
    with services.session_factory() as session:
        answer = replies.handle_inbound(
            session,
            services.clock,
            services.redis,
            sid=params.get("MessageSid", ""),
            phone=phone,
            body=params.get("Body", ""),
            secret=services.settings.secret_key.get_secret_value(),
            base_url=services.settings.public_base_url,
        )
        session.commit()
    return answer.text


@router.post(INBOUND_PATH, dependencies=[public()], response_class=Response)
async def inbound_sms(request: Request) -> Response:
    """An SMS to our number, as Twilio posts it; answered with TwiML in Japanese."""
    services = get_services(request)
    params = await _signed_form(request, services)
    if not params.get("MessageSid"):
        raise HTTPException(422, detail="MessageSid: missing")
    text = await run_in_threadpool(_inbound, services, params)
    return Response(twiml_message(text), media_type="application/xml")


def _status(services: Services, params: dict[str, str]) -> None:
    with services.session_factory() as session:
        message = record_status(
            session,
            services.clock,
            params.get("MessageSid", ""),
            params.get("MessageStatus", ""),
            params.get("ErrorCode") or None,
        )
        session.commit()
    if message is not None and is_failure(message.status):
        runner.on_delivery_failure(services, message.id)


@router.post(STATUS_PATH, dependencies=[public()], status_code=204, response_class=Response)
async def status_callback(request: Request) -> Response:
    """A delivery status; it only moves forward, and an undelivered offer goes on to the next physician."""
    services = get_services(request)
    params = await _signed_form(request, services)
    await run_in_threadpool(_status, services, params)
    return Response(status_code=204)


class SmsOut(BaseModel):
    id: int
    direction: str
    phone_e164: str
    body: str
    purpose: str
    status: str
    case_id: int | None
    created_at: object


@router.get(
    "/api/v1/sms/messages",
    response_model=list[SmsOut],
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def outbox(
    limit: int = Query(100, ge=1, le=1000),
    case_id: int | None = Query(None, ge=1, le=2_147_483_647),
    session: Session = Depends(db_session),
) -> list[SmsOut]:
    """SMS in and out, newest first: under `dispatch up` this is where the console adapter's messages show."""
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if case_id is not None:
        query = query.where(SmsMessage.case_id == case_id)
    return [
        SmsOut.model_validate(m, from_attributes=True).model_copy(update={"body": redact_links(m.body)})
        for m in session.scalars(query)
    ]
