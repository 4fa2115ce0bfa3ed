"""Ending a case before its visit, with why on the case: the family called 119, the coordinator closed a case
nobody could take, a cancellation (before or after a physician accepted).

One transaction each: the pending offer withdrawn (its physician told), a physician who had accepted or set
off told by SMS, the reason on the case and the transition with its event. Matching rounds wait for it (the
programme's lock, as the coordinator's hand takes), so no round offers the case while it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, record_event, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.service import CaseNotVisible
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseEnding, CaseState, can_transition
from dispatch.clock import Clock
from dispatch.offers.locks import lock_programme
from dispatch.offers.service import withdraw
from dispatch.roster.models import Physician
from dispatch.sms import protocol
from dispatch.sms.service import queue_sms

S = CaseState
# The family called 119 while a physician was being found, was offered the case, or had accepted it.
FAMILY_119_FROM = (S.dispatching, S.offered, S.unfilled, S.accepted, S.en_route)
# Only a case the coordinator was alerted about as unfilled is closed unfilled; one still being offered is not.
CLOSE_UNFILLED_FROM = (S.unfilled,)
CANCELLABLE = tuple(s for s in CaseState if can_transition(s, S.cancelled))
AFTER_ACCEPTANCE = (S.accepted, S.en_route)


class EndingNotAllowed(TransitionNotAllowed):
    """This ending does not fit the case's state: a 409 that names the state and the states it fits."""

    def __init__(self, case: Case, target: CaseState, what: str, allowed: Collection[CaseState]) -> None:
        super().__init__(case.id, case.state, target)
        states = ", ".join(s.value for s in allowed)
        self.detail = f"state: case {case.reference} is {case.state.value}; {what} only a case that is {states}"

    def __str__(self) -> str:
        return self.detail


def _actor(user: User) -> Actor:
    return Actor(f"user:{user.username}", user.id)


def _end(
    session: Session,
    clock: Clock,
    case_id: int,
    *,
    target: CaseState,
    ending: Callable[[Case], CaseEnding],
    allowed: Collection[CaseState],
    what: str,
    reason: str,
    actor: Actor,
    tell: Callable[[int], str],
) -> Case:
    programme_id = session.scalar(select(Case.programme_id).where(Case.id == case_id))
    if programme_id is None:
        raise CaseNotVisible(case_id)
    lock_programme(session, programme_id)  # no matching round offers the case meanwhile
    case = session.get_one(Case, case_id, with_for_update=True, populate_existing=True)
    if case.state not in allowed:
        raise EndingNotAllowed(case, target, what, allowed)
    why = ending(case)
    withdraw(session, clock, case, Why(f"case ended: {why.value}"))
    holder = case.assigned_physician_id if case.state in ACTIVE_VISIT_STATES else None
    if holder is not None:
        physician = session.get_one(Physician, holder)
        if physician.phone_e164:
            queue_sms(session, clock, physician.phone_e164, tell(case.id), "withdrawn", case_id=case.id)
        else:
            record_event(
                session,
                case,
                "physician.not_told",
                actor=actor,
                clock=clock,
                reason=Why.physician_has_no_phone,
                data={"physician_id": holder},
            )
    case.ended_because = why
    transition(
        session,
        case,
        target,
        actor=actor,
        clock=clock,
        reason=reason,
        data={"ended_because": why.value, "physician_told": holder},
    )
    return case


def family_called_119(session: Session, clock: Clock, user: User, case_id: int, reason: str) -> Case:
    """The family called 119 while offers were out or the physician was on the way: `referred_ems`."""
    return _end(
        session,
        clock,
        case_id,
        target=S.referred_ems,
        ending=lambda _case: CaseEnding.family_called_119,
        allowed=FAMILY_119_FROM,
        what="the family calling 119 ends",
        reason=reason,
        actor=_actor(user),
        tell=protocol.family_called_119_text,
    )


def close_unfilled(session: Session, clock: Clock, user: User, case_id: int, reason: str) -> Case:
    """The coordinator closes a case no physician could take: `cancelled`, offering stops."""
    return _end(
        session,
        clock,
        case_id,
        target=S.cancelled,
        ending=lambda _case: CaseEnding.unfilled_closed,
        allowed=CLOSE_UNFILLED_FROM,
        what="closing unfilled ends",
        reason=reason,
        actor=_actor(user),
        tell=protocol.withdrawn_text,
    )


def cancel(session: Session, clock: Clock, user: User, case_id: int, reason: str) -> Case:
    """Cancel an open case with a reason (e.g. the caller rang back: the attending physician came)."""
    return _end(
        session,
        clock,
        case_id,
        target=S.cancelled,
        ending=lambda case: (
            CaseEnding.cancelled_after_acceptance if case.state in AFTER_ACCEPTANCE else CaseEnding.cancelled
        ),
        allowed=CANCELLABLE,
        what="cancelling ends",
        reason=reason,
        actor=_actor(user),
        tell=protocol.withdrawn_text,
    )
