"""A matching round: every waiting case offered to the physician the policy picks, in one transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import transition
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState
from dispatch.clock import Clock, ManualClock
from dispatch.matching.candidates import available_physicians, estimator_for, waiting_cases
from dispatch.matching.picker import picker
from dispatch.matching.policy import Policy, least_total_travel
from dispatch.offers.service import MATCHING, OfferFacts, alert_coordinator, lock_programme, make_offer
from dispatch.programme.models import Programme
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.sms.models import SmsMessage

REALERT_AFTER = timedelta(minutes=15)


def match_round(
    session: Session, clock: Clock, reference: ProgrammeSnapshot, policy: Policy = least_total_travel
) -> list[SmsMessage]:
    """Offer every waiting case to the physician the policy picks; returns the offer SMS, written claimed.

    The caller sends them right after the commit (no send job is queued; the reconciler sends any left)."""
    lock_programme(session, reference.id)
    waiting = waiting_cases(session)
    if not waiting:
        return []
    clock = ManualClock(clock.now())  # a round happens at one instant (and reads the clock once)
    now = clock.now()
    # Only physicians who cover a waiting case's town can be offered one (any, for a case of no known town).
    towns = {w.view.municipality_id for w in waiting}
    known_towns = {town for town in towns if town is not None}
    physicians, phones = available_physicians(session, now, None if None in towns else known_towns)
    matches = policy([w.view for w in waiting], physicians, estimator_for(reference))
    messages = []
    for w in waiting:
        case, match = w.case, matches.get(w.case.id)
        if match is not None:
            known = OfferFacts(w.offers_so_far + 1, phones[match.physician_id], w.town)
            messages.append(
                make_offer(
                    session,
                    clock,
                    case,
                    physician_id=match.physician_id,
                    travel_min=match.travel_min,
                    known=known,
                )
            )
        else:
            case.last_matched_at = now
            if case.state is CaseState.dispatching:
                transition(
                    session,
                    case,
                    CaseState.unfilled,
                    actor=MATCHING,
                    clock=clock,
                    reason=Why.no_physician_available,
                )
            # One alert per quarter hour while nobody can be found; offering goes on meanwhile. It says why.
            if case.coordinator_alerted_at is None or now - case.coordinator_alerted_at >= REALERT_AFTER:
                programme = session.get_one(Programme, reference.id)
                stopped = picker(session, case, now, estimator_for(reference)).offering_stopped
                reason = stopped.detail if stopped else Why.no_physician_found
                alert_coordinator(session, clock, programme, case, reason)
    return messages
