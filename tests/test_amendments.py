"""Corrections of a visit's outcome: amendments after closing (coordinator or admin, with a reason), the
version replaced always kept, the timeline and the audit log showing both, and the reports counting the
latest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.cases.lifecycle import Actor, transition
from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition, Urgency
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.outcomes.models import DeathRecord
from dispatch.patients.models import Enrolment
from dispatch.programme.models import Programme
from dispatch.roster.models import Physician, PhysicianRole
from tests.factories import add_user

FINDINGS = "呼吸停止、心音なし、瞳孔散大"


@pytest.fixture
def visit(client, login, services):
    """A house call to D病院's patient D-0001 tonight, the physician on scene; `close(body)` records the outcome
    as the operator does and closes the case as the morning handoff's acknowledgement does."""
    now = services.clock.now()
    with unit_of_work(services.session_factory) as session:
        enrolment = session.scalar(select(Enrolment).where(Enrolment.clinic_patient_number == "D-0001"))
        physician = session.scalar(select(Physician.id).where(Physician.role == PhysicianRole.substitute))
        case_id = session.execute(
            insert(Case).values(
                programme_id=session.scalar(select(Programme.id)),
                version=1,
                patient_id=enrolment.patient_id,
                clinic_id=enrolment.clinic_id,
                called_at=now - timedelta(hours=1),
                in_service_hours=True,
                service_hours_rule_version=1,
                in_contract=True,
                intake={},
                escalation_policy={},
                state=CaseState.on_scene,
                disposition=Disposition.expected_death_visit,
                urgency=Urgency.yellow,
                assigned_physician_id=physician,
                created_at=now - timedelta(hours=1),
                updated_at=now,
            )
        ).inserted_primary_key[0]

    def record(body: dict, close: bool = True) -> int:
        response = client.post(f"/api/v1/cases/{case_id}/outcome", headers=login("operator"), json=body)
        assert response.status_code == 200, response.text
        if close:
            with unit_of_work(services.session_factory) as session:
                case = session.get(Case, case_id)
                for state in (CaseState.handed_off, CaseState.closed):
                    transition(session, case, state, actor=Actor.system("handoffs"), clock=services.clock)
        return case_id

    return record


def _death(services, certificate_by: str = "attending") -> dict:
    now = services.clock.now()
    return {
        "outcome": "death_pronounced",
        "findings": FINDINGS,
        "treatment": "死亡確認",
        "death": {
            "noticed_at": (now - timedelta(minutes=50)).isoformat(),
            "confirmed_at": (now - timedelta(minutes=10)).isoformat(),
            "related_to_treated_disease": True,
            "certificate_by": certificate_by,
            "police_informed": False,
        },
    }


def _d_hospital(client, login) -> tuple[int, int, int]:
    """D病院's (consultations, house calls, 看取り) in FY2024 (tonight: 2025-01-15), as a coordinator sees."""
    report = client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=login("coordinator")).json()
    row = next(r for r in report["rows"] if r["clinic_label"] == "D病院")
    return row["consultations"], row["house_calls"], row["end_of_life"]


def _amend(client, login, case_id: int, body: dict, who: str = "coordinator"):
    return client.post(f"/api/v1/cases/{case_id}/outcome/amendments", headers=login(who), json=body)


def test_a_closed_outcome_is_amended_the_original_kept_and_the_report_counts_the_latest(
    client, login, services, visit
):
    case_id = visit({"outcome": "treated_at_home", "findings": "SpO2 88%", "treatment": "酸素流量調整"})
    assert _d_hospital(client, login)[1:] == (1, 0)

    # The operator can no longer correct it, and is told in plain words who can, and where.
    refused = client.post(
        f"/api/v1/cases/{case_id}/outcome", headers=login("operator"), json={"outcome": "no_contact"}
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"case {case_id} is closed, so its outcome can no longer be recorded or corrected here; a coordinator "
        f"(or an admin) can amend it, with a reason, at POST /api/v1/cases/{case_id}/outcome/amendments"
    )

    amended = _amend(client, login, case_id, {**_death(services), "reason": "家族の申し出で死亡確認と判明"})
    assert amended.status_code == 201, amended.text
    assert amended.json()["before"]["outcome"] == "treated_at_home"
    assert _d_hospital(client, login)[1:] == (1, 1)  # one house call, now a 看取り
    services.clock.advance(timedelta(minutes=5))
    again = _amend(
        client, login, case_id, {**_death(services, "substitute"), "reason": "診断書は代診医"}, "admin"
    )
    assert again.status_code == 201, again.text

    listed = client.get(f"/api/v1/cases/{case_id}/outcome/amendments", headers=login("clinic"))
    assert listed.status_code == 200
    first, second = listed.json()
    assert (first["before"]["outcome"], first["before"]["findings"], first["before"]["death"]) == (
        "treated_at_home",
        "SpO2 88%",
        None,
    )
    assert first["before"]["recorded_by"] == "user:operator" and first["amended_by"] == "user:coordinator"
    assert first["after"]["death"]["certificate_by"] == "attending"
    assert second["before"] == first["after"] and second["after"]["death"]["certificate_by"] == "substitute"
    assert second["reason"] == "診断書は代診医" and second["amended_by_name"]

    timeline = client.get(f"/api/v1/cases/{case_id}", headers=login("coordinator")).json()["timeline"]
    outcomes = [
        (e["kind"], e["data"].get("outcome"), e["reason"])
        for e in timeline
        if "outcome" in e["data"] and e["kind"] != "clinic.notified"
    ]
    # The death found by the first amendment is told to the attending clinic once; the second is not news.
    assert [e["kind"] for e in timeline].count("clinic.notified") == 1
    assert outcomes == [
        ("transition", "treated_at_home", "outcome recorded"),
        ("outcome.amended", "death_pronounced", "家族の申し出で死亡確認と判明"),
        ("outcome.amended", "death_pronounced", "診断書は代診医"),
    ]
    assert not any(FINDINGS in str(e["data"]) for e in timeline)
    with services.session_factory() as session:
        audited = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.case_id == case_id, AuditEntry.action.like("case.outcome.amend%"))
            .order_by(AuditEntry.id)
        ).all()
    assert [(a.action, a.role, a.detail.get("outcome_before")) for a in audited] == [
        ("case.outcome.amend", "coordinator", "treated_at_home"),
        ("case.outcome.amend", "admin", "death_pronounced"),
        ("case.outcome.amendments.read", "clinic_admin", None),
    ]
    assert audited[0].detail["death_record"] == "added" and audited[1].detail["death_record"] == "changed"


def test_amending_to_no_contact_removes_the_death_record_and_the_house_call(client, login, services, visit):
    case_id = visit(_death(services))
    assert _d_hospital(client, login)[1:] == (1, 1)
    amended = _amend(client, login, case_id, {"outcome": "no_contact", "reason": "患家に到着できず"})
    assert amended.status_code == 201, amended.text
    with services.session_factory() as session:
        assert session.get(DeathRecord, case_id) is None
    assert amended.json()["before"]["death"]["certificate_by"] == "attending"  # the record removed is kept
    assert _d_hospital(client, login)[1:] == (0, 0)
    read = client.get(f"/api/v1/cases/{case_id}/outcome", headers=login("coordinator")).json()
    assert read["outcome"] == "no_contact" and read["death"] is None


def test_a_correction_before_closing_keeps_the_version_it_replaces(client, login, visit):
    case_id = visit({"outcome": "treated_at_home", "treatment": "酸素流量調整"}, close=False)
    corrected = {
        "outcome": "transported_admitted",
        "treatment": "救急搬送",
        "destination_note": "市内の救急病院",
    }
    response = client.post(f"/api/v1/cases/{case_id}/outcome", headers=login("operator"), json=corrected)
    assert response.status_code == 200 and response.json()["state"] == "visit_completed"
    (kept,) = client.get(f"/api/v1/cases/{case_id}/outcome/amendments", headers=login("coordinator")).json()
    assert (kept["reason"], kept["amended_by"]) == ("訂正", "user:operator")
    assert (kept["before"]["treatment"], kept["after"]["treatment"]) == ("酸素流量調整", "救急搬送")


def test_only_a_coordinator_or_admin_amends_with_a_reason_and_only_the_case_s_clinic_reads(
    client, login, services, visit
):
    case_id = visit({"outcome": "treated_at_home"})
    body = {"outcome": "transported_admitted"}
    for reason, words in ((None, "reason: Field required"), ("  ", "reason: String should have at least 1")):
        refused = _amend(client, login, case_id, body if reason is None else {**body, "reason": reason})
        assert refused.status_code == 422 and words in refused.json()["detail"], refused.text
    for who in ("operator", "consult", "prefecture", "clinic"):
        assert _amend(client, login, case_id, {**body, "reason": "誤記"}, who).status_code == 403, who
    path = f"/api/v1/cases/{case_id}/outcome/amendments"
    assert client.get(path, headers=login("prefecture")).status_code == 403  # counts only, never a patient
    with services.session_factory() as session:
        e_clinic = session.scalar(select(Clinic.id).where(Clinic.label == "Eクリニック"))
    other = add_user(services, "e_admin", Role.clinic_admin, clinic_id=e_clinic)
    token = client.post("/api/v1/auth/login", json=other).json()["access_token"]
    client.cookies.clear()
    assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert client.get(path, headers=login("clinic")).json() == []  # nothing amended: D病院 sees no versions


def test_an_amendment_after_a_month_was_submitted_shows_as_a_difference_until_it_is_submitted_again(
    client, login, services, visit
):
    case_id = visit({"outcome": "treated_at_home", "findings": "SpO2 88%"})
    services.clock.advance(timedelta(days=20))  # January has ended: its figures go to the prefecture
    submitted = client.post("/api/v1/submissions", json={"month": "2025-01"}, headers=login("coordinator"))
    assert submitted.status_code == 201, submitted.text

    amended = _amend(client, login, case_id, {**_death(services), "reason": "家族の申し出で死亡確認と判明"})
    assert amended.status_code == 201, amended.text
    read = client.get("/api/v1/submissions/2025-01", headers=login("prefecture")).json()
    changed = {d["path"]: (d["submitted"], d["now"]) for d in read["differences"]}
    assert changed["totals.end_of_life"] == (0, 1) and changed["by_clinic.D病院.end_of_life"] == (0, 1)
    assert "totals.house_calls" not in changed  # still one house call: only its outcome changed
    assert read["submitted"]["totals"]["end_of_life"] == 0  # what was submitted stays as it was

    again = client.post("/api/v1/submissions", json={"month": "2025-01"}, headers=login("coordinator"))
    assert again.status_code == 201 and again.json()["version"] == 2
    assert client.get("/api/v1/submissions/2025-01", headers=login("prefecture")).json()["differences"] == []
