"""A decided case that ends before its visit (the family called 119, closed unfilled, cancelled after
acceptance), and the attending clinic told at once of a death at home, with the death record in the handoff."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dispatch.clinics.models import Clinic
from dispatch.patients.models import Patient
from dispatch.roster.models import Physician, PhysicianRole
from tests.night import PASSWORDS, start_night

PASSWORDS.setdefault("clinic", "clinic-demo")


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _offered(night) -> tuple[int, str]:
    case_id = night.call()
    night.decide_visit(case_id)
    assert night.state(case_id) == "offered"
    return case_id, night.offer_for(case_id).to


def _accepted(night) -> tuple[int, str]:
    case_id, phone = _offered(night)
    assert "受諾を受け付けました" in night.reply(phone, f"{case_id} Y")
    return case_id, phone


def _end(night, case_id: int, route: str, who: str, reason: str | None = "家族が119番通報、救急搬送"):
    body = {} if reason is None else {"reason": reason}
    return night.http.post(f"/api/v1/cases/{case_id}/{route}", headers=night.headers(who), json=body)


def _uses(night, case_id: int) -> tuple[int, int]:
    """The case's clinic in the prefecture's FY2024 table: (医療相談, 往診)."""
    clinic_id = night.case(case_id)["clinic_id"]
    report = night.http.get("/api/v1/reports/clinics?fiscal_year=2024", headers=night.headers("coordinator"))
    row = next(r for r in report.json()["rows"] if r["clinic_id"] == clinic_id)
    return row["consultations"], row["house_calls"]


def _texts(night, phone: str) -> list[str]:
    return [m.body for m in night.fake.sent_to(phone) if m.via == "api"]


def test_the_family_calls_119_while_offered_the_offer_is_withdrawn_and_a_late_yes_is_refused(night):
    case_id, phone = _offered(night)
    assert _uses(night, case_id) == (0, 0)  # still open: counted nowhere yet
    response = _end(night, case_id, "referred-ems", "operator")
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["ended_because"]) == ("referred_ems", "family_called_119")
    assert _uses(night, case_id) == (1, 0)  # a decided call ended without a visit: one consultation
    night.run_jobs()
    assert _texts(night, phone)[-1] == f"#K{case_id} の往診依頼は取り消されました。対応は不要です。"

    night.advance(minutes=10)  # deadlines and sweeps pass: nobody is offered the case again
    assert len([m for m in night.offers() if f"#K{case_id} " in m.body]) == 1
    answer = night.reply(phone, "Y")
    assert f"#K{case_id} の依頼は締め切られました" in answer
    assert night.state(case_id) == "referred_ems"
    ending = [e for e in night.case(case_id)["timeline"] if e.get("to_state") == "referred_ems"]
    assert ending[0]["reason"] == "家族が119番通報、救急搬送"
    assert ending[0]["data"]["ended_because"] == "family_called_119"


def test_the_family_calls_119_while_the_physician_is_on_the_way_and_they_are_told(night):
    case_id, phone = _accepted(night)
    night.reply(phone, f"{case_id} 出発")
    assert night.state(case_id) == "en_route"
    response = _end(night, case_id, "referred-ems", "consult")  # the consulting physician may record it
    assert response.status_code == 200, response.text
    night.run_jobs()
    told = _texts(night, phone)[-1]
    assert told.startswith(f"#K{case_id} ご家族が119番通報されました。往診は不要です")
    with night.services.session_factory() as session:
        patient = session.scalar(select(Patient).where(Patient.id == night.case(case_id)["patient_id"]))
        assert patient.family_name not in told and patient.address not in told
    assert "担当中の往診はありません" in night.reply(phone, f"{case_id} 到着")  # no visit to arrive at
    assert night.state(case_id) == "referred_ems"


def test_the_coordinator_closes_an_unfilled_case_and_offers_and_alerts_stop(night):
    with night.services.session_factory() as session:
        phones = dict(
            session.execute(
                select(Physician.id, Physician.phone_e164).where(Physician.role == PhysicianRole.substitute)
            ).all()
        )
        session.execute(update(Physician).where(Physician.id.in_(phones)).values(phone_e164=None))
        session.commit()
    case_id = night.call()
    night.decide_visit(case_id)
    assert night.state(case_id) == "unfilled"
    assert _end(night, case_id, "close-unfilled", "operator").status_code == 403
    response = _end(night, case_id, "close-unfilled", "coordinator", "代診医が見つからず、主治医が朝に対応")
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["ended_because"]) == ("cancelled", "unfilled_closed")
    assert _uses(night, case_id) == (1, 0)

    with night.services.session_factory() as session:  # physicians come on call again
        for physician_id, phone in phones.items():
            session.execute(update(Physician).where(Physician.id == physician_id).values(phone_e164=phone))
        session.commit()
    alerts = [e["kind"] for e in night.case(case_id)["timeline"]].count("alert.coordinator")
    night.advance(minutes=20)  # past the re-offer and the quarter-hour re-alert
    assert not [m for m in night.offers() if f"#K{case_id} " in m.body]
    assert [e["kind"] for e in night.case(case_id)["timeline"]].count("alert.coordinator") == alerts
    again = _end(night, case_id, "close-unfilled", "coordinator")
    assert again.status_code == 409 and again.json()["current_state"] == "cancelled"


def test_a_visit_cancelled_after_acceptance_is_recorded_so_and_the_physician_is_told(night):
    case_id, phone = _accepted(night)
    response = _end(night, case_id, "cancel", "operator", "主治医が駆けつけた")
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["ended_because"]) == (
        "cancelled",
        "cancelled_after_acceptance",
    )
    assert _uses(night, case_id) == (1, 0)
    night.run_jobs()
    assert _texts(night, phone)[-1] == f"#K{case_id} の往診依頼は取り消されました。対応は不要です。"
    # A cancellation before anyone accepted is a plain one.
    other = night.call(patient={"clinic_patient_number": "E-0001"})
    assert _end(night, other, "cancel", "operator", "重複").json()["ended_because"] == "cancelled"


def test_an_ending_refuses_a_wrong_state_a_missing_reason_and_other_roles(night):
    case_id = night.call()  # awaiting triage: no visit decided yet
    wrong = _end(night, case_id, "referred-ems", "operator")
    assert wrong.status_code == 409
    assert wrong.json()["current_state"] == "triage_pending"
    assert f"case K{case_id} is triage_pending" in wrong.json()["detail"]
    offered, _phone = _offered(night)
    not_unfilled = _end(night, offered, "close-unfilled", "coordinator")
    assert (
        not_unfilled.status_code == 409
        and "is offered; closing unfilled ends only" in not_unfilled.json()["detail"]
    )
    for reason in (None, "  "):
        missing = _end(night, offered, "referred-ems", "operator", reason)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    assert _end(night, offered, "referred-ems", "clinic").status_code == 403
    assert _end(night, 999999, "referred-ems", "operator").status_code == 404
    assert night.state(offered) == "offered"


def _on_scene(night) -> tuple[int, str]:
    case_id, phone = _offered(night)
    link = re.search(r"(/visit/[\w.\-]+)", night.reply(phone, "Y")).group(1)
    night.reply(phone, f"{case_id} 到着")
    return case_id, link


def _death(night) -> dict:
    now = night.clock.now()
    return {
        "outcome": "death_pronounced",
        "findings": "呼吸停止、心音なし、瞳孔散大",
        "treatment": "死亡確認",
        "medication": "なし",
        "arrived_at": (now - timedelta(minutes=20)).isoformat(),
        "ended_at": now.isoformat(),
        "death": {
            "noticed_at": (now - timedelta(minutes=60)).isoformat(),
            "confirmed_at": (now - timedelta(minutes=5)).isoformat(),
            "related_to_treated_disease": True,
            "certificate_by": "attending",
            "police_informed": False,
            "note": "ご家族に説明済み",
        },
    }


def _clinic(night, case_id: int) -> Clinic:
    with night.services.session_factory() as session:
        clinic_id = night.case(case_id)["clinic_id"]
        return session.get_one(Clinic, clinic_id)


def test_the_clinic_is_told_of_a_death_at_once_once_and_the_handoff_carries_the_death_record(night):
    case_id, link = _on_scene(night)
    assert night.http.post(link + "/outcome", json=_death(night)).status_code == 200
    night.run_jobs()
    clinic = _clinic(night, case_id)
    told = _texts(night, clinic.handoff_phone)
    assert len(told) == 1
    assert f"#K{case_id} 看取り" in told[0] and f"{night.url}/handoffs?case={case_id}" in told[0]
    with night.services.session_factory() as session:
        patient = session.get_one(Patient, night.case(case_id)["patient_id"])
        for private in (patient.family_name, patient.given_name, patient.address, *patient.diagnoses):
            assert private not in told[0]
    operator = night.headers("operator")
    corrected = {**_death(night), "findings": "呼吸停止、心音なし"}
    assert (
        night.http.post(f"/api/v1/cases/{case_id}/outcome", headers=operator, json=corrected).status_code == 200
    )
    night.run_jobs()
    assert len(_texts(night, clinic.handoff_phone)) == 1  # the same kind: not told twice
    notices = [e for e in night.case(case_id)["timeline"] if e["kind"] == "clinic.notified"]
    assert [e["data"]["outcome"] for e in notices] == ["death_pronounced"]

    from workers.jobs import handoffs

    night.clock.advance(timedelta(hours=9))  # 08:00
    assert len(handoffs()["made"]) == 1
    listed = night.http.get("/api/v1/handoffs", headers=night.headers("clinic")).json()
    detail = night.http.get(f"/api/v1/handoffs/{listed[0]['id']}", headers=night.headers("clinic")).json()
    item = next(i for i in detail["items"] if i["id"] == case_id)
    assert (item["findings"], item["treatment"], item["medication"]) == (
        "呼吸停止、心音なし",
        "死亡確認",
        "なし",
    )
    death = item["death"]
    assert death["related_to_treated_disease"] is True and death["police_informed"] is False
    assert (death["certificate_by"], death["note"]) == ("attending", "ご家族に説明済み")
    assert (
        death["confirming_physician_name"].startswith("代診") and death["confirmed_at"] and death["noticed_at"]
    )


def test_a_clinic_without_a_number_is_noted_and_told_once_it_has_one_and_the_kind_changes(night):
    case_id, link = _on_scene(night)
    clinic = _clinic(night, case_id)
    with night.services.session_factory() as session:
        session.execute(update(Clinic).where(Clinic.id == clinic.id).values(handoff_phone=None))
        session.commit()
    admitted = {
        "outcome": "transported_admitted",
        "findings": "SpO2 82%",
        "treatment": "酸素増量",
        "destination_note": "市内の救急病院",
    }
    assert night.http.post(link + "/outcome", json=admitted).status_code == 200
    kinds = [e["kind"] for e in night.case(case_id)["timeline"]]
    assert "clinic.notice_not_sent" in kinds and "clinic.notified" not in kinds
    with night.services.session_factory() as session:
        session.execute(update(Clinic).where(Clinic.id == clinic.id).values(handoff_phone=clinic.handoff_phone))
        session.commit()
    assert night.http.post(link + "/outcome", json=_death(night)).status_code == 200  # the kind changed
    night.run_jobs()
    assert [b for b in _texts(night, clinic.handoff_phone) if "看取り" in b]
