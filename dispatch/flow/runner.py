"""What the workers run: each function opens its own transactions, commits, then talks to the SMS gateway.

Every step re-reads the database and checks it is still its turn, so any of them can run twice, early or
late without a second effect.
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.clock import Clock
from dispatch.db import unit_of_work
from dispatch.flow import calls, rounds, sms_cap
from dispatch.jobs import OFFER_DEADLINE
from dispatch.matching.policy import Policy, urgency_weighted_travel
from dispatch.offers import service
from dispatch.offers.models import Offer, OfferState
from dispatch.outbox import defer_job
from dispatch.services import Services
from dispatch.sms import service as sms_service
from dispatch.sms.models import SmsMessage

# A deadline job that fires this close to the deadline waits for it rather than leaving it to the sweep.
EARLY_WAIT = timedelta(seconds=2)


def drive(services: Services, policy: Policy = urgency_weighted_travel) -> list[int]:
    """Run a matching round and send the offers it made at once; returns the offer SMS ids."""
    with unit_of_work(services.session_factory) as session:
        cross_area = services.settings.cross_area_backup
        messages = rounds.match_round(session, services.clock, policy=policy, cross_area=cross_area)
    for message in messages:
        send(services, message)
    return [message.id for message in messages]


def send(services: Services, message: int | SmsMessage) -> bool:
    """Send an SMS: by id, a pending (or held) one if nobody has; or one its caller wrote claimed and just
    committed. Beyond its number's hourly cap it is held (`flow.sms_cap`). For an offer, start its deadline
    from the moment it left."""
    factory, clock, gateway = services.session_factory, services.clock, services.gateway
    callback, stale, cap = (
        services.status_callback_url(),
        service.stale_offer_sms(),
        sms_cap.hourly_cap(services),
    )

    def then(session: Session, sent: SmsMessage) -> None:
        offer_sent(session, clock, sent)

    if isinstance(message, int):
        sent = sms_service.send_pending(
            factory, clock, gateway, message, callback, then, withdraw_if=stale, cap=cap
        )
    else:
        sent = sms_service.send_claimed(
            factory, clock, gateway, message, callback, then, withdraw_if=stale, cap=cap
        )
    return sent is not None


def offer_sent(session: Session, clock: Clock, message: SmsMessage) -> None:
    """An offer SMS left (or was refused): set the deadline (and the call time), or move on to the next
    physician; in the transaction that records the send."""
    if message.offer_id is None or message.purpose != "offer":
        return
    offer = session.get(Offer, message.offer_id, with_for_update=True)
    if offer is None or offer.state is not OfferState.pending:
        return
    if sms_service.is_failure(message.status):
        with contextlib.suppress(service.OfferClosed):  # never lose the record of the send over it
            service.end_offer(session, clock, offer.id, OfferState.failed, Why.offer_sms_not_sent)
        return
    now = clock.now()
    case = session.get_one(Case, offer.case_id)
    offer.sms_sent_at = now
    offer.deadline_at = max(offer.deadline_at, now + service.offer_timeout(case))
    at = clock.wall(offer.deadline_at)
    defer_job(session, OFFER_DEADLINE, offer.id, job_id=f"deadline-{offer.id}", at=at)
    calls.schedule_call(session, clock, offer, case)


def on_deadline(services: Services, offer_id: int) -> bool:
    """The deadline trigger: time the offer out if it is still current and due, then offer the next one."""
    with services.session_factory() as session:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.state is not OfferState.pending:
            return False
        wait = (offer.deadline_at - services.clock.now()).total_seconds()
    if 0 < wait <= EARLY_WAIT.total_seconds():
        time.sleep(wait)
    with unit_of_work(services.session_factory) as session:
        expired = service.expire_if_due(session, services.clock, offer_id)
    if expired:
        drive(services)
    return expired


def on_status(services: Services, sid: str, status: str, error_code: str | None) -> bool:
    """A delivery status from the provider, recorded (it only moves forward); an undelivered offer ends.
    Whether it moved."""
    with services.session_factory() as session:
        message = sms_service.record_status(session, services.clock, sid, status, error_code)
        session.commit()
    if message is not None and sms_service.is_failure(message.status):
        on_delivery_failure(services, message.id)
    return message is not None


def on_delivery_failure(services: Services, message_id: int) -> None:
    """Twilio reported an offer SMS undelivered: don't wait for the deadline, offer the next physician."""
    with unit_of_work(services.session_factory) as session:
        message = session.get(SmsMessage, message_id)
        if message is None or message.offer_id is None or message.purpose != "offer":
            return
        try:
            service.end_offer(
                session, services.clock, message.offer_id, OfferState.failed, Why(f"offer SMS {message.status}")
            )
        except service.OfferClosed:
            return


def overdue_offer_ids(services: Services) -> list[int]:
    """Pending offers past their deadline."""
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(Offer.id).where(
                    Offer.state == OfferState.pending, Offer.deadline_at <= services.clock.now()
                )
            )
        )
