"""Small helpers for building requests in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A plausible call about the demo patient D-0001 (慢性心不全, on home oxygen)."""
    body: dict[str, Any] = {
        "patient": {"clinic_patient_number": "D-0001"},
        "caller_name": "印旛 花子",
        "caller_relation": "family",
        "callback_phone": "090-1234-5678",
        "chief_complaint": "夕方から息苦しさが強くなった",
        "onset": "2時間前から",
        "consciousness": "alert",
        "breathing": "laboured",
        "pain_score": 2,
        "vitals": {"spo2_percent": 88, "pulse_bpm": 104, "temperature_c": 37.2},
        "attending_unavailable": "no_answer",
    }
    body.update(overrides)
    return body


def decision_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "disposition": "visit_urgent",
        "urgency": "orange",
        "jtas_level": 2,
        "note": "往診へ",
    }
    body.update(overrides)
    return body


def add_user(services, username: str, role, **extra: Any) -> dict[str, str]:
    """One more user of a role (beside the demo ones); returns the credentials to log in with."""
    from dispatch.auth.service import create_user
    from dispatch.db import unit_of_work

    password = f"{username}-password-0123"
    with unit_of_work(services.session_factory) as session:
        create_user(
            session,
            services.passwords,
            services.clock,
            username=username,
            password=password,
            display_name=extra.pop("display_name", username),
            role=role,
            **extra,
        )
    return {"username": username, "password": password}


# -- issue 18, reports by area (h-reports): patients, enrolments and calls written straight to the database --


def insert_patient(session, municipality_id: int, *, clinic_id: int | None = None, enrolled_on=None) -> int:
    """A fictional identified patient living in the town (enrolled with `clinic_id` from `enrolled_on`)."""
    from datetime import date

    from sqlalchemy import insert

    from dispatch.patients.models import Enrolment, Patient, Sex

    patient_id = session.execute(
        insert(Patient).values(
            family_name="試験",
            given_name="一",
            family_name_kana="シケン",
            given_name_kana="イチ",
            date_of_birth=date(1940, 1, 1),
            sex=Sex.unknown,
            address="（試験データ）",
            municipality_id=municipality_id,
            diagnoses=[],
            acp={},
            devices=[],
            key_person={},
        )
    ).inserted_primary_key[0]
    if clinic_id is not None:
        session.execute(
            insert(Enrolment).values(
                patient_id=patient_id,
                clinic_id=clinic_id,
                clinic_patient_number=f"T-{patient_id}",
                enrolled_on=enrolled_on or date(2024, 4, 1),
            )
        )
    return patient_id


def insert_case(
    session,
    *,
    programme_id: int,
    clinic_id: int | None,
    municipality_id: int | None,
    called_at,
    outcome=None,
    **extra: Any,
) -> int:
    """A call as it ended, written directly: by default a decided consultation about a new patient in the town.
    `outcome` (an OutcomeCode) makes it a closed visit with that outcome; `extra` sets any other column
    (e.g. `visiting_area_id`, `state`, `in_service_hours`, `patient_id=None`)."""
    from sqlalchemy import insert

    from dispatch.cases.models import Case
    from dispatch.cases.states import CaseState, Disposition, Urgency
    from dispatch.outcomes.models import VisitOutcome

    values: dict[str, Any] = dict(
        programme_id=programme_id,
        version=1,
        clinic_id=clinic_id,
        municipality_id=municipality_id,
        called_at=called_at,
        in_service_hours=True,
        service_hours_rule_version=1,
        in_contract=True,
        intake={},
        escalation_policy={},
        state=CaseState.closed if outcome is not None else CaseState.closed_consultation,
        disposition=Disposition.visit_urgent if outcome is not None else Disposition.advice_only,
        urgency=Urgency.yellow,
        created_at=called_at,
        updated_at=called_at,
    )
    if "patient_id" not in extra:
        assert municipality_id is not None, "a call with no town needs its patient_id (or None)"
        values["patient_id"] = insert_patient(session, municipality_id)
    values.update(extra)
    case_id = session.execute(insert(Case).values(**values)).inserted_primary_key[0]
    if outcome is not None:
        session.execute(
            insert(VisitOutcome).values(
                case_id=case_id, outcome=outcome, recorded_by="test", recorded_at=called_at
            )
        )
    return case_id


def new_area_hours(services, code: str, effective_from: datetime, **changes: str) -> None:
    """A second version of one area's service-hours rule (the first with `changes`), in force from
    `effective_from`; the process's reference cache re-reads it."""
    from sqlalchemy import select

    from dispatch.db import unit_of_work
    from dispatch.programme.models import Programme, ServiceHoursRule

    with unit_of_work(services.session_factory) as session:
        programme_id = session.scalar(select(Programme.id).where(Programme.code == code))
        first = session.scalar(select(ServiceHoursRule).where(ServiceHoursRule.programme_id == programme_id))
        definition = {**first.definition, **changes}
        session.add(
            ServiceHoursRule(
                programme_id=programme_id, version=2, effective_from=effective_from, definition=definition
            )
        )
    services.reference.clear()
