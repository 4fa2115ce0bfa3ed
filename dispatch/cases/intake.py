"""Logging a call: find the patient, judge the hours and the contract, freeze the policy, queue for triage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from config.settings import Settings
from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, event_payload
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.reasons import Why
from dispatch.cases.schemas import Breathing, Consciousness, IntakeRequest, PatientRef
from dispatch.cases.states import CaseState, Urgency, can_transition
from dispatch.clinics.models import ContractPeriod, contract_covers
from dispatch.clock import Clock, ManualClock
from dispatch.db import table_of
from dispatch.outbox import defer_event
from dispatch.patients import kana
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import Municipality
from dispatch.programme.service import ProgrammeSnapshot

MAX_CALL_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=2)


class IntakeRejected(ValueError):
    """The call cannot be logged as given; `field` says which part is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def find_patient_id(session: Session, ref: PatientRef) -> int | None:
    """The id of the patient the operator identified, or None for an unidentified caller."""
    if ref.unidentified:
        return None
    if ref.patient_id is not None:
        return ref.patient_id  # checked by `covering_enrolment`, which reads the patient anyway
    if ref.clinic_patient_number is not None:
        query = select(Enrolment.patient_id).where(Enrolment.clinic_patient_number == ref.clinic_patient_number)
        if ref.clinic_id is not None:
            query = query.where(Enrolment.clinic_id == ref.clinic_id)
        ids = set(session.scalars(query))
        if not ids:
            raise IntakeRejected(
                "patient.clinic_patient_number", f"no enrolled patient has number {ref.clinic_patient_number!r}"
            )
        if len(ids) > 1:
            raise IntakeRejected("patient.clinic_id", "several clinics use this patient number; give clinic_id")
        return ids.pop()
    if ref.household_phone is not None:
        query = select(Patient.id).where(Patient.household_phone_e164 == ref.household_phone)
        found = list(session.scalars(query))
        if not found:
            raise IntakeRejected("patient.household_phone", "no enrolled patient has this phone number")
        if len(found) > 1:
            raise IntakeRejected(
                "patient.household_phone",
                "several patients share this number; search /api/v1/patients and give patient_id",
            )
        return found[0]
    matches = list(
        session.scalars(
            select(Patient.id)
            .where(
                Patient.name_kana_key == kana.fold(ref.name_kana or ""),
                Patient.date_of_birth == ref.date_of_birth,
            )
            .limit(2)
        )
    )
    if len(matches) != 1:
        problem = "no enrolled patient" if not matches else "several patients"
        raise IntakeRejected("patient.name_kana", f"{problem} with this name and date of birth")
    return matches[0]


@dataclass(frozen=True)
class Coverage:
    """Where an identified patient lives and which clinic's contract, if any, covers the call."""

    municipality_id: int | None  # None: a caller not identified, who gave no municipality
    clinic_id: int | None  # the enrolment covering the call, else the latest one
    in_contract: bool
    # When the latest enrolment had ended before the call: {"reason": "deceased", "ended_on": "2025-02-10"}.
    enrolment_ended: dict[str, str] | None = None


# One statement for every call about a known patient (built once): the patient's town, each enrolment
# and its clinic's contract periods, a handful of rows.
_COVERAGE = (
    select(
        Patient.municipality_id,
        Enrolment.id.label("enrolment_id"),
        Enrolment.clinic_id,
        Enrolment.enrolled_on,
        Enrolment.ended_on,
        Enrolment.ended_at,
        Enrolment.end_reason,
        ContractPeriod.start_month,
        ContractPeriod.end_month,
    )
    .select_from(Patient)
    .outerjoin(Enrolment, Enrolment.patient_id == Patient.id)
    .outerjoin(ContractPeriod, ContractPeriod.clinic_id == Enrolment.clinic_id)
    .where(Patient.id == bindparam("patient_id"))
)


def covering_enrolment(session: Session, patient_id: int, called_at: datetime, timezone: str) -> Coverage:
    """The patient's town, and the enrolment covering the call at `called_at` (in contract if its clinic's
    contract covers the local day) or else the latest one (out of contract, with its ending if it ended)."""
    rows = session.execute(_COVERAGE, {"patient_id": patient_id}).all()
    if not rows:
        raise IntakeRejected("patient.patient_id", f"no patient {patient_id}")
    day = called_at.astimezone(ZoneInfo(timezone)).date()
    enrolments: dict[int, Any] = {}  # enrolment id → its first row
    periods: dict[int, list[tuple[date, date | None]]] = {}
    for row in rows:
        if row.enrolment_id is not None:
            enrolments.setdefault(row.enrolment_id, row)
            if row.start_month is not None:
                periods.setdefault(row.enrolment_id, []).append((row.start_month, row.end_month))
    for enrolment_id, e in enrolments.items():
        if e.enrolled_on <= day and (e.ended_at is None or called_at < e.ended_at):
            in_contract = any(contract_covers(start, end, day) for start, end in periods.get(enrolment_id, []))
            return Coverage(rows[0].municipality_id, e.clinic_id, in_contract)
    latest = max(enrolments.values(), key=lambda e: e.enrolled_on, default=None)
    if latest is None:
        return Coverage(rows[0].municipality_id, None, False)
    ended = None
    if latest.ended_at is not None and latest.ended_at <= called_at:
        reason = latest.end_reason.value if latest.end_reason else None
        ended = {"reason": reason, "ended_on": latest.ended_on.isoformat()}
    return Coverage(rows[0].municipality_id, latest.clinic_id, False, ended)


def suggest_urgency(request: IntakeRequest) -> Urgency | None:
    """A first colour from what the caller reports, when the operator gave none."""
    spo2 = request.vitals.spo2_percent
    if request.consciousness is Consciousness.unresponsive or request.breathing is Breathing.absent:
        return Urgency.red
    if (
        request.consciousness is Consciousness.responds_to_pain
        or request.breathing in (Breathing.laboured, Breathing.irregular)
        or (spo2 is not None and spo2 < 90)
    ):
        return Urgency.orange
    return None


def escalation_policy(settings: Settings) -> dict:
    """The escalation rules in force now, to be frozen on the case."""
    quick, other = settings.offer_timeout_red_orange_s, settings.offer_timeout_other_s
    return {
        "offer_timeout_s": {"red": quick, "orange": quick, "yellow": other, "green": other, "white": other},
        "offers_before_coordinator_alert": settings.offers_before_coordinator_alert,
        "call_after_s": settings.offer_call_after_s,
        "coordinator_alert_call": settings.coordinator_alert_call,
    }


_INSERT_CASE = insert(table_of(Case)).returning(table_of(Case).c.id)
_INSERT_EVENTS = insert(table_of(CaseEvent)).returning(table_of(CaseEvent).c.id, sort_by_parameter_order=True)


def log_call(
    session: Session,
    clock: Clock,
    settings: Settings,
    programme_for: Callable[[int | None], ProgrammeSnapshot],
    user: User,
    request: IntakeRequest,
) -> Case:
    """Create the case, its first events and an audit entry, queued for the consulting physician.

    Four statements for a known patient: its coverage (one SELECT), the case (INSERT … RETURNING id), its
    two opening events (one multi-row INSERT) and the audit entry; the caller commits them together."""
    now = clock.now()
    clock = ManualClock(now)  # the call is logged at one instant (and the clock read once)
    called_at = request.called_at or now
    if called_at > now + CLOCK_SKEW:
        raise IntakeRejected("called_at", "is in the future")
    if called_at < now - MAX_CALL_AGE:
        raise IntakeRejected("called_at", "is more than 7 days ago; log it as a note instead")
    patient_id = find_patient_id(session, request.patient)
    if patient_id is not None:
        # Every programme of a deployment is in one prefecture: the time zone is the same for all.
        coverage = covering_enrolment(session, patient_id, called_at, programme_for(None).timezone)
    else:
        municipality_id = request.patient.municipality_id
        if municipality_id is not None and session.get(Municipality, municipality_id) is None:
            raise IntakeRejected("patient.municipality_id", f"no municipality {municipality_id}")
        coverage = Coverage(municipality_id, None, False)
    # The call belongs to the programme of the area the patient lives in (its hours, its counts).
    programme = programme_for(coverage.municipality_id)
    in_hours, rule = programme.judge_service_hours(called_at)

    # The case is written already queued for triage, with both opening events (created as `received`,
    # then `received → triage_pending`, a move the lifecycle allows), instead of an INSERT then an UPDATE.
    queued = CaseState.triage_pending
    if not can_transition(CaseState.received, queued):  # checked against the lifecycle like any move
        raise TransitionNotAllowed(0, CaseState.received, queued)
    values = {
        "programme_id": programme.id,
        "state": queued,
        "version": 1,  # the mapper's version counter starts at 1
        "patient_id": patient_id,
        "clinic_id": coverage.clinic_id,
        "municipality_id": coverage.municipality_id,
        "called_at": called_at,
        "in_service_hours": in_hours,
        "service_hours_rule_version": rule.version,
        "in_contract": coverage.in_contract,
        "caller_name": request.caller_name,
        "caller_relation": request.caller_relation.value,
        "callback_phone_e164": request.callback_phone,
        "family_updates_consent": request.family_updates_consent,
        "chief_complaint": request.chief_complaint,
        "intake": request.model_dump(
            mode="json",
            include={
                "onset",
                "consciousness",
                "breathing",
                "pain_score",
                "vitals",
                "attending_unavailable",
                "attending_unavailable_note",
            },
        )
        | ({"enrolment_ended": coverage.enrolment_ended} if coverage.enrolment_ended else {}),
        "provisional_urgency": request.provisional_urgency or suggest_urgency(request),
        "escalation_policy": escalation_policy(settings),
        "created_at": now,
        "updated_at": now,
    }
    # A plain INSERT … RETURNING id, like the events below: the unit of work cost more CPU than the
    # statement. The Case handed back is not in the session (nothing here changes it again).
    case = Case(id=session.scalar(_INSERT_CASE, values), **values)
    actor = Actor(label=f"user:{user.username}", user_id=user.id)
    flags: dict[str, Any] = {
        "in_service_hours": in_hours,
        "in_contract": coverage.in_contract,
        "service_hours_rule_version": rule.version,
    }
    if coverage.enrolment_ended:
        flags["enrolment_ended"] = coverage.enrolment_ended
    opening = [
        {
            "case_id": case.id,
            "at": now,
            "kind": "created",
            "from_state": None,
            "to_state": CaseState.received,
            "actor": actor.label,
            "actor_user_id": user.id,
            "reason": Why.call_logged.value,
            "data": flags | {"reason_code": Why.call_logged.name},
        },
        {
            "case_id": case.id,
            "at": now,
            "kind": "transition",
            "from_state": CaseState.received,
            "to_state": queued,
            "actor": actor.label,
            "actor_user_id": user.id,
            "reason": Why.queued_for_triage.value,
            "data": {"reason_code": Why.queued_for_triage.name},
        },
    ]
    # Plain INSERTs (the rows are written once and never change): the ORM's unit of work cost more than
    # the statements themselves.
    ids = session.scalars(_INSERT_EVENTS, opening).all()
    audit.record(session, clock, user, "case.intake", patient_id=case.patient_id, case_id=case.id)
    for event_id, row in zip(ids, opening, strict=True):
        defer_event(session, event_payload(case, CaseEvent(id=event_id, **row)))
    return case
