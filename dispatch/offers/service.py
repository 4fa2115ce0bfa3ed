"""Offering a case to substitute physicians: making an offer (a round of them is in `rounds`), and every way an
offer ends.

The deadline lives on the offer row; `case.current_offer_id` is the fencing token, so a job that is late,
early or duplicated finds it is not its turn and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, func, insert, select
from sqlalchemy.orm import Session

from dispatch import bulk
from dispatch.cases.lifecycle import Actor, Move, record_event, transition, transition_all
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState, Urgency
from dispatch.clock import Clock
from dispatch.db import table_of
from dispatch.family import service as family
from dispatch.jobs import DRIVE_CASE
from dispatch.offers.locks import share_programme
from dispatch.offers.models import Offer, OfferState
from dispatch.outbox import defer_job
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician
from dispatch.sms import protocol
from dispatch.sms.calls import queue_call
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import queue_claimed, queue_sms

MATCHING = Actor.system("matching")


_INSERT_OFFERS = insert(table_of(Offer)).returning(table_of(Offer).c.id, sort_by_parameter_order=True)


class OfferClosed(Exception):
    """The offer is no longer the case's current one (answered, timed out, withdrawn)."""


class PhysicianBusy(Exception):
    """The physician already holds another active case."""


def _urgency(case: Case) -> Urgency:
    return case.urgency or case.provisional_urgency or Urgency.yellow


UNKNOWN_TOWN = "地域不明"


def _town_name(case: Case) -> ScalarSelect:
    return select(Municipality.name).where(Municipality.id == case.municipality_id).scalar_subquery()


def _town(session: Session, case: Case) -> str:
    return (session.scalar(select(_town_name(case))) if case.municipality_id else None) or UNKNOWN_TOWN


def offer_timeout(case: Case) -> timedelta:
    """The deadline for an offer on this case, by the policy frozen on it when it was logged."""
    return timedelta(seconds=case.escalation_policy["offer_timeout_s"][_urgency(case).value])


@dataclass(frozen=True)
class OfferFacts:
    """What an offer and its SMS need beyond the match, when the caller has read them already."""

    attempt: int
    phone: str
    town: str | None


def _offer_facts(session: Session, case: Case, physician_id: int) -> OfferFacts:
    """The offers so far, the phone and the town, in one round trip."""
    earlier, phone, town = session.execute(
        select(
            select(func.count()).select_from(Offer).where(Offer.case_id == case.id).scalar_subquery(),
            select(Physician.phone_e164).where(Physician.id == physician_id).scalar_subquery(),
            _town_name(case),
        )
    ).one()
    return OfferFacts((earlier or 0) + 1, phone, town)


@dataclass(frozen=True)
class Planned:
    """An offer about to be made: the case, the physician (`travel_min` away by the estimate), what the SMS
    needs, and the physician's area when they back up a neighbouring area's case (広域連携)."""

    case: Case
    physician_id: int
    travel_min: float
    facts: OfferFacts
    from_area_id: int | None = None


def make_offer(
    session: Session,
    clock: Clock,
    case: Case,
    *,
    physician_id: int,
    travel_min: float,
    manual: bool = False,
    known: OfferFacts | None = None,
    from_area_id: int | None = None,
) -> SmsMessage:
    """Offer the case to the physician (`travel_min` away, by the estimate): create the offer, move the case
    to `offered` and write its SMS, already claimed; returns the SMS row, which the caller sends
    (`flow.runner.send`) once this commits: every caller does, so no send job is queued for it. `from_area_id`:
    the physician's area when they back up a neighbouring area's case (広域連携). (An offer
    withdrawn in the first seconds between that commit and the send still leaves, see
    `sms.service.send_claimed`: the physician's reply to it is answered as to any closed offer.)"""
    facts = known or _offer_facts(session, case, physician_id)
    planned = Planned(case, physician_id, travel_min, facts, from_area_id)
    return make_offers(session, clock, [planned], manual=manual)[0]


def make_offers(
    session: Session, clock: Clock, planned: list[Planned], manual: bool = False
) -> list[SmsMessage]:
    """`make_offer` for many cases at once (a matching round): two flushes for them all, however many."""
    now = clock.now()
    rows: list[dict[str, Any]] = [
        {
            "case_id": p.case.id,
            "physician_id": p.physician_id,
            "attempt": p.facts.attempt,
            "state": OfferState.pending,
            "manual": manual,
            "estimated_travel_min": round(p.travel_min),
            "from_area_id": p.from_area_id,
            "created_at": now,
            "deadline_at": now + offer_timeout(p.case),
            "link_generation": 0,
        }
        for p in planned
    ]
    if bulk.supported(session):
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        by_case = dict(bulk.insert(session, table_of(Offer), columns, ("case_id", "id")))
        offer_ids = [by_case[p.case.id] for p in planned]  # one offer per case
    else:
        offer_ids = list(session.scalars(_INSERT_OFFERS, rows).all())
    moves: list[Move] = []
    texts: list[tuple[str, str, str, int | None, int | None]] = []
    for p, offer_id, row in zip(planned, offer_ids, rows, strict=True):
        case = p.case
        also: dict[str, Any] = {"current_offer_id": offer_id}
        if not manual:
            also["last_matched_at"] = now  # here, so the case is written once, with its transition
        data: dict[str, Any] = {
            "offer_id": offer_id,
            "physician_id": p.physician_id,
            "attempt": p.facts.attempt,
            "travel_min": row["estimated_travel_min"],
            "deadline_at": (now + offer_timeout(case)).isoformat(),
        }
        if p.from_area_id:
            data["from_area_id"] = p.from_area_id
        reason = Why.offered_cross_area if p.from_area_id else Why.offered
        moves.append((case, CaseState.offered, reason, data, also))
        body = protocol.offer_text(case.id, p.facts.town or UNKNOWN_TOWN, _urgency(case))
        texts.append((p.facts.phone, body, "offer", case.id, offer_id))
    transition_all(session, moves, actor=MATCHING, clock=clock)
    return queue_claimed(session, clock, texts)


def stale_offer_sms() -> ColumnElement[bool]:
    """An offer SMS whose offer is no longer pending: withdrawn instead of sent (`sms.service.send_pending`)."""
    pending = select(Offer.id).where(Offer.id == SmsMessage.offer_id, Offer.state == OfferState.pending)
    return (SmsMessage.purpose == "offer") & SmsMessage.offer_id.is_not(None) & ~pending.exists()


def current_offer(session: Session, offer_id: int) -> tuple[Offer, Case]:
    """The offer and its case, locked; OfferClosed unless it is still the case's pending offer."""
    case_id = session.scalar(select(Offer.case_id).where(Offer.id == offer_id))
    if case_id is None:
        raise OfferClosed(offer_id)
    # Always the programme (shared), the case, then the offer: the order a round, cancel and reassignment take.
    share_programme(session, case_id)
    case = session.get_one(Case, case_id, with_for_update=True, populate_existing=True)
    offer = session.get_one(Offer, offer_id, with_for_update=True, populate_existing=True)
    if offer.state is not OfferState.pending or case.current_offer_id != offer.id:
        raise OfferClosed(offer_id)
    return offer, case


def end_offer(
    session: Session, clock: Clock, offer_id: int, state: OfferState, reason: str, actor: Actor = MATCHING
) -> Case:
    """Close a pending offer without an acceptance; the case goes back to dispatching for the next one."""
    offer, case = current_offer(session, offer_id)
    offer.state = state
    offer.responded_at = clock.now()
    case.current_offer_id = None
    event = transition(
        session,
        case,
        CaseState.dispatching,
        actor=actor,
        clock=clock,
        reason=reason,
        data={"offer_id": offer.id, "physician_id": offer.physician_id, "offer_state": state.value},
    )
    defer_job(session, DRIVE_CASE, case.id, job_id=f"drive-{case.id}-{event.id}")
    unanswered = session.scalar(
        select(func.count())
        .select_from(Offer)
        .where(Offer.case_id == case.id, Offer.state != OfferState.pending)
    )
    if (
        unanswered >= case.escalation_policy["offers_before_coordinator_alert"]
        and case.coordinator_alerted_at is None
    ):
        programme = session.get_one(Programme, case.programme_id)
        alert_coordinator(session, clock, programme, case, Why.no_physician_accepted)
    return case


def expire_if_due(session: Session, clock: Clock, offer_id: int) -> bool:
    """Time out the offer if its deadline has passed and it is still current; False otherwise."""
    try:
        offer, _case = current_offer(session, offer_id)
    except OfferClosed:
        return False
    if clock.now() < offer.deadline_at:
        return False
    end_offer(session, clock, offer_id, OfferState.timed_out, Why.no_reply)
    return True


def accept(session: Session, clock: Clock, offer_id: int, actor: Actor) -> Case:
    """The physician said yes: the case is theirs. Raises OfferClosed or PhysicianBusy."""
    offer, case = current_offer(session, offer_id)
    busy = session.scalar(
        select(Case.id).where(
            Case.assigned_physician_id == offer.physician_id,
            Case.id != case.id,
            Case.state.in_([CaseState.accepted, CaseState.en_route, CaseState.on_scene]),
        )
    )
    if busy:
        raise PhysicianBusy(offer.physician_id)
    now = clock.now()
    offer.state, offer.responded_at = OfferState.accepted, now
    case.current_offer_id = None
    case.assigned_physician_id = offer.physician_id
    case.visiting_area_id = offer.from_area_id  # cross-area (広域連携) or not: the physician who has it now
    case.accepted_at = now
    case.coordinator_alerted_at = None  # the alarm ends: the case has its physician (by SMS or by phone)
    transition(
        session,
        case,
        CaseState.accepted,
        actor=actor,
        clock=clock,
        reason=Why.offer_accepted_cross_area if offer.from_area_id else Why.offer_accepted,
        data={"offer_id": offer.id, "physician_id": offer.physician_id}
        | ({"from_area_id": offer.from_area_id} if offer.from_area_id else {}),
    )
    family.on_accepted(session, clock, case, offer.id, offer.estimated_travel_min or 0)
    return case


def withdraw(session: Session, clock: Clock, case: Case, reason: str) -> None:
    """Take back the case's pending offer (cancelled, or reassigned by hand) and tell the physician."""
    if case.current_offer_id is None:
        return
    offer = session.get(Offer, case.current_offer_id, with_for_update=True)
    case.current_offer_id = None
    if offer is None or offer.state is not OfferState.pending:
        return
    offer.state, offer.responded_at = OfferState.withdrawn, clock.now()
    physician = session.get_one(Physician, offer.physician_id)
    queue_sms(
        session,
        clock,
        physician.sms_phone(),
        protocol.withdrawn_text(case.id),
        "withdrawn",
        case_id=case.id,
        offer_id=offer.id,
    )
    record_event(
        session,
        case,
        "offer.withdrawn",
        actor=MATCHING,
        clock=clock,
        reason=reason,
        data={"offer_id": offer.id, "physician_id": offer.physician_id},
    )


def alert_coordinator(session: Session, clock: Clock, programme: Programme, case: Case, reason: str) -> None:
    """Tell the coordinator, on the console (a case event) and by SMS (and a call, if the policy says so);
    offering goes on."""
    offers = session.scalar(select(func.count()).select_from(Offer).where(Offer.case_id == case.id)) or 0
    case.coordinator_alerted_at = clock.now()
    record_event(
        session, case, "alert.coordinator", actor=MATCHING, clock=clock, reason=reason, data={"offers": offers}
    )
    if programme.coordinator_phone:
        body = protocol.coordinator_alert_text(case.id, _town(session, case), _urgency(case), offers, reason)
        queue_sms(session, clock, programme.coordinator_phone, body, "coordinator_alert", case_id=case.id)
        if case.escalation_policy.get("coordinator_alert_call"):  # a setting, frozen on the case
            queue_call(session, clock, programme.coordinator_phone, "coordinator_alert", case_id=case.id)
