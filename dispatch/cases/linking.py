"""Linking an unidentified call to its patient afterwards: the case then belongs to the clinic whose
enrolment covered the call at its time, and counts for it if that clinic's contract covered the day."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.cases.intake import covering_enrolment
from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case
from dispatch.clock import Clock
from dispatch.patients.scope import patient_visible
from dispatch.programme.models import Programme


class LinkRefused(Exception):
    """The case cannot be linked (it has a patient already); a 409."""


class LinkRejected(ValueError):
    """No such patient (none the user may see); a 422 naming the field."""


def link_patient(
    session: Session, clock: Clock, user: User, *, case_id: int, patient_id: int, reason: str | None = None
) -> Case:
    """Give an unidentified case its patient, clinic and contract as they stood at the call's time."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(case_id)
    if case.patient_id is not None:
        raise LinkRefused(
            f"case {case.reference} already has a patient; only an unidentified case can be linked"
        )
    if not patient_visible(session, user, patient_id):  # another area's answers as one that does not exist
        raise LinkRejected(f"patient_id: no patient {patient_id}")
    programme = session.get(Programme, case.programme_id)
    coverage = covering_enrolment(
        session, patient_id, case.called_at, programme.timezone if programme else "Asia/Tokyo"
    )
    was = {"clinic_id": case.clinic_id, "in_contract": case.in_contract}
    case.patient_id = patient_id
    case.clinic_id = coverage.clinic_id
    if case.municipality_id is None:
        case.municipality_id = coverage.municipality_id
    case.in_contract = coverage.in_contract
    case.updated_at = clock.now()
    if coverage.enrolment_ended:
        case.intake = {**case.intake, "enrolment_ended": coverage.enrolment_ended}
    data = {
        "patient_id": patient_id,
        "clinic_id": coverage.clinic_id,
        "in_contract": coverage.in_contract,
        "was": was,
    }
    record_event(
        session,
        case,
        "patient.linked",
        actor=Actor(f"user:{user.username}", user.id),
        clock=clock,
        reason=reason,
        data=data,
    )
    audit.record(session, clock, user, "case.patient.link", patient_id=patient_id, case_id=case.id)
    return case
