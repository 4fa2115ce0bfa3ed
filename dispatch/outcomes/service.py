"""Recording a visit's outcome: it completes the visit, and a death at home keeps its death record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, record_event, transition
from dispatch.cases.models import Case
from dispatch.cases.states import CaseState
from dispatch.clock import Clock
from dispatch.outcomes.enrolment_endings import sync_death_ending
from dispatch.outcomes.models import DeathRecord, VisitOutcome
from dispatch.outcomes.schemas import DeathIn, OutcomeIn, OutcomeOut

# Until the clinic acknowledges the morning handoff the outcome may still be recorded or corrected.
RECORDABLE = (CaseState.on_scene, CaseState.visit_completed, CaseState.handed_off)


def record(session: Session, clock: Clock, case_id: int, data: OutcomeIn, actor: Actor) -> Case:
    """Write (or correct) the outcome; a case still on scene becomes visit_completed."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(case_id)
    if case.state not in RECORDABLE:
        raise TransitionNotAllowed(case.id, case.state, CaseState.visit_completed)
    outcome = session.get(VisitOutcome, case.id) or VisitOutcome(case_id=case.id)
    for field in ("outcome", "findings", "treatment", "medication", "departed_at", "arrived_at", "ended_at"):
        setattr(outcome, field, getattr(data, field))
    outcome.recorded_by, outcome.recorded_at = actor.label, clock.now()
    session.add(outcome)
    session.flush()
    existing = session.get(DeathRecord, case.id)
    if existing is not None and data.death is None:
        session.delete(existing)
    if data.death is not None:
        death = existing or DeathRecord(case_id=case.id)
        for field in DeathIn.model_fields:
            setattr(death, field, getattr(data.death, field))
        # On scene or after, the case has the physician who came (RECORDABLE states only).
        assert case.assigned_physician_id is not None
        death.confirming_physician_id = case.assigned_physician_id
        session.add(death)
    if case.state is CaseState.on_scene:
        transition(
            session,
            case,
            CaseState.visit_completed,
            actor=actor,
            clock=clock,
            reason="outcome recorded",
            data={"outcome": data.outcome.value},
        )
    else:
        record_event(
            session, case, "outcome.corrected", actor=actor, clock=clock, data={"outcome": data.outcome.value}
        )
    sync_death_ending(session, clock, case.id, actor)
    session.flush()
    return case


def read(session: Session, case_id: int) -> OutcomeOut | None:
    """The recorded outcome, with its death record, if any."""
    outcome = session.get(VisitOutcome, case_id)
    if outcome is None:
        return None
    death = session.get(DeathRecord, case_id)
    return OutcomeOut(
        case_id=case_id,
        outcome=outcome.outcome,
        findings=outcome.findings,
        treatment=outcome.treatment,
        medication=outcome.medication,
        departed_at=outcome.departed_at,
        arrived_at=outcome.arrived_at,
        ended_at=outcome.ended_at,
        recorded_by=outcome.recorded_by,
        recorded_at=outcome.recorded_at,
        death=DeathIn.model_validate(death, from_attributes=True) if death else None,
    )
