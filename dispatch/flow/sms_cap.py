"""A number at its hourly SMS cap (`sms.cap`): what follows when one of its messages is held.

An offer is not held: an offer the physician has not received cannot be answered, and waiting up to an hour
for the number's window would keep the patient waiting with it. The offer ends at once (failed, the reason
in the case's timeline) and the case goes to the next physician, as for a number Twilio refuses. Every other
message waits and goes out, in order, when the window has room. Either way the coordinator is told once per
number per hour: on the console (the case's timeline and live event, the held list on the board and the
outbox) and by SMS, which the cap never holds.
"""

from __future__ import annotations

import contextlib
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.clinics.models import Clinic
from dispatch.offers import service
from dispatch.offers.models import OfferState
from dispatch.phones import masked
from dispatch.programme.models import Programme
from dispatch.roster.models import Physician
from dispatch.services import Services
from dispatch.sms import cap, protocol
from dispatch.sms.models import SmsCapAlert, SmsMessage
from dispatch.sms.service import queue_sms

log = logging.getLogger(__name__)
SMS_CAP = Actor.system("sms_cap")
OFFER_HELD = Why.offer_sms_held


def hourly_cap(services: Services) -> cap.HourlyCap:
    """The configured cap, with what a held message sets off."""
    per_hour = services.settings.sms_per_number_per_hour

    def on_held(session: Session, message: SmsMessage) -> None:
        if message.purpose == "offer" and message.offer_id is not None:
            message.status, message.not_before = "withdrawn", None
            with contextlib.suppress(service.OfferClosed):
                service.end_offer(session, services.clock, message.offer_id, OfferState.failed, OFFER_HELD)
        alert_once(session, services, message, per_hour)

    return cap.HourlyCap(per_hour, on_held)


def _programme_told(
    session: Session, services: Services, case_id: int | None, physician_id: int | None
) -> Programme:
    """Whose coordinator hears of it: the case's programme; with no case, the physician's (their clinic's,
    else their base town's area's); else the deployment's default."""
    if case_id is not None:
        return session.get_one(Programme, session.get_one(Case, case_id).programme_id)
    physician = session.get(Physician, physician_id) if physician_id is not None else None
    if physician is not None and physician.clinic_id is not None:
        return session.get_one(Programme, session.get_one(Clinic, physician.clinic_id).programme_id)
    town = physician.base_municipality_id if physician is not None else None
    return session.get_one(Programme, services.reference.for_municipality(session, town).id)


def alert_once(session: Session, services: Services, message: SmsMessage, per_hour: int) -> SmsCapAlert | None:
    """Tell the coordinator that this message's number is at its cap, unless they were told in the last hour
    (the caller holds the number's lock: two workers cannot both tell them)."""
    clock, phone = services.clock, message.phone_e164
    recent = session.scalar(
        select(SmsCapAlert.id).where(
            SmsCapAlert.phone_e164 == phone, SmsCapAlert.alerted_at > clock.now() - cap.WINDOW
        )
    )
    if recent is not None:
        return None
    sent, frees_at = cap.window(session, clock, phone)
    alert = SmsCapAlert(phone_e164=phone, alerted_at=clock.now(), sent_in_hour=sent, case_id=message.case_id)
    session.add(alert)
    physician_id, name = session.execute(
        select(Physician.id, Physician.name).where(Physician.phone_e164 == phone).limit(1)
    ).one_or_none() or (None, None)
    log.warning("SMS to %s held: %d sent to it in the last hour, the cap is %d", masked(phone), sent, per_hour)
    if message.case_id is not None:
        record_event(
            session,
            session.get_one(Case, message.case_id),
            "alert.sms_cap",
            actor=SMS_CAP,
            clock=clock,
            reason=Why.sms_cap_reached,
            data={"physician_id": physician_id, "sent_in_hour": sent, "per_hour": per_hour},
        )
    programme = _programme_told(session, services, message.case_id, physician_id)
    if programme.coordinator_phone:
        resumes = frees_at.astimezone(ZoneInfo(programme.timezone)).strftime("%H:%M") if frees_at else None
        body = protocol.sms_cap_alert_text(name or masked(phone), per_hour, resumes)
        queue_sms(session, clock, programme.coordinator_phone, body, cap.CAP_ALERT, case_id=message.case_id)
    return alert
