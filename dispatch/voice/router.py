"""Twilio's voice webhooks: the TwiML a call says, the key pressed, the call's status. Public routes that
prove themselves by `X-Twilio-Signature` (over the configured public URL and the posted form). And a
physician's contact preference (SMS only, or SMS then a call), which the coordinator sets."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, public
from dispatch.auth.models import Role
from dispatch.deps import db_session, get_services
from dispatch.flow import calls
from dispatch.ids import PathId
from dispatch.roster.models import ContactPreference, Physician
from dispatch.services import Services
from dispatch.sms.twilio_gateway import signature_is_valid

router = APIRouter(tags=["voice"])
XML = "application/xml"


async def _signed(request: Request, services: Services) -> dict[str, str]:
    """The posted form, once its signature matches; 403 otherwise."""
    params = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    url = services.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature_is_valid(services.settings.webhook_auth_token, url, params, signature):
        raise HTTPException(403, detail="X-Twilio-Signature does not match")
    return params


@router.post("/voice/offer/{offer_id}/twiml", dependencies=[public()], response_class=Response)
async def offer_twiml(request: Request, offer_id: PathId) -> Response:
    """What the physician hears: the case reference, town and colour, 1 to accept, 2 to decline."""
    services = get_services(request)
    await _signed(request, services)
    twiml = await run_in_threadpool(calls.offer_twiml, services, offer_id)
    return Response(twiml, media_type=XML)


@router.get("/voice/offer/{offer_id}/twiml", dependencies=[public()], response_class=Response)
async def offer_twiml_by_get(request: Request, offer_id: PathId) -> Response:
    """The same TwiML for a call whose URL is fetched with GET (signed over the URL and its query)."""
    return await offer_twiml(request, offer_id)


@router.post("/voice/offer/{offer_id}/gather", dependencies=[public()], response_class=Response)
async def offer_gather(request: Request, offer_id: PathId) -> Response:
    """The key pressed: 1 accepts, 2 declines, once per CallSid; anything else hears the offer again once."""
    services = get_services(request)
    params = await _signed(request, services)
    if not params.get("CallSid"):
        raise HTTPException(422, detail="CallSid: missing")
    again = request.query_params.get("again") == "1"
    twiml = await run_in_threadpool(
        calls.on_gather, services, offer_id, params["CallSid"], params.get("Digits", ""), again
    )
    return Response(twiml, media_type=XML)


@router.post(calls.STATUS_PATH, dependencies=[public()], status_code=204, response_class=Response)
async def call_status(request: Request) -> Response:
    """A call's status; one nobody took (no answer, busy, failed) goes on the case's timeline."""
    services = get_services(request)
    params = await _signed(request, services)
    await run_in_threadpool(
        calls.on_call_status,
        services,
        params.get("CallSid", ""),
        params.get("CallStatus", ""),
        params.get("ErrorCode") or None,
    )
    return Response(status_code=204)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: ContactPreference = Field(
        description="sms_only, or sms_then_call (a call when an SMS is unanswered)"
    )


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    contact: ContactPreference


@router.put(
    "/api/v1/roster/physicians/{physician_id}/contact",
    response_model=ContactOut,
    dependencies=[allow(Role.coordinator, Role.admin)],
)
def set_contact(body: ContactIn, physician_id: PathId, session: Session = Depends(db_session)) -> ContactOut:
    """How offers reach this physician from now on: SMS only, or SMS and then a call while unanswered."""
    physician = session.get(Physician, physician_id)
    if physician is None:
        raise HTTPException(404, detail=f"physician_id: no physician {physician_id}")
    physician.contact = body.contact
    session.commit()
    return ContactOut.model_validate(physician)
