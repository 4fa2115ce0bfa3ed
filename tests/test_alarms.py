"""Alarms that mean something: live only while a case waits for a physician; the coordinator's picker; why
automatic offering stopped."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from dispatch.programme.models import Municipality
from dispatch.roster.models import shift_coverage
from tests.night import start_night

SAKURA, YACHIMATA, NARITA = "代診 佐倉", "代診 八街", "代診 成田"
COORDINATOR_PHONE = "+819011110900"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def alarms(night) -> list[str]:
    """The references the board's alarm reads (the open cases whose alarm is live)."""
    response = night.http.get("/api/v1/cases?alarm_only=true", headers=night.headers("operator"))
    assert response.status_code == 200, response.text
    return [c["reference"] for c in response.json()]


def candidates(night, case_id: int) -> dict:
    response = night.http.get(f"/api/v1/cases/{case_id}/candidates", headers=night.headers("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def physician_id(night, name: str) -> int:
    return next(
        p["id"]
        for p in night.http.get("/api/v1/roster/physicians", headers=night.headers("admin")).json()
        if p["name"] == name
    )


def test_the_alarm_lives_while_the_case_waits_and_ends_when_it_has_a_physician_or_ends(night):
    case_id = night.call()  # 佐倉市: 佐倉, 八街 and 成田 are on call for it
    night.decide_visit(case_id)
    for _ in range(3):  # three offers left unanswered
        night.advance(minutes=3, seconds=1)
    assert alarms(night) == [f"K{case_id}"]
    assert night.case(case_id)["alarm"] is True
    stopped = candidates(night, case_id)["offering_stopped"]
    assert stopped["reason_code"] == "all_turned_down" and stopped["detail"].startswith(
        "候補の代診医が全員辞退・時間切れ"
    )

    # The coordinator finds 佐倉 on the phone: the alarm is gone at once, from every reading of it.
    sakura = physician_id(night, SAKURA)
    assigned = night.http.post(
        f"/api/v1/cases/{case_id}/assign",
        headers=night.headers("coordinator"),
        json={"physician_id": sakura, "reason": "電話で依頼し承諾を得た"},
    )
    assert assigned.status_code == 200 and assigned.json()["alarm"] is False
    assert alarms(night) == []
    assert night.case(case_id)["alarm"] is False
    assert candidates(night, case_id)["offering_stopped"] is None

    # 佐倉 calls back: the car broke down. The coordinator offers it to 成田, who declines: the alarm is back,
    # and the coordinator is told again by SMS.
    told = len(night.fake.sent_to(COORDINATOR_PHONE))
    moved = night.http.post(
        f"/api/v1/cases/{case_id}/offers",
        headers=night.headers("coordinator"),
        json={"physician_id": physician_id(night, NARITA), "replaces_physician_id": sakura},
    )
    assert moved.status_code == 200 and moved.json()["alarm"] is False  # being offered, by the coordinator
    night.reply(night.phone(NARITA), f"{case_id} N")
    night.run_jobs()
    assert alarms(night) == [f"K{case_id}"]
    assert len(night.fake.sent_to(COORDINATOR_PHONE)) == told + 1

    # The coordinator offers it by hand to 八街, who says yes by SMS: the alarm ends again.
    night.http.post(
        f"/api/v1/cases/{case_id}/offers",
        headers=night.headers("coordinator"),
        json={"physician_id": physician_id(night, YACHIMATA)},
    )
    assert alarms(night) == [f"K{case_id}"]  # offered is still waiting
    night.reply(night.phone(YACHIMATA), f"{case_id} Y")
    assert night.state(case_id) == "accepted" and alarms(night) == []


def test_the_picker_lists_who_is_on_shift_with_travel_time_and_phone(night):
    case_id = night.call()
    night.decide_visit(case_id)
    picked = candidates(night, case_id)
    assert picked["municipality"] == "佐倉市" and picked["offering_stopped"] is None
    on_shift = [p for p in picked["physicians"] if p["covers_town"]]
    assert {p["name"] for p in on_shift} == {SAKURA, YACHIMATA, NARITA}
    assert picked["physicians"][: len(on_shift)] == on_shift  # the town's physicians come first
    sakura = next(p for p in on_shift if p["name"] == SAKURA)
    assert sakura["status"] == "offered" and sakura["phone"] == "090-1111-0102"
    assert all(isinstance(p["travel_min"], int) and p["travel_min"] > 0 for p in on_shift)
    assert sakura["travel_min"] < max(p["travel_min"] for p in on_shift)  # the nearest was offered first
    others = [p for p in picked["physicians"] if not p["covers_town"]]
    assert others and all(p["status"] == "free" for p in others)
    assert [p["status"] for p in on_shift if p["name"] != SAKURA] == ["free", "free"]
    assert "印旛" not in str(picked) and "心不全" not in str(picked)  # no patient data


def test_nobody_on_call_for_the_town_is_said_with_the_town(night):
    with night.services.session_factory() as session:
        inzai = session.scalar(select(Municipality.id).where(Municipality.name == "印西市"))
        session.execute(delete(shift_coverage).where(shift_coverage.c.municipality_id == inzai))
        session.commit()
    case_id = night.call(patient={"clinic_patient_number": "G-0001"})  # 印西市
    night.decide_visit(case_id)
    assert night.state(case_id) == "unfilled" and alarms(night) == [f"K{case_id}"]
    stopped = candidates(night, case_id)["offering_stopped"]
    assert stopped == {
        "reason_code": "nobody_on_call",
        "detail": "当番の代診医がいません（印西市）",
        "municipality": "印西市",
        "count": None,
    }
    alert = night.fake.sent_to(COORDINATOR_PHONE)[-1].body
    assert "当番の代診医がいません（印西市）" in alert

    # Nobody can go: the coordinator closes it unfilled, and the alarm ends with it.
    closed = night.http.post(
        f"/api/v1/cases/{case_id}/close-unfilled",
        headers=night.headers("coordinator"),
        json={"reason": "主治医が朝に対応"},
    )
    assert closed.status_code == 200, closed.text
    assert alarms(night) == [] and night.case(case_id)["alarm"] is False
