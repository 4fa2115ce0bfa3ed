"""Ending an enrolment (death, admission, a move, withdrawal, the contract's end) and reopening one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import Role, User
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.patients.models import EndReason, Enrolment
from dispatch.programme.models import Programme


class EnrolmentNotFound(LookupError):
    """No such enrolment of this patient, or not one this user may see."""


class EndingConflict(Exception):
    """The enrolment is not in a state that allows this (already ended, not ended, ended by a death record)."""


class EndingRejected(ValueError):
    """The ending as given is impossible; the message names the field."""


def programme_timezone(session: Session, clinic_id: int) -> str:
    """The time zone of the programme the clinic belongs to."""
    tz = session.scalar(
        select(Programme.timezone)
        .join(Clinic, Clinic.programme_id == Programme.id)
        .where(Clinic.id == clinic_id)
    )
    return tz or "Asia/Tokyo"


def end_of_day(day: date, tz: str) -> datetime:
    """The instant after the last covered day `day`: local midnight starting the next day, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(tz)).astimezone(UTC)


def visible_enrolment(session: Session, user: User, patient_id: int, enrolment_id: int) -> Enrolment:
    """The patient's enrolment, locked, if this user may act on it (a clinic admin: their own clinic's)."""
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=True, populate_existing=True)
    if enrolment is None or enrolment.patient_id != patient_id:
        raise EnrolmentNotFound(enrolment_id)
    if user.role is Role.clinic_admin and enrolment.clinic_id != user.clinic_id:
        raise EnrolmentNotFound(enrolment_id)
    return enrolment


def end(
    session: Session,
    clock: Clock,
    user: User,
    *,
    patient_id: int,
    enrolment_id: int,
    ended_on: date,
    reason: EndReason,
    note: str | None = None,
) -> Enrolment:
    """End the enrolment after its last covered day `ended_on`; audited."""
    enrolment = visible_enrolment(session, user, patient_id, enrolment_id)
    if enrolment.ended_at is not None:
        raise EndingConflict(
            f"enrolment {enrolment_id} ended already on {enrolment.ended_on}; reopen it first to end it again"
        )
    tz = programme_timezone(session, enrolment.clinic_id)
    today = clock.now().astimezone(ZoneInfo(tz)).date()
    if ended_on < enrolment.enrolled_on:
        raise EndingRejected(f"ended_on: {ended_on} is before the enrolment began ({enrolment.enrolled_on})")
    if ended_on > today:
        raise EndingRejected(f"ended_on: {ended_on} is in the future (today is {today}); end it on the day")
    enrolment.ended_on, enrolment.ended_at, enrolment.end_reason = ended_on, end_of_day(ended_on, tz), reason
    enrolment.ended_by_case_id = None
    session.flush()
    detail = {"enrolment_id": enrolment.id, "reason": reason.value, "ended_on": ended_on.isoformat()}
    if note:
        detail["note"] = note
    audit.record(session, clock, user, "patient.enrolment.end", patient_id=patient_id, detail=detail)
    return enrolment


def reopen(
    session: Session, clock: Clock, user: User, *, patient_id: int, enrolment_id: int, reason: str
) -> Enrolment:
    """Undo an ending given by hand (a death recorded on a case is undone by correcting that outcome)."""
    enrolment = visible_enrolment(session, user, patient_id, enrolment_id)
    if enrolment.ended_at is None:
        raise EndingConflict(f"enrolment {enrolment_id} has not ended")
    if enrolment.ended_by_case_id is not None:
        raise EndingConflict(
            f"enrolment {enrolment_id} was ended by the death record of case #K{enrolment.ended_by_case_id}; "
            "correct that case's outcome instead"
        )
    was = {
        "reason": enrolment.end_reason.value if enrolment.end_reason else None,
        "ended_on": str(enrolment.ended_on),
    }
    enrolment.ended_on = enrolment.ended_at = enrolment.end_reason = None
    session.flush()
    audit.record(
        session,
        clock,
        user,
        "patient.enrolment.reopen",
        patient_id=patient_id,
        detail={"enrolment_id": enrolment.id, "reason": reason, "was": was},
    )
    return enrolment
