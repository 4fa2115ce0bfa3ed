"""Moving a case between states: checked against the lifecycle, recorded with its event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.reasons import with_code
from dispatch.cases.states import TERMINAL_STATES, CaseState, can_transition
from dispatch.clock import Clock
from dispatch.outbox import defer_event


class TransitionNotAllowed(Exception):
    """The lifecycle forbids this move; carries the state the case is really in."""

    def __init__(self, case_id: int, current: CaseState, target: CaseState) -> None:
        super().__init__(f"case {case_id} is {current.value}; it cannot move to {target.value}")
        self.case_id = case_id
        self.current = current
        self.target = target


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a logged-in user or a part of the system."""

    label: str  # "user:op1", "system:reconciler", "sms:+8190..."
    user_id: int | None = None

    @classmethod
    def system(cls, part: str) -> Actor:
        return cls(label=f"system:{part}")


def transition(
    session: Session,
    case: Case,
    target: CaseState,
    *,
    actor: Actor,
    clock: Clock,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move `case` to `target` and append the event; the caller's transaction commits both."""
    current = case.state
    if not can_transition(current, target):
        raise TransitionNotAllowed(case.id, current, target)
    now = clock.now()
    reason, data = with_code(reason, data)
    case.state = target
    case.updated_at = now
    if target in TERMINAL_STATES:
        case.closed_at = now
    event = CaseEvent(
        case_id=case.id,
        at=now,
        kind="transition",
        from_state=current,
        to_state=target,
        actor=actor.label,
        actor_user_id=actor.user_id,
        reason=reason,
        data=data,
    )
    session.add(event)
    session.flush()
    defer_event(session, event_payload(case, event))
    return event


def event_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    """What live consoles receive: ids, states and times, never patient data."""
    return {
        "event_id": event.id,
        "case_id": case.id,
        "programme_id": case.programme_id,  # whose area: an area coordinator's stream carries theirs only
        "reference": case.reference,
        "kind": event.kind,
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value if event.to_state else None,
        "state": (event.to_state or case.state).value,
        "at": event.at.isoformat(),
        "actor": event.actor,
    }


def record_event(
    session: Session,
    case: Case,
    kind: str,
    *,
    actor: Actor,
    clock: Clock,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append a non-transition event (a note, an SMS sent, an alert) to the case's timeline."""
    reason, data = with_code(reason, data)
    event = CaseEvent(
        case_id=case.id,
        at=clock.now(),
        kind=kind,
        from_state=case.state,
        to_state=case.state,
        actor=actor.label,
        actor_user_id=actor.user_id,
        reason=reason,
        data=data,
    )
    session.add(event)
    session.flush()
    defer_event(session, event_payload(case, event))
    return event
