"""Moving a case between states: checked against the lifecycle, recorded with its event."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Update, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from dispatch import bulk
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.reasons import with_code
from dispatch.cases.states import TERMINAL_STATES, CaseState, can_transition
from dispatch.clock import Clock
from dispatch.db import table_of
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


# A case, its target state, the reason and the event's data, and what else is written on the case with the move.
Move = tuple[Case, CaseState, str | None, dict[str, Any] | None, dict[str, Any]]
_CASE = table_of(Case)
_INSERT_EVENTS = insert(table_of(CaseEvent)).returning(table_of(CaseEvent).c.id, sort_by_parameter_order=True)


@functools.cache
def _update_cases(columns: tuple[str, ...]) -> Update:
    """The UPDATE of `transition_all`, built once per set of columns."""
    return (
        update(_CASE)
        .where(_CASE.c.id == bindparam("_id"), _CASE.c.version == bindparam("_seen"))
        .values({name: bindparam(f"_{name}", type_=_CASE.c[name].type) for name in columns})
    )


def transition_all(session: Session, moves: Sequence[Move], *, actor: Actor, clock: Clock) -> list[int]:
    """`transition` for many cases at once (a matching round's offers): the cases written by one statement,
    checked against their versions as the session's own writes are, and their events by another; the events'
    ids. The cases' other changes (the move's last item) go with it; every move of a call sets the same
    columns."""
    session.flush()  # the cases as the session last changed them, and their versions
    now = clock.now()
    params, rows = [], []
    for case, target, reason, data, also in moves:
        current = case.state
        if not can_transition(current, target):
            raise TransitionNotAllowed(case.id, current, target)
        text, data = with_code(reason, data)
        closed = now if target in TERMINAL_STATES else case.closed_at
        values = {"state": target, "updated_at": now, "closed_at": closed, "version": case.version + 1} | also
        params.append({"_id": case.id, "_seen": case.version} | {f"_{k}": v for k, v in values.items()})
        rows.append(
            {
                "case_id": case.id,
                "at": now,
                "kind": "transition",
                "from_state": current,
                "to_state": target,
                "actor": actor.label,
                "actor_user_id": actor.user_id,
                "reason": text,
                "data": data,
            }
        )
    if not moves:
        return []
    columns = tuple(key.removeprefix("_") for key in params[0] if key not in ("_id", "_seen"))
    if bulk.supported(session):
        where = {"id": [p["_id"] for p in params], "version": [p["_seen"] for p in params]}
        changed = bulk.update(
            session, _CASE, where, {name: [p[f"_{name}"] for p in params] for name in columns}
        )
    else:
        changed = cast(CursorResult, session.execute(_update_cases(columns), params)).rowcount
    if changed != len(moves):
        raise StaleDataError("a case changed while it was being offered; the round is rolled back")
    for (case, *_move), written in zip(moves, params, strict=True):
        for name in columns:
            set_committed_value(case, name, written[f"_{name}"])
    if bulk.supported(session):
        event_columns = {key: [row[key] for row in rows] for key in rows[0]}
        by_case = dict(bulk.insert(session, table_of(CaseEvent), event_columns, ("case_id", "id")))
        ids = [by_case[row["case_id"]] for row in rows]  # one move per case
    else:
        ids = list(session.scalars(_INSERT_EVENTS, rows).all())
    for (case, *_rest), event_id, row in zip(moves, ids, rows, strict=True):
        defer_event(session, _payload(case, event_id, row))
    return ids


def _payload(case: Case, event_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """`event_payload` of an event written as a row."""
    return {
        "event_id": event_id,
        "case_id": case.id,
        "reference": case.reference,
        "kind": row["kind"],
        "from_state": row["from_state"].value,
        "to_state": row["to_state"].value,
        "state": row["to_state"].value,
        "at": row["at"].isoformat(),
        "actor": row["actor"],
    }


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
