"""The family told (issue 17, item 6): with the caller's consent, SMS to the callback number when a physician
accepts and sets off (the arrival time) and once if they are late; a case waiting too long becomes the
operator's task to call the family back."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.cases.models import Case
from dispatch.offers.models import Offer, OfferState
from dispatch.patients.models import Enrolment, Patient
from dispatch.roster.models import Physician, PhysicianRole
from tests.factories import intake_body
from tests.night import start_night

FAMILY, OTHER_FAMILY = "+819012345678", "+818011112222"
SAKURA, YACHIMATA = "代診 佐倉", "代診 八街"
CENTRE = "【千葉県往診体制広域連携支援センター】"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _expected_time(now: datetime, travel_min: int) -> str:
    """now + travel, rounded up to five minutes, as the family reads it ('23時35分')."""
    at = now + timedelta(minutes=travel_min)
    step = 5 * 60
    local = datetime.fromtimestamp(math.ceil(at.timestamp() / step) * step, tz=TOKYO)
    return f"{local.hour}時{local.minute}分" if local.minute else f"{local.hour}時"


def _travel_min(night, case_id: int) -> int:
    with night.services.session_factory() as session:
        return session.scalar(
            select(Offer.estimated_travel_min).where(
                Offer.case_id == case_id, Offer.state == OfferState.accepted
            )
        )


def _patient_words(night, number: str) -> list[str]:
    """What identifies the patient: their name, address and diagnoses."""
    with night.services.session_factory() as session:
        patient = session.scalar(
            select(Patient).join(Enrolment).where(Enrolment.clinic_patient_number == number)
        )
        return [patient.family_name, patient.given_name, patient.address, *patient.diagnoses]


def test_with_consent_the_family_hears_the_arrival_time_at_acceptance_and_departure_and_once_if_late(night):
    told = night.call(family_updates_consent=True)
    assert night.case(told)["family_updates_consent"] is True
    untold = night.call(
        patient={"clinic_patient_number": "E-0001"},
        callback_phone="080-1111-2222",
        family_updates_consent=False,
    )
    night.decide_visit(told)
    night.decide_visit(untold, urgency="yellow", jtas_level=3, disposition="visit_standard")
    assert night.fake.sent_to(FAMILY) == []  # nothing before a physician accepts

    night.reply(night.phone(SAKURA), "はい")
    night.reply(night.phone(YACHIMATA), f"{untold} Y")
    night.run_jobs()
    accepted_at = night.clock.now()
    [first] = night.fake.sent_to(FAMILY)
    eta = _expected_time(accepted_at, _travel_min(night, told))
    assert first.body == f"{CENTRE}医師の訪問が決まりました。到着予定は{eta}ごろです。"

    night.clock.advance(timedelta(minutes=4))
    night.reply(night.phone(SAKURA), "出発")
    night.reply(night.phone(SAKURA), "出発")  # a repeat tells nobody twice
    night.reply(night.phone(YACHIMATA), "出発")
    night.run_jobs()
    departed = night.fake.sent_to(FAMILY)[1:]
    assert [m.body for m in departed] == [
        f"{CENTRE}医師がただいま出発しました。到着予定は"
        f"{_expected_time(night.clock.now(), _travel_min(night, told))}ごろです。"
    ]

    # The arrival time passes by the threshold with no 到着: the family hears once, not at every sweep.
    night.advance(minutes=_travel_min(night, told) + 21)
    night.advance(minutes=5)
    late = night.fake.sent_to(FAMILY)[2:]
    assert len(late) == 1 and late[0].body.startswith(f"{CENTRE}医師の到着が予定より遅れております。")

    family_sms = " ".join(m.body for m in night.fake.sent_to(FAMILY))
    for word in [*_patient_words(night, "D-0001"), "佐倉", "印旛", "#K"]:
        assert word not in family_sms, word
    timeline = night.case(told)["timeline"]
    assert [e["data"]["moment"] for e in timeline if e["kind"] == "family.notified"] == [
        "accepted",
        "departed",
        "delayed",
    ]
    outbox = night.http.get(f"/api/v1/sms/messages?case_id={told}", headers=night.headers("operator")).json()
    assert {m["phone_e164"] for m in outbox if m["purpose"].startswith("family_")} == {"…5678"}
    # Without consent, the callback number hears nothing, and nothing is on the timeline.
    assert night.fake.sent_to(OTHER_FAMILY) == []
    assert not [e for e in night.case(untold)["timeline"] if e["kind"].startswith("family.")]


def test_sms_updates_to_a_landline_are_refused_naming_the_field(client, login):
    response = client.post(
        "/api/v1/cases",
        json=intake_body(callback_phone="043-123-4567", family_updates_consent=True),
        headers=login("operator"),
    )
    assert response.status_code == 422
    assert "family_updates_consent" in response.text and "landline" in response.text
    fine = client.post(
        "/api/v1/cases", json=intake_body(callback_phone="043-123-4567"), headers=login("operator")
    )
    assert fine.status_code == 201, fine.text
    assert fine.json()["state"] == "triage_pending"


def test_a_case_left_waiting_becomes_a_call_back_task_until_it_is_marked_done(night):
    operator = night.headers("operator")
    waiting = night.call()
    night.decide_visit(waiting)
    night.advance(minutes=19)
    assert night.http.get("/api/v1/family/callbacks", headers=operator).json() == []
    night.advance(minutes=2)
    [task] = night.http.get("/api/v1/family/callbacks", headers=operator).json()
    assert (task["case_id"], task["reference"], task["waiting_min"]) == (waiting, f"K{waiting}", 21)

    done = night.http.post(f"/api/v1/cases/{waiting}/family-callback", headers=operator, json={})
    assert done.status_code == 200, done.text
    assert night.http.get("/api/v1/family/callbacks", headers=operator).json() == []
    called = [e for e in night.case(waiting)["timeline"] if e["kind"] == "family.called_back"]
    assert len(called) == 1 and called[0]["actor"] == "user:operator"

    # Another waits past the threshold, then the coordinator assigns a physician by phone: its task goes by
    # itself, and the family (who agreed) hears the arrival time, from where that physician is.
    other = night.call(
        patient={"clinic_patient_number": "E-0001"}, callback_phone="080-1111-2222", family_updates_consent=True
    )
    night.decide_visit(other, urgency="yellow", jtas_level=3, disposition="visit_standard")
    night.advance(minutes=21)
    assert [t["case_id"] for t in night.http.get("/api/v1/family/callbacks", headers=operator).json()] == [
        other
    ]
    assigned = night.http.post(
        f"/api/v1/cases/{other}/assign",
        headers=night.headers("coordinator"),
        json={"physician_id": _free_physician(night, other), "reason": "電話で依頼し承諾を得た"},
    )
    assert assigned.status_code == 200, assigned.text
    night.run_jobs()
    assert night.http.get("/api/v1/family/callbacks", headers=operator).json() == []
    travel = _travel_min(night, other)
    assert travel > 5
    assert [m.body for m in night.fake.sent_to(OTHER_FAMILY)] == [
        f"{CENTRE}医師の訪問が決まりました。到着予定は{_expected_time(night.clock.now(), travel)}ごろです。"
    ]
    gone = night.http.post(f"/api/v1/cases/{other}/family-callback", headers=operator, json={})
    assert gone.status_code == 409 and "case_id" in gone.json()["detail"]


def _free_physician(night, case_id: int) -> int:
    """A substitute physician answering no offer for another case and holding no visit."""
    with night.services.session_factory() as session:
        elsewhere = select(Offer.physician_id).where(
            Offer.state == OfferState.pending, Offer.case_id != case_id
        )
        holding = select(Case.assigned_physician_id).where(Case.assigned_physician_id.is_not(None))
        return session.scalar(
            select(Physician.id)
            .where(
                Physician.role == PhysicianRole.substitute,
                Physician.active.is_(True),
                Physician.base_latitude.is_not(None),
                Physician.id.not_in(elsewhere),
                Physician.id.not_in(holding),
            )
            .order_by(Physician.id)
            .limit(1)
        )
