"""The case lifecycle on the database: every allowed move is recorded with its event, every other refused;
timelines and the audit log cannot be rewritten."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from dispatch.audit import service as audit
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, record_event, transition
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.states import ALLOWED_TRANSITIONS, TERMINAL_STATES, CaseState
from dispatch.programme.models import Programme

ALL_PAIRS = list(itertools.product(CaseState, CaseState))
ACTOR = Actor(label="user:test")


def _case(session, clock, state: CaseState) -> Case:
    programme = session.scalar(select(Programme))
    now = clock.now()
    case = Case(
        programme_id=programme.id,
        state=state,
        called_at=now,
        in_service_hours=True,
        service_hours_rule_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return case


def test_the_lifecycle_matches_the_design():
    S = CaseState
    assert ALLOWED_TRANSITIONS[S.triaging] >= {S.closed_consultation, S.dispatching}
    assert S.accepted in ALLOWED_TRANSITIONS[S.offered]
    assert S.dispatching in ALLOWED_TRANSITIONS[S.offered]  # declined or timed out
    assert S.offered in ALLOWED_TRANSITIONS[S.unfilled]  # offering goes on
    assert {S.closed, S.closed_consultation, S.cancelled, S.referred_ems} == TERMINAL_STATES
    chain = [
        S.dispatching,
        S.offered,
        S.accepted,
        S.en_route,
        S.on_scene,
        S.visit_completed,
        S.handed_off,
        S.closed,
    ]
    assert all(b in ALLOWED_TRANSITIONS[a] for a, b in itertools.pairwise(chain))


def test_every_pair_of_states_is_allowed_or_refused_as_the_lifecycle_says(services, demo_logins):
    allowed = refused = 0
    with services.session_factory() as session:
        for current, target in ALL_PAIRS:
            case = _case(session, services.clock, current)
            if target in ALLOWED_TRANSITIONS[current]:
                event = transition(session, case, target, actor=ACTOR, clock=services.clock, reason="t")
                assert (event.from_state, event.to_state, case.state) == (current, target, target)
                assert (case.closed_at is not None) == (target in TERMINAL_STATES)
                allowed += 1
            else:
                with pytest.raises(TransitionNotAllowed) as raised:
                    transition(session, case, target, actor=ACTOR, clock=services.clock)
                assert raised.value.current is current
                assert case.state is current
                refused += 1
        session.commit()
        events = session.scalar(select(text("count(*)")).select_from(CaseEvent))
    assert allowed == sum(len(t) for t in ALLOWED_TRANSITIONS.values()) == events
    assert refused == len(ALL_PAIRS) - allowed


def test_events_say_who_when_from_to_and_why(services, demo_logins):
    with services.session_factory() as session:
        case = _case(session, services.clock, CaseState.received)
        transition(
            session,
            case,
            CaseState.triage_pending,
            actor=Actor("user:operator", None),
            clock=services.clock,
            reason="logged",
        )
        record_event(session, case, "note", actor=Actor.system("reconciler"), clock=services.clock, reason="x")
        session.commit()
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
        rows = [(e.kind, e.actor, e.from_state, e.to_state, e.reason, e.at) for e in events]
    now = services.clock.now()
    assert rows == [
        ("transition", "user:operator", CaseState.received, CaseState.triage_pending, "logged", now),
        ("note", "system:reconciler", CaseState.triage_pending, CaseState.triage_pending, "x", now),
    ]


def test_the_database_refuses_an_impossible_state(services, demo_logins):
    with services.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text(
                'INSERT INTO "case" (programme_id, state, version, called_at, in_service_hours, '
                "service_hours_rule_version, intake, escalation_policy, created_at, updated_at) "
                "VALUES (1, 'teleported', 1, '2025-01-01', true, 1, '{}', '{}', '2025-01-01', '2025-01-01')"
            )
        )


@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
@pytest.mark.parametrize(("table", "column"), [("case_event", "reason"), ("audit_log", "action")])
def test_timelines_and_the_audit_log_are_append_only(services, demo_logins, statement, table, column):
    with services.session_factory() as session:
        case = _case(session, services.clock, CaseState.received)
        transition(session, case, CaseState.triage_pending, actor=ACTOR, clock=services.clock)
        audit.record(session, services.clock, None, "test.read", case_id=case.id)
        session.commit()
    with services.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement.format(t=table, c=column)))
