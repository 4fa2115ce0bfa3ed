"""Voice calls on the real stack: an offer unanswered by SMS rings the physician (the real twilio client
against the fake Twilio, which fetches our signed TwiML and posts the keys pressed, signed); 1 accepts,
2 declines; forged callbacks refused; a CallSid acted on once; SMS-only physicians never rung."""

from __future__ import annotations

import pytest

from dispatch.patients.models import Patient
from dispatch.sms.twilio_gateway import sign
from simulations.fake_twilio import FakeCall
from tests.night import TWILIO_TOKEN, Night, start_night

SAKURA = "代診 佐倉"
COORDINATOR = "+819011110900"  # the demo programme's coordinator phone
OFFER_SAID = "往診依頼です。案件K{case_id}、佐倉市、緊急度 橙。受諾は1、辞退は2を押してください。"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _offered_then_rung(night: Night) -> tuple[int, int, str, FakeCall]:
    """A call about D-0001 in 佐倉市 (orange: 3 min to answer); the SMS offer is left unanswered 90 s."""
    case_id = night.call()
    night.decide_visit(case_id)
    offer_id = night.case(case_id)["current_offer_id"]
    phone = night.phone(SAKURA)
    assert night.offer_for(case_id).to == phone
    night.advance(seconds=85)
    assert night.fake.calls_to(phone) == []  # not before its time
    night.advance(seconds=10)
    [call] = night.fake.calls_to(phone)
    return case_id, offer_id, phone, call


def _post_signed(night: Night, path: str, params: dict[str, str], signature: str | None = None):
    url = night.url + path
    headers = {"X-Twilio-Signature": signature or sign(TWILIO_TOKEN, url, params)}
    return night.http.post(path, data=params, headers=headers)


def test_an_unanswered_offer_rings_and_key_1_accepts_with_the_link_by_sms_once_per_call_sid(night):
    case_id, offer_id, phone, call = _offered_then_rung(night)
    night.fake.answer(call.sid, "1")
    assert call.said[0] == OFFER_SAID.format(case_id=case_id)
    assert "受諾を受け付けました" in call.said[-1] and call.status == "completed"
    assert night.state(case_id) == "accepted"
    night.run_jobs()
    links = [m for m in night.fake.sent_to(phone) if "/visit/" in m.body]
    assert len(links) == 1 and links[0].body.startswith(f"#K{case_id} 受諾を受け付けました")
    timeline = night.case(case_id)["timeline"]
    assert [e["kind"] for e in timeline].count("call.placed") == 1
    accepted = next(e for e in timeline if e["data"].get("reason_code") == "offer_accepted")
    assert accepted["actor"].startswith("voice:physician-") and accepted["actor_name"] == SAKURA

    # Twilio redelivers the gather (same CallSid), even with another key: acted on once.
    again = {"CallSid": call.sid, "Digits": "2", "From": call.from_, "To": phone}
    answer = _post_signed(night, f"/voice/offer/{offer_id}/gather", again)
    assert answer.status_code == 200 and "受け付け済み" in answer.text
    night.run_jobs()
    assert night.state(case_id) == "accepted"
    assert len([m for m in night.fake.sent_to(phone) if "/visit/" in m.body]) == 1
    night.advance(minutes=5)
    assert len(night.fake.calls_to(phone)) == 1  # one call per offer, whatever the sweep does


def test_key_2_declines_and_the_next_physician_is_offered_after_one_unreadable_key(night):
    case_id, _offer_id, phone, call = _offered_then_rung(night)
    night.fake.answer(call.sid, "7", "2")  # an unreadable key hears the offer once more
    assert call.said[1].startswith("入力を確認できませんでした。往診依頼です。")
    assert call.said[-1].startswith("辞退を受け付けました")
    night.run_jobs()
    assert night.state(case_id) == "offered" and night.offer_for(case_id).to != phone
    timeline = night.case(case_id)["timeline"]
    assert [e["data"].get("reason_code") for e in timeline if e["data"].get("offer_state") == "declined"] == [
        "declined_by_voice"
    ]


def test_forged_voice_callbacks_are_refused_and_an_unanswered_call_is_on_the_timeline(night):
    case_id, offer_id, phone, call = _offered_then_rung(night)
    signed = {"CallSid": call.sid, "Digits": "2", "From": call.from_, "To": phone}
    forged = {**signed, "Digits": "1"}  # a signature over other keys
    gather = f"/voice/offer/{offer_id}/gather"
    assert (
        _post_signed(night, gather, forged, sign(TWILIO_TOKEN, night.url + gather, signed)).status_code == 403
    )
    assert night.http.post(gather, data=forged).status_code == 403
    assert night.http.post(f"/voice/offer/{offer_id}/twiml", data=signed).status_code == 403
    status = {"CallSid": call.sid, "CallStatus": "no-answer"}
    assert _post_signed(night, "/voice/status", status, "forged").status_code == 403
    assert night.state(case_id) == "offered"

    night.fake.end_call(call.sid, "no-answer")
    night.fake.end_call(call.sid, "no-answer")  # a redelivered status: written once
    events = [e for e in night.case(case_id)["timeline"] if e["kind"] == "call.unanswered"]
    assert [e["data"]["status"] for e in events] == ["no-answer"]


def test_the_twiml_holds_no_patient_data(night):
    case_id, _offer_id, phone, call = _offered_then_rung(night)
    twiml = _post_signed(night, call.url.removeprefix(night.url), {"CallSid": call.sid, "To": phone})
    assert twiml.status_code == 200 and twiml.headers["content-type"].startswith("application/xml")
    assert f"案件K{case_id}、佐倉市、緊急度 橙" in twiml.text and 'numDigits="1"' in twiml.text
    with night.services.session_factory() as session:
        detail = night.case(case_id)
        patient = session.get_one(Patient, detail["patient_id"])
        private = [patient.family_name, patient.given_name, patient.address, "印旛 花子", "息苦しさ"]
        private += [detail["callback_phone_e164"], "心不全"]
    assert [p for p in private if p and p in twiml.text] == []


def test_sms_only_physicians_are_never_rung_and_a_refused_number_is_on_the_timeline(night):
    coordinator = night.headers("coordinator")
    roster = night.http.get("/api/v1/roster/physicians", headers=coordinator).json()
    sakura = next(p for p in roster if p["name"] == SAKURA)
    assert sakura["contact"] == "sms_then_call"
    path = f"/api/v1/roster/physicians/{sakura['id']}/contact"
    assert (
        night.http.put(path, json={"contact": "sms_only"}, headers=night.headers("operator")).status_code == 403
    )
    refused = night.http.put(path, json={"contact": "never"}, headers=coordinator)
    assert refused.status_code == 422 and "contact" in refused.text
    assert (
        night.http.put(path, json={"contact": "sms_only"}, headers=coordinator).json()["contact"] == "sms_only"
    )
    case_id = night.call()
    night.decide_visit(case_id)
    night.advance(seconds=95)
    night.advance(seconds=60)
    assert night.fake.calls_to(night.phone(SAKURA)) == []
    night.advance(seconds=30)  # the deadline: the next physician is offered, takes calls; Twilio refuses them
    second = night.offer_for(case_id).to
    assert second != night.phone(SAKURA)
    night.fake.reject(second)
    night.advance(seconds=95)
    failed = [e for e in night.case(case_id)["timeline"] if e["kind"] == "call.failed"]
    assert [e["data"]["error_code"] for e in failed] == ["21211"]


def test_a_coordinator_alert_also_rings_the_coordinator_when_the_setting_asks(settings, clock):
    ringing = settings.model_copy(update={"coordinator_alert_call": True, "offers_before_coordinator_alert": 1})
    with start_night(ringing, clock) as night:
        case_id = night.call()
        night.decide_visit(case_id)
        assert "辞退を受け付けました" in night.reply(night.phone(SAKURA), "N")
        night.run_jobs()
        [call] = night.fake.calls_to(COORDINATOR)
        assert call.url is None  # said inline: nothing to fetch, no keys
        night.fake.answer(call.sid)
        assert call.said == [
            f"往診センターからの要対応連絡です。案件K{case_id}、佐倉市、緊急度 橙。"
            "代診医が決まっていません。コンソールを確認してください。"
        ]
