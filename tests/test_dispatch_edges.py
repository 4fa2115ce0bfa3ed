"""Edges found in review: a sleepy physician, a lost answer, a cancelled visit, Twilio account trouble,
late completions and the morning report, links that must never be stored."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.sms.models import SmsMessage
from tests.night import start_night


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def test_a_physician_who_sent_nonsense_is_still_heard_when_they_answer_properly(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    for text in ("了解です", "向かいますね", "えーと", "??"):
        night.reply(phone, text)
    assert "受諾を受け付けました" in night.reply(phone, "Y")
    assert night.state(case_id) == "accepted"


def test_saying_yes_again_resends_the_link(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    night.reply(phone, "Y")
    again = night.reply(phone, f"{case_id} Y")
    assert "受諾を受け付けました" in again and "/visit/" in again


def test_cancelling_an_accepted_visit_tells_the_physician(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    night.reply(phone, "Y")
    night.http.post(
        f"/api/v1/cases/{case_id}/cancel", headers=night.headers("operator"), json={"reason": "救急搬送"}
    )
    night.run_jobs()
    assert any("取り消されました" in m.body for m in night.fake.sent_to(phone))


def test_twilio_refusing_our_credentials_does_not_rule_the_physician_out(night):
    night.fake.fail_next(3, status=401)  # a rotated token: every try of the matching job refused
    case_id = night.call()
    night.decide_visit(case_id)
    assert night.offers() == []
    with night.services.session_factory() as session:
        assert session.scalar(select(SmsMessage.status).where(SmsMessage.purpose == "offer")) == "pending"
    night.advance(seconds=11)  # the token is fixed; the sweep sends the same offer
    assert len(night.offers()) == 1 and night.state(case_id) == "offered"


def test_a_visit_completed_after_the_morning_report_is_still_handed_off(night):
    from workers.jobs import handoffs

    night.clock.advance(timedelta(hours=8, minutes=30))  # 07:30
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    night.reply(phone, "Y")
    night.reply(phone, f"{case_id} 到着")
    night.clock.advance(timedelta(minutes=31))  # 08:01: the report goes out with the visit still on scene
    assert len(handoffs()["made"]) == 1 and night.state(case_id) == "on_scene"
    night.reply(phone, f"{case_id} 完了")
    handoffs()
    assert night.state(case_id) == "handed_off"
    response = night.http.post(
        f"/api/v1/cases/{case_id}/outcome",
        headers=night.headers("operator"),
        json={"outcome": "treated_at_home"},
    )  # still recordable until acknowledged
    assert response.status_code == 200, response.text


def test_a_manual_offer_to_a_physician_answering_another_offer_is_409(night):
    first = night.call()
    night.decide_visit(first)
    busy_phone = night.offer_for(first).to
    second = night.call(patient={"clinic_patient_number": "E-0001"})
    night.decide_visit(second)
    physicians = night.http.get("/api/v1/roster/physicians", headers=night.headers("coordinator")).json()
    busy = next(p["id"] for p in physicians if night.phone(p["name"]) == busy_phone)
    response = night.http.post(
        f"/api/v1/cases/{second}/offers", headers=night.headers("coordinator"), json={"physician_id": busy}
    )
    assert response.status_code == 409 and "answering an offer" in response.json()["detail"]


def test_details_links_are_never_stored_nor_listed(night):
    case_id = night.call()
    night.decide_visit(case_id)
    answer = night.reply(night.offer_for(case_id).to, "Y")
    token = re.search(r"/visit/([\w.\-]+)", answer).group(1)
    listed = night.http.get("/api/v1/sms/messages", headers=night.headers("operator")).text
    assert token not in listed and "/visit/…" in listed
    with night.services.session_factory() as session:
        assert not any(token in body for body in session.scalars(select(SmsMessage.body)))


def test_patient_search_is_a_post_so_nothing_said_reaches_a_url(night):
    headers = night.headers("operator")
    found = night.http.post("/api/v1/patients/search", headers=headers, json={"name_kana": "インバ"}).json()
    assert [m["clinic_patient_number"] for m in found] == ["D-0001"]
    assert (
        night.http.get("/api/v1/patients", headers=headers, params={"name_kana": "インバ"}).status_code == 405
    )
    empty = night.http.post("/api/v1/patients/search", headers=headers, json={})
    assert empty.status_code == 422 and "give clinic_patient_number" in empty.json()["detail"]


def test_the_coordinator_can_take_an_accepted_case_back_and_give_it_to_someone_else(night):
    case_id = night.call()
    night.decide_visit(case_id)
    first = night.offer_for(case_id).to
    night.reply(first, "Y")
    physicians = night.http.get("/api/v1/roster/physicians", headers=night.headers("coordinator")).json()
    other = next(p for p in physicians if night.phone(p["name"]) not in (first, None))
    held_by = night.case(case_id)["assigned_physician_id"]
    response = night.http.post(
        f"/api/v1/cases/{case_id}/offers",
        headers=night.headers("coordinator"),
        json={"physician_id": other["id"], "replaces_physician_id": held_by},
    )
    assert response.status_code == 200, response.text
    night.run_jobs()
    assert any("担当を解除しました" in m.body for m in night.fake.sent_to(first))  # the first one is told
    assert night.offer_for(case_id).to == night.phone(other["name"])
    assert "担当中の往診はありません" in night.reply(first, f"{case_id} 到着")
    night.reply(night.phone(other["name"]), "Y")
    assert night.state(case_id) == "accepted"


def test_sending_an_offer_logs_no_phone_number_and_none_of_twilios_request_dump(night, caplog):
    caplog.set_level(logging.INFO)  # what a worker logs (`dispatch worker` runs at INFO)
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    night.reply(phone, "Y")
    assert caplog.records, "nothing was logged at all: the capture is not looking at the service"
    assert not [r for r in caplog.records if r.name.startswith("twilio")]
    lines = [r.getMessage() for r in caplog.records]
    assert not [line for line in lines if phone in line or phone[3:] in line]  # +81 or the bare number


def test_a_number_twilio_refuses_is_logged_masked(night, caplog):
    caplog.set_level(logging.INFO)
    phone = night.phone("代診 佐倉")  # the first physician offered tonight's call
    night.fake.reject(phone)  # Twilio's 21211, whose text quotes the number in full
    case_id = night.call()
    night.decide_visit(case_id)
    lines = [r.getMessage() for r in caplog.records]
    assert [line for line in lines if "21211" in line], "the refusal was not logged"
    assert not [line for line in lines if phone in line or phone[3:] in line]
