"""Recording a visit's outcome: it completes the visit, and a death at home keeps its death record. Every
correction of a recorded outcome (before closing, or an amendment after) keeps the version it replaced."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, record_event, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState
from dispatch.clock import Clock
from dispatch.db import Base
from dispatch.hospitals.models import Hospital
from dispatch.hospitals.service import destination, take_bed
from dispatch.outcomes.enrolment_endings import sync_death_ending
from dispatch.outcomes.models import DeathRecord, OutcomeAmendment, VisitOutcome
from dispatch.outcomes.notices import notify_clinic_of_outcome
from dispatch.outcomes.schemas import AmendmentIn, AmendmentOut, DeathIn, OutcomeIn, OutcomeOut

# Until the clinic acknowledges the morning handoff the outcome may still be recorded or corrected.
RECORDABLE = (CaseState.on_scene, CaseState.visit_completed, CaseState.handed_off)
# Once a visit has an outcome, a coordinator or admin may amend it, with a reason, closed or not.
AMENDABLE = (CaseState.visit_completed, CaseState.handed_off, CaseState.closed)
CORRECTION = "訂正"  # the reason kept for a correction before closing that gave none
OUTCOME_FIELDS = tuple(name for name in OutcomeIn.model_fields if name != "death")


class OutcomeClosed(TransitionNotAllowed):
    """The case is closed: its outcome changes only by an amendment, with a reason."""

    def __str__(self) -> str:
        return (
            f"case {self.case_id} is closed, so its outcome can no longer be recorded or corrected here; "
            f"a coordinator (or an admin) can amend it, with a reason, at "
            f"POST /api/v1/cases/{self.case_id}/outcome/amendments"
        )


class NotAmendable(Exception):
    """The case has no recorded outcome to amend (yet), or no physician to confirm a death."""


def record(
    session: Session,
    clock: Clock,
    case_id: int,
    data: OutcomeIn,
    actor: Actor,
    *,
    base_url: str,
    reason: str | None = None,
) -> Case:
    """Write (or correct) the outcome; a case still on scene becomes visit_completed."""
    case = _locked_case(session, case_id)
    if case.state is CaseState.closed:
        raise OutcomeClosed(case.id, case.state, CaseState.visit_completed)
    if case.state not in RECORDABLE:
        raise TransitionNotAllowed(case.id, case.state, CaseState.visit_completed)
    before = snapshot(session, case.id)
    _write(session, clock, case, data, actor)
    if case.state is CaseState.on_scene:
        transition(
            session,
            case,
            CaseState.visit_completed,
            actor=actor,
            clock=clock,
            reason=Why.outcome_recorded,
            data={"outcome": data.outcome.value},
        )
    elif before is None:  # the visit was completed by SMS or the progress buttons, without an outcome
        record_event(
            session, case, "outcome.recorded", actor=actor, clock=clock, data={"outcome": data.outcome.value}
        )
    else:
        kept = _keep(session, clock, case, before, actor, reason or CORRECTION)
        record_event(
            session, case, "outcome.corrected", actor=actor, clock=clock, reason=kept.reason, data=_facts(kept)
        )
    _after_change(session, clock, case, actor, base_url=base_url)
    return case


def amend(
    session: Session, clock: Clock, case_id: int, data: AmendmentIn, *, user: User, base_url: str
) -> OutcomeAmendment:
    """Correct a recorded outcome and death record, with a reason; the version it replaces is kept."""
    actor = Actor(f"user:{user.username}", user.id)
    case = _locked_case(session, case_id)
    if case.state not in AMENDABLE:
        raise NotAmendable(
            f"case {case.id} is {case.state.value}: only a visit with an outcome "
            "(visit_completed, handed_off or closed) can be amended"
        )
    before = snapshot(session, case.id)
    if before is None:
        raise NotAmendable(
            f"case {case.id} has no outcome to amend yet; record it at POST /api/v1/cases/{case.id}/outcome"
        )
    _write(session, clock, case, data, actor)
    kept = _keep(session, clock, case, before, actor, data.reason)
    record_event(
        session, case, "outcome.amended", actor=actor, clock=clock, reason=kept.reason, data=_facts(kept)
    )
    audit.record(
        session,
        clock,
        user,
        "case.outcome.amend",
        patient_id=case.patient_id,
        case_id=case.id,
        detail=_facts(kept),
    )
    _after_change(session, clock, case, actor, base_url=base_url)
    return kept


def _after_change(session: Session, clock: Clock, case: Case, actor: Actor, *, base_url: str) -> None:
    """What follows every change of a case's outcome or death record, first or corrected (record and
    amend both end here): the enrolment ended (or reopened) by a death at home, the attending clinic told
    of a death or an admission."""
    sync_death_ending(session, clock, case.id, actor)
    notify_clinic_of_outcome(session, clock, case, base_url=base_url)
    session.flush()


def _locked_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(case_id)
    return case


def _write(session: Session, clock: Clock, case: Case, data: OutcomeIn, actor: Actor) -> None:
    """Make the visit_outcome and death_record rows hold `data` (the death record added, changed or removed)."""
    hospital = destination(session, data.destination_hospital_id) if data.destination_hospital_id else None
    outcome = session.get(VisitOutcome, case.id) or VisitOutcome(case_id=case.id)
    destination_before = outcome.destination_hospital_id
    for field in OUTCOME_FIELDS:
        setattr(outcome, field, getattr(data, field))
    outcome.recorded_by, outcome.recorded_at = actor.label, clock.now()
    session.add(outcome)
    session.flush()
    existing = session.get(DeathRecord, case.id)
    if existing is not None and data.death is None:
        session.delete(existing)
    if data.death is not None:
        # The physician who came confirms the death (on scene or after, the case has them).
        physician_id = case.assigned_physician_id or (existing.confirming_physician_id if existing else None)
        if physician_id is None:
            raise NotAmendable(f"case {case.id} has no visiting physician to have confirmed a death")
        death = existing or DeathRecord(case_id=case.id)
        for field in DeathIn.model_fields:
            setattr(death, field, getattr(data.death, field))
        death.confirming_physician_id = physician_id
        session.add(death)
    if hospital is not None and hospital.id != destination_before:
        _took_bed(session, clock, case, hospital, actor)
    session.flush()


def _keep(
    session: Session, clock: Clock, case: Case, before: dict[str, Any], actor: Actor, reason: str
) -> OutcomeAmendment:
    """Keep the version just replaced beside the one now in force."""
    kept = OutcomeAmendment(
        case_id=case.id,
        amended_at=clock.now(),
        amended_by=actor.label,
        amended_by_user_id=actor.user_id,
        reason=reason,
        before=before,
        after=snapshot(session, case.id),
    )
    session.add(kept)
    session.flush()
    return kept


def _facts(kept: OutcomeAmendment) -> dict[str, Any]:
    """What a timeline event or audit entry says of an amendment: ids and codes, no findings."""
    had, has = kept.before["death"], kept.after["death"]
    if had is None:
        death = "none" if has is None else "added"
    else:
        death = "removed" if has is None else "changed" if had != has else "kept"
    return {
        "amendment_id": kept.id,
        "outcome_before": kept.before["outcome"],
        "outcome": kept.after["outcome"],
        "death_record": death,
    }


def _columns(row: Base) -> dict[str, Any]:
    """A row's values as JSON (times as ISO 8601, enums as their codes), without its key to the case."""
    values: dict[str, Any] = {}
    for attr in inspect(type(row)).column_attrs:
        if attr.key == "case_id":
            continue
        value = getattr(row, attr.key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        values[attr.key] = value
    return values


def snapshot(session: Session, case_id: int) -> dict[str, Any] | None:
    """The outcome in force with its death record (or null under "death"), as kept in an amendment."""
    outcome = session.get(VisitOutcome, case_id)
    if outcome is None:
        return None
    death = session.get(DeathRecord, case_id)
    return {**_columns(outcome), "death": _columns(death) if death is not None else None}


def amendments(session: Session, case_id: int) -> list[AmendmentOut]:
    """Every kept version of a case's outcome, oldest first, with who made each change."""
    rows = session.execute(
        select(OutcomeAmendment, User.display_name)
        .outerjoin(User, User.id == OutcomeAmendment.amended_by_user_id)
        .where(OutcomeAmendment.case_id == case_id)
        .order_by(OutcomeAmendment.id)
    ).all()
    return [amendment_out(kept, name) for kept, name in rows]


def amendment_out(kept: OutcomeAmendment, amended_by_name: str | None) -> AmendmentOut:
    """An amendment as the API shows it."""
    return AmendmentOut.model_validate(kept).model_copy(update={"amended_by_name": amended_by_name})


def _took_bed(session: Session, clock: Clock, case: Case, hospital: Hospital, actor: Actor) -> None:
    """A transport to a hospital takes one of tonight's free backup beds there, and the timeline says so."""
    taken = take_bed(session, clock, hospital, by=actor.label, reference=case.reference)
    if taken is not None:
        data = {"hospital_id": hospital.id, "hospital_name": hospital.name, "free": taken.free}
        reason = f"backup bed taken at {hospital.name} ({taken.free} free tonight)"
        record_event(session, case, "backup_bed.taken", actor=actor, clock=clock, reason=reason, data=data)


def read(session: Session, case_id: int) -> OutcomeOut | None:
    """The recorded outcome, with its death record, if any."""
    outcome = session.get(VisitOutcome, case_id)
    if outcome is None:
        return None
    death = session.get(DeathRecord, case_id)
    hospital = (
        session.get(Hospital, outcome.destination_hospital_id) if outcome.destination_hospital_id else None
    )
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
        destination_hospital_id=outcome.destination_hospital_id,
        destination_note=outcome.destination_note,
        destination_hospital_name=hospital.name if hospital else None,
        death=DeathIn.model_validate(death, from_attributes=True) if death else None,
    )
