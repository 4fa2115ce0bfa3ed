"""Monthly submissions to the prefecture: a month's figures frozen with who and when, a later correction shown
as submitted → now until the month is submitted again, and who may submit or read."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from dispatch.audit.models import AuditEntry
from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition, Urgency
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode, VisitOutcome
from dispatch.patients.models import Enrolment
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician

TOKYO = ZoneInfo("Asia/Tokyo")


def _december_cases(services) -> tuple[int, str]:
    """Two calls in December 2024 (the clock is in January 2025): advice, and a visit treated at home."""
    with unit_of_work(services.session_factory) as session:
        programme = session.scalar(select(Programme))
        enrolment = session.scalars(select(Enrolment).order_by(Enrolment.id)).first()
        clinic = session.get_one(Clinic, enrolment.clinic_id)
        physician = session.scalar(select(Physician.id).order_by(Physician.id))
        town = session.scalar(select(Municipality.id).order_by(Municipality.id))
        patient = enrolment.patient_id  # an identified patient: an unidentified call counts in no table
        ids = []
        for state, disposition in [
            (CaseState.closed_consultation, Disposition.advice_only),
            (CaseState.handed_off, Disposition.visit_standard),
        ]:
            called = datetime(2024, 12, 10, 22, 0, tzinfo=TOKYO)
            ids.append(
                session.execute(
                    insert(Case).values(
                        programme_id=programme.id,
                        version=1,
                        patient_id=patient,
                        clinic_id=clinic.id,
                        municipality_id=town,
                        called_at=called,
                        in_service_hours=True,
                        service_hours_rule_version=1,
                        in_contract=True,
                        intake={},
                        escalation_policy={},
                        state=state,
                        disposition=disposition,
                        urgency=Urgency.yellow,
                        decided_at=called + timedelta(minutes=10),
                        assigned_physician_id=physician if state is CaseState.handed_off else None,
                        created_at=called,
                        updated_at=called,
                    )
                ).inserted_primary_key[0]
            )
        session.add(
            VisitOutcome(
                case_id=ids[1],
                outcome=OutcomeCode.treated_at_home,
                recorded_by="test",
                recorded_at=datetime(2024, 12, 10, 23, 30, tzinfo=TOKYO),
            )
        )
        return ids[1], clinic.label


def test_a_submitted_month_is_frozen_shows_a_later_correction_and_is_submitted_again(
    client, login, services, clock
):
    visit, clinic = _december_cases(services)
    coordinator, prefecture = login("coordinator"), login("prefecture")
    submitted = client.post(
        "/api/v1/submissions", json={"month": "2024-12", "note": "12月分"}, headers=coordinator
    )
    assert submitted.status_code == 201, submitted.text
    first = submitted.json()
    assert (first["version"], first["submitted_by"], first["note"]) == (1, "コーディネーター（デモ）", "12月分")
    assert datetime.fromisoformat(first["submitted_at"]) == clock.now()

    read = client.get("/api/v1/submissions/2024-12", headers=prefecture).json()
    assert read["submitted"]["totals"] == {"consultations": 1, "house_calls": 1, "end_of_life": 0}
    assert read["submitted"]["by_clinic"][clinic]["house_calls"] == 1
    assert read["differences"] == [] and read["changed_since"] is False

    # A week later the visit's outcome is corrected: the patient had died at home.
    clock.advance(timedelta(days=7))
    death = {"noticed_at": "2024-12-10T22:40:00+09:00", "confirmed_at": "2024-12-10T23:10:00+09:00"}
    death |= {"related_to_treated_disease": True, "certificate_by": "substitute", "police_informed": False}
    corrected = client.post(
        f"/api/v1/cases/{visit}/outcome",
        json={"outcome": "death_pronounced", "death": death},
        headers=login("operator"),
    )
    assert corrected.status_code == 200, corrected.text

    prefecture = login("prefecture")  # a new day's login
    read = client.get("/api/v1/submissions/2024-12", headers=prefecture).json()
    assert read["submitted"]["totals"]["end_of_life"] == 0 and read["now"]["totals"]["end_of_life"] == 1
    changes = {d["path"]: (d["submitted"], d["now"]) for d in read["differences"]}
    assert changes["totals.end_of_life"] == (0, 1)
    assert changes[f"by_clinic.{clinic}.end_of_life"] == (0, 1)
    by_clinic = next(d for d in read["differences"] if d["path"] == f"by_clinic.{clinic}.end_of_life")
    assert (by_clinic["section"], by_clinic["name"], by_clinic["field"]) == ("by_clinic", clinic, "end_of_life")
    assert "totals.house_calls" not in changes
    assert read["submitted_at"] == first["submitted_at"]
    listed = client.get("/api/v1/submissions", headers=prefecture).json()
    assert [(s["month"], s["version"], s["changed_since"]) for s in listed] == [("2024-12", 1, True)]

    sheet = client.get("/api/v1/submissions/2024-12.csv", headers=prefecture)
    assert sheet.status_code == 200 and sheet.content.startswith("\ufeff".encode())
    text = sheet.content.decode("utf-8-sig")
    assert "区分,名称,項目,提出時,現在,変更" in text and "合計,,看取り,0,1,変更あり" in text

    again = client.post("/api/v1/submissions", json={"month": "2024-12"}, headers=login("admin"))
    assert again.status_code == 201, again.text
    assert again.json()["version"] == 2
    read = client.get("/api/v1/submissions/2024-12", headers=prefecture).json()
    assert read["version"] == 2 and read["differences"] == [] and read["submitted_by"] == "管理者（デモ）"
    assert read["submitted"]["totals"]["end_of_life"] == 1
    assert [(v["version"], v["latest"], v["changed_since"]) for v in read["versions"]] == [
        (2, True, False),
        (1, False, True),
    ]
    with services.session_factory() as session:
        audited = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "submission.submitted").order_by(AuditEntry.id)
        ).all()
    assert [(a["month"], a["version"]) for a in audited] == [("2024-12", 1), ("2024-12", 2)]


def test_only_an_ended_month_is_submitted_and_only_by_the_coordinator_or_admin(client, login):
    coordinator = login("coordinator")
    running = client.post("/api/v1/submissions", json={"month": "2025-01"}, headers=coordinator)
    assert running.status_code == 422 and running.json()["detail"].startswith("month: 2025-01 has not ended")
    bad = client.post("/api/v1/submissions", json={"month": "2024-13"}, headers=coordinator)
    assert bad.status_code == 422 and "month" in str(bad.json()["detail"])
    for refused in ("operator", "prefecture", "clinic"):
        answer = client.post("/api/v1/submissions", json={"month": "2024-11"}, headers=login(refused))
        assert answer.status_code == 403, refused
    assert client.get("/api/v1/submissions", headers=login("clinic")).status_code == 403
    prefecture = login("prefecture")
    assert client.get("/api/v1/submissions", headers=prefecture).json() == []
    missing = client.get("/api/v1/submissions/2024-11", headers=prefecture)
    assert missing.status_code == 404 and missing.json()["detail"] == "month: 2024-11 has not been submitted"
