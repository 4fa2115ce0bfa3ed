"""A death at home ends the patient's enrolment at the confirmed time of death; a death record withdrawn
reopens it. Safe to call after any change to an outcome: it makes the enrolment agree with the record."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.clock import Clock
from dispatch.outcomes.models import DeathRecord, OutcomeCode, VisitOutcome
from dispatch.patients.endings import programme_timezone
from dispatch.patients.models import EndReason, Enrolment


def sync_death_ending(session: Session, clock: Clock, case_id: int, actor: Actor) -> None:
    """End (or move, or reopen) the enrolment the case's death record ends; a timeline event per change."""
    case = session.get(Case, case_id)
    if case is None:
        return
    outcome = session.get(VisitOutcome, case_id)
    death = session.get(DeathRecord, case_id)
    if outcome is None or outcome.outcome is not OutcomeCode.death_pronounced:
        death = None
    target: Enrolment | None = None
    if death is not None and case.patient_id is not None and case.clinic_id is not None:
        tz = programme_timezone(session, case.clinic_id)
        died_on = death.confirmed_at.astimezone(ZoneInfo(tz)).date()
        target = session.scalars(
            select(Enrolment)
            .where(
                Enrolment.patient_id == case.patient_id,
                Enrolment.clinic_id == case.clinic_id,
                Enrolment.enrolled_on <= died_on,
                or_(Enrolment.ended_at.is_(None), Enrolment.ended_by_case_id == case.id),
            )
            .order_by(Enrolment.enrolled_on.desc())
            .with_for_update()
        ).first()
        if target is not None and (target.ended_at != death.confirmed_at or target.ended_by_case_id != case.id):
            moved = target.ended_by_case_id == case.id
            target.ended_on, target.ended_at, target.end_reason = (
                died_on,
                death.confirmed_at,
                EndReason.deceased,
            )
            target.ended_by_case_id = case.id
            record_event(
                session,
                case,
                "enrolment.ending_moved" if moved else "enrolment.ended",
                actor=actor,
                clock=clock,
                reason=Why.death_at_home,
                data={
                    "enrolment_id": target.id,
                    "reason": "deceased",
                    "ended_at": death.confirmed_at.isoformat(),
                },
            )
    for earlier in session.scalars(
        select(Enrolment).where(Enrolment.ended_by_case_id == case.id).with_for_update()
    ):
        if earlier is target:
            continue
        earlier.ended_on = earlier.ended_at = earlier.end_reason = earlier.ended_by_case_id = None
        record_event(
            session,
            case,
            "enrolment.reopened",
            actor=actor,
            clock=clock,
            reason=Why.death_record_withdrawn,
            data={"enrolment_id": earlier.id},
        )
    session.flush()
