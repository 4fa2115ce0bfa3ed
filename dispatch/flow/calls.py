"""Voice calls: an offer still unanswered at its call time rings the physician (one call per offer); the
key they press acts as their SMS reply would, once per CallSid; the coordinator's alerts may ring too.

What a call says is built when Twilio fetches it (`offer_twiml`): a case reference, a town and a colour.
Every step re-reads the database, so the call job and the sweep may both run, early or late, to one effect.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import Urgency
from dispatch.clock import Clock
from dispatch.db import unit_of_work
from dispatch.jobs import OFFER_CALL
from dispatch.offers.links import visit_url
from dispatch.offers.models import Offer, OfferState
from dispatch.offers.service import UNKNOWN_TOWN, OfferClosed, PhysicianBusy, accept, end_offer
from dispatch.outbox import defer_job
from dispatch.programme.models import Municipality
from dispatch.roster.models import ContactPreference, Physician
from dispatch.services import Services
from dispatch.sms import protocol, voice_text
from dispatch.sms.caller import CallRejected, CallUnavailable
from dispatch.sms.models import VoiceCall
from dispatch.sms.service import queue_sms
from dispatch.sms.twilio_gateway import twiml_gather, twiml_say

log = logging.getLogger(__name__)
CALLER = Actor.system("voice")
# Twilio's final statuses of a call nobody took: written on the case's timeline.
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
# A coordinator's call written but not placed this long (its job lost): the sweep places it.
CALL_STUCK = timedelta(seconds=10)


def twiml_path(offer_id: int) -> str:
    return f"/voice/offer/{offer_id}/twiml"


def gather_path(offer_id: int) -> str:
    return f"/voice/offer/{offer_id}/gather"


STATUS_PATH = "/voice/status"


def schedule_call(session: Session, clock: Clock, offer: Offer, case: Case) -> None:
    """The offer's SMS left: set its call time (by the policy frozen on the case) unless the physician takes
    SMS only or the deadline comes first; the call job is due then, and the sweep stands behind it."""
    after = int(case.escalation_policy.get("call_after_s") or 0)
    if not after or offer.sms_sent_at is None:
        return
    due = offer.sms_sent_at + timedelta(seconds=after)
    contact = session.scalar(select(Physician.contact).where(Physician.id == offer.physician_id))
    if contact is not ContactPreference.sms_then_call or due >= offer.deadline_at:
        return
    offer.call_due_at = due
    defer_job(session, OFFER_CALL, offer.id, job_id=f"call-{offer.id}", at=clock.wall(due))


def _spoken(session: Session, case: Case) -> tuple[int, str, Urgency]:
    town = session.scalar(select(Municipality.name).where(Municipality.id == case.municipality_id))
    return case.id, town or UNKNOWN_TOWN, case.urgency or case.provisional_urgency or Urgency.yellow


def call_if_due(services: Services, offer_id: int) -> bool:
    """Ring the physician of a still-pending offer whose call time has come, once per offer; True if rung."""
    now = services.clock.now()
    with unit_of_work(services.session_factory) as session:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.state is not OfferState.pending or offer.call_due_at is None:
            return False
        physician = session.get_one(Physician, offer.physician_id)
        if offer.call_due_at > now or physician.contact is not ContactPreference.sms_then_call:
            return False
        if physician.phone_e164 is None:
            return False
        call = VoiceCall(
            purpose="offer",
            phone_e164=physician.phone_e164,
            case_id=offer.case_id,
            offer_id=offer.id,
            status="claimed",
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():  # one call per offer: the second claim meets the unique offer_id
                session.add(call)
                session.flush()
        except IntegrityError:
            return False
        call_id = call.id
    return _ring(services, call_id, url=services.settings.public_base_url.rstrip("/") + twiml_path(offer_id))


def place_call(services: Services, call_id: int) -> bool:
    """Place a written coordinator call unless someone already has; says its short message, no keys."""
    now = services.clock.now()
    with unit_of_work(services.session_factory) as session:
        taken = session.execute(
            update(VoiceCall)
            .where(VoiceCall.id == call_id, VoiceCall.status == "pending")
            .values(status="claimed", updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not taken:
            return False
        call = session.get_one(VoiceCall, call_id)
        case = session.get_one(Case, call.case_id)
        say = voice_text.coordinator_call_text(*_spoken(session, case))
    return _ring(services, call_id, say=say)


def _ring(services: Services, call_id: int, *, url: str | None = None, say: str | None = None) -> bool:
    """Hand a claimed call to the caller; its sid or its failure written, and on the case's timeline."""
    with services.session_factory() as session:
        phone = session.get_one(VoiceCall, call_id).phone_e164
    sid, status, error = None, "failed", None
    try:
        placed = services.caller.call(phone, url=url, say=say, status_callback=services.voice_status_url())
        sid, status = placed.sid, placed.status
    except CallRejected as exc:
        error = exc.code
    except CallUnavailable:
        error = "unavailable"
    with unit_of_work(services.session_factory) as session:
        call = session.get_one(VoiceCall, call_id, with_for_update=True)
        call.provider_sid, call.status, call.error_code = sid, status, error
        call.updated_at = services.clock.now()
        if call.case_id is not None:
            case = session.get_one(Case, call.case_id)
            data = {"call_id": call.id, "purpose": call.purpose, "offer_id": call.offer_id, "error_code": error}
            kind = "call.placed" if sid else "call.failed"
            record_event(session, case, kind, actor=CALLER, clock=services.clock, data=data)
    return sid is not None


def offer_twiml(services: Services, offer_id: int, again: bool = False) -> str:
    """What the physician hears on picking up: the offer and the keys, or that it has closed."""
    with services.session_factory() as session:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.state is not OfferState.pending:
            return twiml_say(voice_text.CLOSED_TEXT)
        text = voice_text.offer_call_text(*_spoken(session, session.get_one(Case, offer.case_id)))
    action = services.settings.public_base_url.rstrip("/") + gather_path(offer_id)
    if again:
        return twiml_gather(voice_text.UNREAD_KEY_TEXT + text, action + "?again=1", voice_text.NO_KEY_TEXT)
    return twiml_gather(text, action, voice_text.NO_KEY_TEXT)


def on_gather(services: Services, offer_id: int, call_sid: str, digits: str, again: bool) -> str:
    """The key pressed on an offer's call, acted on once per CallSid: 1 accepts (the details link follows by
    SMS), 2 declines (the next physician is offered); anything else hears the offer once more."""
    if digits not in (voice_text.DIGIT_ACCEPT, voice_text.DIGIT_DECLINE):
        return twiml_say(voice_text.GIVE_UP_TEXT) if again else offer_twiml(services, offer_id, again=True)
    settings, clock = services.settings, services.clock
    with unit_of_work(services.session_factory) as session:
        now = clock.now()
        taken = session.execute(
            update(VoiceCall)
            .where(
                VoiceCall.provider_sid == call_sid,
                VoiceCall.offer_id == offer_id,
                VoiceCall.answered_at.is_(None),
            )
            .values(digits=digits, answered_at=now, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not taken:  # this CallSid's key was already acted on (a redelivered callback), or not our call
            return twiml_say(voice_text.DONE_TEXT)
        offer = session.get_one(Offer, offer_id)
        physician = session.get_one(Physician, offer.physician_id)
        actor = Actor(label=f"voice:physician-{physician.id}")
        try:
            if digits == voice_text.DIGIT_ACCEPT:
                case = accept(session, clock, offer_id, actor)
                link = visit_url(settings.public_base_url, settings.secret_key.get_secret_value(), offer)
                text = protocol.accepted_text(case.id, link)
                queue_sms(
                    session,
                    clock,
                    physician.sms_phone(),
                    text,
                    "details_link",
                    case_id=case.id,
                    offer_id=offer_id,
                )
                return twiml_say(voice_text.ACCEPTED_TEXT)
            end_offer(session, clock, offer_id, OfferState.declined, Why.declined_by_voice, actor=actor)
            return twiml_say(voice_text.DECLINED_TEXT)
        except OfferClosed:  # answered by SMS, timed out, withdrawn first: the key is kept, nothing else
            return twiml_say(voice_text.CLOSED_TEXT)
        except PhysicianBusy:
            return twiml_say(voice_text.BUSY_TEXT)


def on_call_status(services: Services, call_sid: str, status: str, error_code: str | None) -> None:
    """A call's status from Twilio; a call nobody took (no answer, busy, failed) goes on the timeline once."""
    with unit_of_work(services.session_factory) as session:
        call = session.scalar(select(VoiceCall).where(VoiceCall.provider_sid == call_sid).with_for_update())
        if call is None or call.status == status or not status:
            return
        call.status, call.updated_at = status[:16], services.clock.now()
        call.error_code = error_code or call.error_code
        if status in UNANSWERED and call.case_id is not None:
            case = session.get_one(Case, call.case_id)
            data = {"call_id": call.id, "purpose": call.purpose, "offer_id": call.offer_id, "status": status}
            record_event(session, case, "call.unanswered", actor=CALLER, clock=services.clock, data=data)


def due_calls(services: Services) -> tuple[list[int], list[int]]:
    """For the sweep: pending offers past their call time never rung, and coordinator calls never placed."""
    now = services.clock.now()
    rung = select(VoiceCall.id).where(VoiceCall.offer_id == Offer.id).exists()
    with services.session_factory() as session:
        offers = session.scalars(
            select(Offer.id).where(Offer.state == OfferState.pending, Offer.call_due_at <= now, ~rung)
        )
        stuck = session.scalars(
            select(VoiceCall.id).where(VoiceCall.status == "pending", VoiceCall.updated_at <= now - CALL_STUCK)
        )
        return list(offers), list(stuck)
