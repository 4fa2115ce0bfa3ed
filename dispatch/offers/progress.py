"""The physician's progress on an accepted case: on the way, arrived, done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState
from dispatch.clock import Clock
from dispatch.family import service as family
from dispatch.sms.protocol import Intent

TARGET = {
    Intent.en_route: CaseState.en_route,
    Intent.arrived: CaseState.on_scene,
    Intent.completed: CaseState.visit_completed,
}
# Where each step may come from; a repeat of the step already taken is a harmless no-op.
FROM = {
    Intent.en_route: {CaseState.accepted},
    Intent.arrived: {CaseState.accepted, CaseState.en_route},
    Intent.completed: {CaseState.on_scene},
}

# The visit's states in order: a step whose state the case is already beyond was overtaken.
STEPS = (CaseState.accepted, CaseState.en_route, CaseState.on_scene, CaseState.visit_completed)


class ProgressRefused(Exception):
    """The step does not fit where the case is (e.g. 完了 before 到着)."""


def active_case(session: Session, physician_id: int, case_id: int | None = None) -> Case | None:
    """The case the physician holds now (they hold at most one)."""
    query = select(Case).where(Case.assigned_physician_id == physician_id, Case.state.in_(ACTIVE_VISIT_STATES))
    if case_id is not None:
        query = query.where(Case.id == case_id)
    return session.scalar(query.with_for_update())


def overtaken(case: Case, intent: Intent) -> bool:
    """Whether the case is already beyond the state the step `intent` moves it to."""
    return STEPS.index(case.state) > STEPS.index(TARGET[intent])


def report(session: Session, clock: Clock, case: Case, intent: Intent, actor: Actor) -> Case:
    """Record a step; repeating the last one changes nothing."""
    target = TARGET[intent]
    if case.state is target:
        return case
    if case.state not in FROM[intent]:
        raise ProgressRefused(f"case {case.reference} is {case.state.value}")
    transition(
        session, case, target, actor=actor, clock=clock, reason=Why(f"physician reported {intent.value}")
    )
    if target is CaseState.on_scene:
        case.arrived_at = clock.now()
    elif target is CaseState.en_route:
        family.on_departed(session, clock, case)
    return case
