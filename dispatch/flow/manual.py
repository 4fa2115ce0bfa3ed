"""The coordinator's hand: offer a case to a chosen physician, or assign it outright."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, record_event, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState
from dispatch.clock import Clock
from dispatch.matching.areas import backup_area
from dispatch.matching.picker import travel_min_for
from dispatch.matching.travel import TravelEstimate
from dispatch.offers import service
from dispatch.offers.links import visit_url
from dispatch.offers.locks import lock_programme
from dispatch.offers.models import Offer, OfferState
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.sms import protocol
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import queue_sms

# A hand-made offer to a physician with no base on the roster and no visit tonight: a cautious guess.
UNKNOWN_TRAVEL_MIN = 30.0

# Before arrival a case can be given to someone else: the physician who had it may have broken down.
OPEN_FOR_OFFERS = (
    CaseState.dispatching,
    CaseState.unfilled,
    CaseState.offered,
    CaseState.accepted,
    CaseState.en_route,
)


class NotASubstitute(ValueError):
    """The chosen physician is not an active substitute physician."""


class PhysicianHasOffer(Exception):
    """The chosen physician is answering another offer right now."""


class AlreadyAssigned(Exception):
    """Someone else gave the case to a physician meanwhile: the coordinator acted on a stale view."""


def _check_holder(session: Session, case: Case, expected: int | None) -> None:
    holder = case.assigned_physician_id
    if holder == expected:
        return
    physician = session.get(Physician, holder) if holder is not None else None
    name = f" ({physician.name})" if physician is not None else ""
    raise AlreadyAssigned(
        f"case {case.reference} was assigned to physician {holder}{name} meanwhile; "
        f"to reassign it, send replaces_physician_id={holder}"
        if holder is not None
        else f"case {case.reference} is no longer assigned to physician {expected}; reload it"
    )


def _prepare(
    session: Session,
    clock: Clock,
    case_id: int,
    physician_id: int,
    actor: Actor,
    holder: int | None,
) -> Case:
    # The programme id alone: a Case loaded before the lock would be stale after it (StaleDataError).
    programme_id = session.scalar(select(Case.programme_id).where(Case.id == case_id))
    if programme_id is None:
        raise LookupError(case_id)
    lock_programme(session, programme_id)  # no matching round runs meanwhile
    case = session.get_one(Case, case_id, with_for_update=True, populate_existing=True)
    _check_holder(session, case, holder)  # under the lock: of two coordinators at once, the second is told
    pending = session.scalar(
        select(Offer.case_id).where(Offer.physician_id == physician_id, Offer.state == OfferState.pending)
    )
    if pending is not None and pending != case.id:
        raise PhysicianHasOffer(
            f"physician_id: physician {physician_id} is answering an offer for case K{pending}"
        )
    physician = session.get(Physician, physician_id)
    if physician is None or physician.role is not PhysicianRole.substitute or not physician.active:
        raise NotASubstitute(f"physician_id: no active substitute physician {physician_id}")
    if case.state not in OPEN_FOR_OFFERS:
        raise TransitionNotAllowed(case.id, case.state, CaseState.offered)
    if case.state is CaseState.offered:
        service.withdraw(session, clock, case, Why.reassigned_by_coordinator)
        transition(
            session, case, CaseState.dispatching, actor=actor, clock=clock, reason=Why.reassigned_by_hand
        )
    elif case.state in (CaseState.accepted, CaseState.en_route):
        _take_back(session, clock, case, actor)
    return case


def _take_back(session: Session, clock: Clock, case: Case, actor: Actor) -> None:
    """Relieve the physician who accepted (and tell them; their details links die with the offer); the case
    goes back to dispatching."""
    holder = case.assigned_physician_id
    accepted = session.scalar(
        select(Offer).where(Offer.case_id == case.id, Offer.state == OfferState.accepted).with_for_update()
    )
    if accepted is not None:
        accepted.state = OfferState.withdrawn
    case.assigned_physician_id = None
    case.visiting_area_id = None
    transition(
        session,
        case,
        CaseState.dispatching,
        actor=actor,
        clock=clock,
        reason=Why.reassigned_by_hand,
        data={"relieved_physician_id": holder},
    )
    physician = session.get(Physician, holder) if holder else None
    if physician is not None and physician.phone_e164:
        queue_sms(
            session, clock, physician.phone_e164, protocol.relieved_text(case.id), "relieved", case_id=case.id
        )


def _travel_min(
    session: Session, clock: Clock, case: Case, physician_id: int, estimate: TravelEstimate | None
) -> float:
    """The estimate from the physician's whereabouts to the patient (the family's arrival time is told from
    it); UNKNOWN_TRAVEL_MIN if the roster knows neither their base nor a visit tonight."""
    found = travel_min_for(session, case, physician_id, clock.now(), estimate) if estimate else None
    return UNKNOWN_TRAVEL_MIN if found is None else found


def offer_to(
    session: Session,
    clock: Clock,
    case_id: int,
    physician_id: int,
    actor: Actor,
    holder: int | None = None,
    estimate: TravelEstimate | None = None,
) -> SmsMessage:
    """Offer the case to this physician now (even one who declined before); returns its SMS, claimed for
    the caller to send once this commits. `holder` as for `assign`: the physician it relieves, if any. The
    case is taken back as `_prepare` does, the drive estimated, the physician's area named when they back
    it up; `assign` records a yes given on the phone through the same offer."""
    case = _prepare(session, clock, case_id, physician_id, actor, holder)
    travel = _travel_min(session, clock, case, physician_id, estimate)
    return service.make_offer(
        session,
        clock,
        case,
        physician_id=physician_id,
        travel_min=travel,
        manual=True,
        from_area_id=backup_area(session, case, physician_id, clock.now()),
    )


def assign(
    session: Session,
    clock: Clock,
    case_id: int,
    physician_id: int,
    actor: Actor,
    reason: str,
    secret: str,
    base_url: str,
    holder: int | None = None,
    estimate: TravelEstimate | None = None,
) -> Case:
    """The coordinator arranged the visit by phone: record the acceptance and send the details link. `holder`
    is the physician the coordinator saw holding the case (None: nobody); another holder is AlreadyAssigned.
    `estimate`: the travel estimate the family's arrival time is told from."""
    message = offer_to(session, clock, case_id, physician_id, actor, holder, estimate)
    message.status = "withdrawn"  # the physician already said yes on the phone: no offer SMS
    offer_id = message.offer_id
    assert offer_id is not None  # the SMS of the offer just made
    case = service.accept(session, clock, offer_id, actor)
    record_event(
        session,
        case,
        "assigned.by_hand",
        actor=actor,
        clock=clock,
        reason=reason,
        data={"physician_id": physician_id, "offer_id": offer_id},
    )
    physician = session.get_one(Physician, physician_id)
    text = protocol.accepted_text(case.id, visit_url(base_url, secret, session.get_one(Offer, offer_id)))
    queue_sms(session, clock, physician.sms_phone(), text, "details_link", case_id=case.id, offer_id=offer_id)
    return case
