"""A physician's reply the webhook never got (the API down or restarting as Twilio posted it; Twilio does not
post again): the reconciler lists what Twilio received, through the real twilio client against the fake, and
acts on it, its answer sent as an SMS."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch.cases.models import Case
from dispatch.sms.models import SmsMessage
from tests.night import start_night

SAKURA = "代診 佐倉"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _answers(night, phone: str) -> list[str]:
    """What reached the phone as an SMS of its own (not a webhook's TwiML answer)."""
    return [
        m.body for m in night.fake.sent_to(phone) if m.via == "api" and not m.body.startswith("【往診依頼】")
    ]


def _inbound(night, sid: str) -> int:
    with night.services.session_factory() as session:
        return session.scalar(select(func.count()).where(SmsMessage.provider_sid == sid)) or 0


def test_an_acceptance_the_api_never_got_is_acted_on_and_answered_by_sms(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.phone(SAKURA)
    night.fake.send_inbound(phone, "はい", lost=True)
    night.advance(seconds=10)  # its webhook may still be on its way: left to it
    assert night.state(case_id) == "offered"
    night.advance(seconds=30)
    assert night.state(case_id) == "accepted"
    [answer] = _answers(night, phone)
    assert "受諾を受け付けました" in answer and "/visit/" in answer
    night.advance(seconds=60)
    assert len(_answers(night, phone)) == 1  # acted on once, whatever the later polls see


def test_a_reply_the_webhook_got_is_never_acted_on_again(night):
    _, phone = _accepted(night)
    sid = next(m.sid for m in night.fake.messages if m.via == "inbound")
    for _ in range(3):
        night.advance(seconds=40)
    assert _answers(night, phone) == []  # the TwiML answer was the answer
    assert _inbound(night, sid) == 1


def test_an_acceptance_found_after_the_deadline_tells_the_physician_it_closed(night):
    """Twilio's list was out too until the offer timed out: the physician learns not to set off."""
    case_id = night.call()
    night.decide_visit(case_id)  # red: three minutes to answer
    phone = night.phone(SAKURA)
    night.fake.send_inbound(phone, f"{case_id} Y", lost=True)
    night.fake.outage()
    night.advance(minutes=2)
    night.fake.recover()
    night.advance(minutes=2)
    assert night.offer_for(case_id).to != phone  # timed out: the next physician has it
    assert _answers(night, phone) == [f"#K{case_id} の依頼は締め切られました。返信ありがとうございました。"]


def test_a_bare_yes_found_late_never_accepts_an_offer_sent_after_it(night):
    """The physician answered 「はい」 to case A; by the time it is found, A has timed out and they have been
    offered case B. The 「はい」 was not an answer to B."""
    first = night.call()
    night.decide_visit(first)
    phone = night.phone(SAKURA)
    night.fake.send_inbound(phone, "はい", lost=True)
    night.fake.outage()
    night.advance(minutes=3, seconds=5)
    night.fake.recover()
    night.advance(seconds=15)  # the next physician's SMS for A, held up by the outage, goes now
    assert night.state(first) == "offered" and night.offer_for(first).to != phone  # A timed out
    second = night.call(patient={"clinic_patient_number": "E-0001"})
    night.decide_visit(second, urgency="yellow", jtas_level=3, disposition="visit_standard")
    if night.offer_for(second).to != phone:  # the coordinator offers B to them by hand
        sakura = next(p["id"] for p in _physicians(night) if p["name"] == SAKURA)
        offered = night.http.post(
            f"/api/v1/cases/{second}/offers",
            json={"physician_id": sakura},
            headers=night.headers("coordinator"),
        )
        assert offered.status_code == 200, offered.text
    assert night.offer_for(second).to == phone
    night.advance(seconds=31)
    assert night.state(second) == "offered"  # B still waits for its own answer
    assert f"#K{first} の依頼は締め切られました。返信ありがとうございました。" in _answers(night, phone)


def _accepted(night) -> tuple[int, str]:
    """A call whose offer 代診 佐倉 accepted through the webhook; the case and their phone."""
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.phone(SAKURA)
    assert "受諾を受け付けました" in night.reply(phone, "はい")
    return case_id, phone


def _physicians(night) -> list[dict]:
    response = night.http.get("/api/v1/roster/physicians", headers=night.headers("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def test_an_arrival_found_late_is_recorded_at_the_time_it_was_sent(night):
    """Call → arrival is what the prefecture's statistics count: not the moment the sweep found the SMS."""
    case_id, phone = _accepted(night)
    night.advance(minutes=20)
    sent = night.clock.now()
    night.fake.send_inbound(phone, f"{case_id} 到着", lost=True)
    night.advance(seconds=45)  # found by a poll: 20 s left to its webhook, then the next poll
    assert night.state(case_id) == "on_scene"
    with night.services.session_factory() as session:
        case = session.get_one(Case, case_id)
        assert case.arrived_at == sent
    assert any(f"#K{case_id}" in answer for answer in _answers(night, phone))


def test_a_step_found_late_never_lands_on_a_case_accepted_after_it_was_sent(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.phone(SAKURA)
    night.fake.send_inbound(phone, "到着", lost=True)  # holding no case yet: about some other visit
    night.advance(seconds=5)
    assert "受諾を受け付けました" in night.reply(phone, "はい")
    night.advance(seconds=40)
    assert night.state(case_id) == "accepted"
    assert _answers(night, phone) == []


def test_a_step_found_late_that_the_case_has_passed_is_let_go_in_silence(night):
    case_id, phone = _accepted(night)
    night.advance(minutes=5)
    night.fake.send_inbound(phone, f"{case_id} 出発", lost=True)
    night.advance(seconds=5)  # a short drive: 到着 reaches the webhook before anyone looks for the 出発
    assert "到着" in night.reply(phone, f"{case_id} 到着")
    night.advance(seconds=40)  # the lost 出発 found now: the visit is past it
    assert night.state(case_id) == "on_scene"
    assert _answers(night, phone) == []  # not 「先に到着と返信してください」
