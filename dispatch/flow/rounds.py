"""A matching round: every waiting case of every area offered to the physician the policy picks, in one
transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import transition
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState
from dispatch.clock import Clock, ManualClock
from dispatch.db import plan_for_these_values
from dispatch.matching.areas import area_rules
from dispatch.matching.candidates import available_physicians, towns_for, waiting_cases
from dispatch.matching.picker import picker
from dispatch.matching.policy import Policy, urgency_weighted_travel
from dispatch.matching.roster_now import RosterNow, roster_now
from dispatch.matching.travel import StraightLineEstimate
from dispatch.offers.locks import lock_matching
from dispatch.offers.service import (
    MATCHING,
    OfferFacts,
    Planned,
    alert_coordinator,
    make_offers,
)
from dispatch.programme.models import Programme
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.sms.models import SmsMessage

REALERT_AFTER = timedelta(minutes=15)


def match_round(
    session: Session,
    clock: Clock,
    reference: ProgrammeSnapshot | None = None,
    policy: Policy = urgency_weighted_travel,
    *,
    cross_area: bool = True,
) -> list[SmsMessage]:
    """Offer every waiting case, of every area at once, to the physician the policy picks; returns the offer
    SMS, written claimed. Each case is measured by its own area's estimate and cap; with `cross_area`, the
    physicians on call in its area's neighbours back it up (広域連携). `reference` is not needed any more (each
    case's own programme is read) and is accepted for the callers that pass it.

    The caller sends them right after the commit (no send job is queued; the reconciler sends any left)."""
    lock_matching(session)
    plan_for_these_values(session)
    rules = area_rules(session)
    waiting = waiting_cases(session, rules, cross_area)
    if not waiting:
        return []
    clock = ManualClock(clock.now())  # a round happens at one instant (and reads the clock once)
    now = clock.now()
    # Only physicians on call for a waiting case's town, or anywhere in an area backing one up, can be offered.
    towns, town_area = towns_for(session, waiting)
    physicians, phones = available_physicians(session, now, towns, town_area)
    matches = policy([w.view for w in waiting], physicians, StraightLineEstimate())
    planned = []
    roster: RosterNow | None = None  # read once, for every case whose coordinator is alerted this round
    for w in waiting:
        case, match = w.case, matches.get(w.case.id)
        if match is not None:
            facts = OfferFacts(w.offers_so_far + 1, phones[match.physician_id], w.town)
            planned.append(Planned(case, match.physician_id, match.travel_min, facts, match.from_area_id))
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
                programme = session.get_one(Programme, case.programme_id)
                roster = roster or roster_now(session, now)
                estimate = rules[w.area_id].estimate
                stopped = picker(session, case, now, estimate, cross_area=cross_area, roster=roster)
                reason = stopped.offering_stopped.detail if stopped.offering_stopped else Why.no_physician_found
                alert_coordinator(session, clock, programme, case, reason)
    return make_offers(session, clock, planned) if planned else []
