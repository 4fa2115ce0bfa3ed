"""Call intake through the HTTP API: identification, flags, idempotency, and errors in plain words."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.cases.models import Case, CaseEvent
from dispatch.clinics.models import ContractPeriod
from dispatch.clock import ManualClock
from dispatch.patients.models import EndReason, Enrolment
from tests.factories import add_user, intake_body

TOKYO = ZoneInfo("Asia/Tokyo")


def _count_cases(services) -> int:
    with services.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_logged_call_is_committed_with_its_first_events_before_the_answer(client, login, services):
    response = client.post("/api/v1/cases", json=intake_body(), headers=login("operator"))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["state"] == "triage_pending"
    assert case["reference"] == f"K{case['id']}"
    assert case["in_service_hours"] is True and case["in_contract"] is True
    assert case["provisional_urgency"] == "orange"  # laboured breathing, SpO2 88 %
    with services.session_factory() as session:  # a separate session sees it: committed
        events = session.execute(
            select(CaseEvent.kind, CaseEvent.from_state, CaseEvent.to_state, CaseEvent.actor).where(
                CaseEvent.case_id == case["id"]
            )
        ).all()
        audit = session.scalar(select(AuditEntry.action).where(AuditEntry.case_id == case["id"]))
    assert [(k, f and f.value, t.value, a) for k, f, t, a in events] == [
        ("created", None, "received", "user:operator"),
        ("transition", "received", "triage_pending", "user:operator"),
    ]
    assert audit == "case.intake"


@pytest.mark.parametrize(
    "patient",
    [
        {"household_phone": "043-111-0001"},
        {"name_kana": "ｲﾝﾊﾞ ﾀﾛｳ", "date_of_birth": "1938-05-12"},
        {"clinic_patient_number": "D-0001", "clinic_id": None},
    ],
    ids=["household phone", "half-width kana and birth date", "chart number"],
)
def test_the_patient_is_found_however_the_caller_describes_them(client, login, services, patient):
    patient = {k: v for k, v in patient.items() if v is not None}
    case = client.post("/api/v1/cases", json=intake_body(patient=patient), headers=login("operator")).json()
    profile = client.get(f"/api/v1/patients/{case['patient_id']}", headers=login("operator")).json()
    assert profile["enrolments"][0]["clinic_patient_number"] == "D-0001"


def test_an_unidentified_caller_is_still_logged(client, login):
    body = intake_body(patient={"unidentified": True, "municipality_id": 1})
    case = client.post("/api/v1/cases", json=body, headers=login("operator")).json()
    assert case["state"] == "triage_pending"
    assert case["patient_id"] is None and case["clinic_id"] is None and case["in_contract"] is False


def test_japanese_numbers_are_stored_as_e164(client, login):
    headers = login("operator")
    case = client.post(
        "/api/v1/cases", json=intake_body(callback_phone="０９０－１２３４－５６７８"), headers=headers
    )
    detail = client.get(f"/api/v1/cases/{case.json()['id']}", headers=headers).json()
    assert detail["callback_phone_e164"] == "+819012345678"


@pytest.mark.parametrize(
    ("local", "in_hours"),
    [
        ("2024-01-10 17:59", False),
        ("2024-01-10 18:00", True),
        ("2024-01-13 11:59", False),  # Saturday morning
        ("2024-01-13 12:00", True),  # Saturday noon
        ("2024-02-12 14:00", True),  # 振替休日 for 建国記念の日 on Sunday the 11th
        ("2023-12-29 14:00", True),  # year-end break, a Friday
        ("2024-01-04 14:00", False),  # 4 Jan, a Thursday: back to normal
    ],
)
def test_out_of_hours_calls_are_logged_and_flagged(settings, local, in_hours, demo_at):
    called_at = datetime.fromisoformat(local).replace(tzinfo=TOKYO)
    client, headers = demo_at(called_at)
    response = client.post("/api/v1/cases", json=intake_body(called_at=called_at.isoformat()), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["in_service_hours"] is in_hours
    assert response.json()["service_hours_rule_version"] == 1


@pytest.fixture
def demo_at(settings, request):
    """A client whose clock stands at the given time, on a freshly seeded database."""
    from fastapi.testclient import TestClient

    from dispatch.app import create_app
    from dispatch.db import unit_of_work
    from dispatch.seed.demo import seed_demo
    from dispatch.seed.reference import load_programme_data
    from dispatch.services import Services
    from tests.conftest import _truncate_all

    opened = []

    def _make(at: datetime):
        services = Services.build(settings, clock=ManualClock(at))
        _truncate_all(services)
        services.redis.flushdb()
        with unit_of_work(services.session_factory) as session:
            seed_demo(session, load_programme_data("inba"), services.clock, services.passwords)
        client = TestClient(create_app(services=services))
        opened.append((client, services))
        token = client.post("/api/v1/auth/login", json={"username": "operator", "password": "operator-demo"})
        return client, {"Authorization": f"Bearer {token.json()['access_token']}"}

    yield _make
    for client, services in opened:
        client.close()
        services.redis.flushdb()
        services.close()


def test_a_retried_post_with_the_same_key_returns_the_same_case(client, login, services):
    headers = {**login("operator"), "Idempotency-Key": "call-2025-01-15-0001"}
    first = client.post("/api/v1/cases", json=intake_body(), headers=headers)
    again = client.post("/api/v1/cases", json=intake_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count_cases(services) == 1


def test_the_same_key_for_a_different_call_is_refused(client, login, services):
    headers = {**login("operator"), "Idempotency-Key": "call-2025-01-15-0002"}
    client.post("/api/v1/cases", json=intake_body(), headers=headers)
    other = client.post("/api/v1/cases", json=intake_body(chief_complaint="発熱"), headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"].startswith("idempotency_key:")
    # The operator whose answer was lost learns which case the key already made.
    first = client.post("/api/v1/cases", json=intake_body(), headers=headers).json()
    assert other.json()["earlier_case"] == {"id": first["id"], "reference": first["reference"]}
    assert _count_cases(services) == 1


def test_another_operator_reusing_a_key_learns_nothing_of_the_case(client, login, services):
    key = {"Idempotency-Key": "call-2025-01-15-0009"}
    client.post("/api/v1/cases", json=intake_body(), headers={**login("operator"), **key})
    credentials = add_user(services, "operator2", Role.operator)
    token = client.post("/api/v1/auth/login", json=credentials)
    client.cookies.clear()
    other = client.post(
        "/api/v1/cases",
        json=intake_body(),
        headers={"Authorization": f"Bearer {token.json()['access_token']}", **key},
    )
    assert other.status_code == 422 and "earlier_case" not in other.json()
    assert _count_cases(services) == 1


def test_a_double_click_at_the_same_instant_makes_one_case(client, login, services, live_server):
    headers = {**login("operator"), "Idempotency-Key": "double-click-0003"}
    barrier = threading.Barrier(4)
    answers = []

    def post():
        barrier.wait()
        answers.append(
            httpx.post(f"{live_server.url}/api/v1/cases", json=intake_body(), headers=headers, timeout=10)
        )

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count_cases(services) == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"callback_phone": "090-12"}, "callback_phone", "not a valid phone number"),
        ({"callback_phone": "電話なし"}, "callback_phone", "not a phone number"),
        (
            {"patient": {"name_kana": "インバタロウ", "date_of_birth": "1938-02-30"}},
            "patient.date_of_birth",
            "day value",
        ),
        (
            {"patient": {"name_kana": "インバタロウ", "date_of_birth": "2199-01-01"}},
            "patient.date_of_birth",
            "not a possible date of birth",
        ),
        (
            {"patient": {"clinic_patient_number": "Z-9999"}},
            "patient.clinic_patient_number",
            "no enrolled patient has number 'Z-9999'",
        ),
        ({"patient": {"patient_id": 987654}}, "patient.patient_id", "no patient 987654"),
        (
            {"patient": {"patient_id": 1, "household_phone": "043-111-0001"}},
            "patient",
            "identify the patient one way",
        ),
        ({"patient": {"household_phone": "03-1234-5678"}}, "patient.household_phone", "no enrolled patient"),
        ({"chief_complaint": ""}, "chief_complaint", "at least 1 character"),
        ({"vitals": {"spo2_percent": 130}}, "vitals.spo2_percent", "less than or equal to 100"),
        ({"called_at": "2025-01-15T23:00:00"}, "called_at", "give a time zone offset"),
        ({"called_at": "2025-01-16T23:00:00+09:00"}, "called_at", "is in the future"),
        ({"caller_relation": "neighbour"}, "caller_relation", "family"),
    ],
)
def test_bad_input_names_the_field_and_the_problem_and_writes_nothing(
    client, login, services, change, field, words
):
    response = client.post("/api/v1/cases", json=intake_body(**change), headers=login("operator"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith(field) or any(e["field"] == field for e in body.get("errors", []))
    assert words in body["detail"]
    assert _count_cases(services) == 0


def test_a_missing_field_is_named(client, login):
    body = intake_body()
    del body["chief_complaint"]
    response = client.post("/api/v1/cases", json=body, headers=login("operator"))
    missing = {"field": "chief_complaint", "problem": "Field required", "type": "missing"}
    assert response.json()["errors"] == [missing]


def _d0001(services):
    with services.session_factory() as session:
        return session.scalars(select(Enrolment).where(Enrolment.clinic_patient_number == "D-0001")).one()


def test_a_call_outside_the_clinic_contract_is_logged_out_of_contract_under_its_clinic(client, login, services):
    enrolment = _d0001(services)
    with services.session_factory() as session:
        periods = session.scalars(select(ContractPeriod).where(ContractPeriod.clinic_id == enrolment.clinic_id))
        for period in periods:
            period.end_month = period.start_month  # one month of contract, long before the call
        session.commit()
    case = client.post("/api/v1/cases", json=intake_body(), headers=login("operator")).json()
    assert (case["patient_id"], case["clinic_id"], case["in_contract"]) == (
        enrolment.patient_id,
        enrolment.clinic_id,
        False,
    )


def test_a_patient_whose_enrolment_ended_is_out_of_contract_under_the_last_clinic(client, login, services):
    enrolment = _d0001(services)
    with services.session_factory() as session:
        ended = session.get(Enrolment, enrolment.id)
        ended.ended_on, ended.end_reason = enrolment.enrolled_on, EndReason.withdrawn
        ended.ended_at = datetime.combine(enrolment.enrolled_on + timedelta(days=1), time(0), TOKYO)
        session.commit()
    body = intake_body(patient={"patient_id": enrolment.patient_id})
    case = client.post("/api/v1/cases", json=body, headers=login("operator")).json()
    assert (case["clinic_id"], case["in_contract"]) == (enrolment.clinic_id, False)
