"""Linking an unidentified call to its patient afterwards, with what follows from the case's outcome: a death at
home recorded before the patient was known ends their enrolment once they are."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.cases import linking
from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.clock import Clock
from dispatch.outcomes.enrolment_endings import sync_death_ending

LinkRefused = linking.LinkRefused
LinkRejected = linking.LinkRejected


def link_patient(
    session: Session, clock: Clock, user: User, *, case_id: int, patient_id: int, reason: str | None = None
) -> Case:
    """Give an unidentified case its patient, then bring the enrolment in line with its outcome."""
    case = linking.link_patient(session, clock, user, case_id=case_id, patient_id=patient_id, reason=reason)
    sync_death_ending(session, clock, case.id, Actor(f"user:{user.username}", user.id))
    session.flush()
    return case
