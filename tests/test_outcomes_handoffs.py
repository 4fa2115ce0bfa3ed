"""After the visit: the outcome (and death record), the morning handoff to the clinic, and the noon flag."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.outcomes.models import DeathRecord
from tests.night import PASSWORDS, start_night

PASSWORDS.setdefault("clinic", "clinic-demo")
PASSWORDS.setdefault("prefecture", "prefecture-demo")


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _on_scene(night, **call) -> tuple[int, str]:
    case_id = night.call(**call)
    night.decide_visit(case_id, disposition="expected_death_visit", urgency="yellow", jtas_level=3)
    phone = night.offer_for(case_id).to
    link = re.search(r"(/visit/[\w.\-]+)", night.reply(phone, "Y")).group(1)
    night.reply(phone, f"{case_id} 到着")
    return case_id, link


def _death(night, minutes_after: int = 0) -> dict:
    now = night.clock.now()
    return {
        "outcome": "death_pronounced",
        "findings": "呼吸停止、心音なし、瞳孔散大",
        "treatment": "死亡確認",
        "arrived_at": (now - timedelta(minutes=20)).isoformat(),
        "ended_at": now.isoformat(),
        "death": {
            "noticed_at": (now - timedelta(minutes=60)).isoformat(),
            "confirmed_at": (now - timedelta(minutes=5 - minutes_after)).isoformat(),
            "related_to_treated_disease": True,
            "certificate_by": "attending",
            "police_informed": False,
        },
    }


def test_the_physician_records_a_death_at_home_through_the_link(night):
    case_id, link = _on_scene(night)
    response = night.http.post(link + "/outcome", json=_death(night))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "visit_completed"
    with night.services.session_factory() as session:
        death = session.get(DeathRecord, case_id)
        assert death.certificate_by.value == "attending" and death.related_to_treated_disease
        assert death.confirming_physician_id is not None
    read = night.http.get(f"/api/v1/cases/{case_id}/outcome", headers=night.headers("operator")).json()
    assert read["outcome"] == "death_pronounced" and read["death"]["police_informed"] is False


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"death": None}, "death: a death pronounced at home needs the death record"),
        ({"outcome": "treated_at_home"}, "death: only for the outcome death_pronounced"),
        ({"ended_at": "2025-01-15T22:00:00+09:00"}, "ended_at: cannot be before arrived_at"),
        ({"arrived_at": "2025-01-15T23:00:00"}, "arrived_at: give a time zone offset"),
    ],
)
def test_an_inconsistent_outcome_is_refused_in_words(night, change, words):
    case_id, _link = _on_scene(night)
    body = {**_death(night), **change}
    response = night.http.post(f"/api/v1/cases/{case_id}/outcome", headers=night.headers("operator"), json=body)
    assert response.status_code == 422
    assert words in response.json()["detail"]
    assert night.state(case_id) == "on_scene"


def test_the_death_record_must_confirm_after_it_was_noticed(night):
    case_id, _link = _on_scene(night)
    body = _death(night)
    body["death"]["confirmed_at"], body["death"]["noticed_at"] = (
        body["death"]["noticed_at"],
        body["death"]["confirmed_at"],
    )
    response = night.http.post(f"/api/v1/cases/{case_id}/outcome", headers=night.headers("operator"), json=body)
    assert (
        response.status_code == 422 and "confirmed_at: cannot be before noticed_at" in response.json()["detail"]
    )


def test_the_morning_handoff_reaches_each_clinic_and_is_acknowledged(night):
    visit, _link = _on_scene(night)
    night.http.post(
        f"/api/v1/cases/{visit}/outcome",
        headers=night.headers("operator"),
        json={"outcome": "treated_at_home", "treatment": "酸素流量調整"},
    )
    consult = night.call(patient={"clinic_patient_number": "E-0001"})
    doctor = night.headers("consult")
    night.http.post(f"/api/v1/cases/{consult}/claim", headers=doctor)
    night.http.post(
        f"/api/v1/cases/{consult}/decision",
        headers=doctor,
        json={"disposition": "advice_only", "urgency": "green", "jtas_level": 5},
    )

    from workers.jobs import handoffs

    assert handoffs() == {"made": [], "flagged": []}  # 23:00: not yet morning
    night.clock.advance(timedelta(hours=9))  # 08:00
    made = handoffs()
    assert len(made["made"]) == 2
    assert handoffs()["made"] == []  # the job again: nothing new
    assert night.state(visit) == "handed_off" and night.state(consult) == "closed_consultation"
    night.run_jobs()
    announced = [m.body for m in night.fake.messages if m.body.startswith("【申し送り】")]
    assert len(announced) == 2 and all("/api/v1/handoffs/" in b for b in announced)
    assert not any("印旛" in b or "四街道 よし子" in b for b in announced)  # no patient in the SMS

    clinic = night.headers("clinic")  # D病院's admin
    listed = night.http.get("/api/v1/handoffs", headers=clinic).json()
    assert [h["clinic_label"] for h in listed] == ["D病院"] and listed[0]["cases"] == 1
    detail = night.http.get(f"/api/v1/handoffs/{listed[0]['id']}", headers=clinic).json()
    assert [(i["reference"], i["outcome"]) for i in detail["items"]] == [(f"K{visit}", "treated_at_home")]
    with night.services.session_factory() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "handoff.case.read"))
    night.http.post(f"/api/v1/handoffs/{listed[0]['id']}/acknowledge", headers=clinic)
    assert night.state(visit) == "closed"

    night.clock.advance(timedelta(hours=4, minutes=1))  # 12:01: E's report is still unread
    flagged = handoffs()["flagged"]
    assert len(flagged) == 1
    night.run_jobs()
    assert any(m.body.startswith("【申し送り未受領】Eクリニック") for m in night.fake.sent_to("+819011110900"))
    assert handoffs()["flagged"] == []  # flagged once


def test_the_prefecture_report_counts_the_nights_work(night):
    _case_id, link = _on_scene(night)
    night.http.post(link + "/outcome", json=_death(night))
    report = night.http.get(
        "/api/v1/reports/clinics?fiscal_year=2024", headers=night.headers("prefecture")
    ).json()
    d = next(r for r in report["rows"] if r["clinic_label"] == "D病院")
    assert (d["house_calls"], d["end_of_life"], d["consultations"]) == (1, 1, 0)
