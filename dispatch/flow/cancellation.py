"""Cancelling a case: its pending offer withdrawn, the physician already on it told, the case closed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, transition
from dispatch.cases.models import Case
from dispatch.cases.service import CaseNotVisible
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState, can_transition
from dispatch.clock import Clock
from dispatch.offers.service import withdraw
from dispatch.roster.models import Physician
from dispatch.sms.protocol import withdrawn_text
from dispatch.sms.service import queue_sms


def cancel(session: Session, clock: Clock, user: User, case_id: int, reason: str) -> Case:
    """Cancel an open case with a reason (e.g. the caller rang back: the attending physician came)."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise CaseNotVisible(case_id)
    if not can_transition(case.state, CaseState.cancelled):
        raise TransitionNotAllowed(case.id, case.state, CaseState.cancelled)
    withdraw(session, clock, case, "case cancelled")
    if case.state in ACTIVE_VISIT_STATES and case.assigned_physician_id is not None:
        physician = session.get_one(Physician, case.assigned_physician_id)
        queue_sms(session, clock, physician.sms_phone(), withdrawn_text(case.id), "withdrawn", case_id=case.id)
    transition(
        session,
        case,
        CaseState.cancelled,
        actor=Actor(f"user:{user.username}", user.id),
        clock=clock,
        reason=reason,
    )
    return case
