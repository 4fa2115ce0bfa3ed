"""A night of house calls through the real stack: offers by SMS, replies, deadlines, escalation."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.night import start_night

SAKURA, YACHIMATA, INZAI, SHIROI, NARITA = "代診 佐倉", "代診 八街", "代診 印西", "代診 白井", "代診 成田"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def test_one_night_three_calls_a_decline_a_timeout_an_alert_and_everyone_seen(night):
    """Three calls; one declined offer, one timed out, one coordinator alert; all three reach on_scene."""
    # 1. 佐倉市: the physician based in 佐倉 is nearest; a bare 'はい' accepts their one pending offer.
    first = night.call()
    night.decide_visit(first)
    assert night.state(first) == "offered"
    assert night.offer_for(first).to == night.phone(SAKURA)
    assert "印旛" not in night.offer_for(first).body and "心不全" not in night.offer_for(first).body
    answer = night.reply(night.phone(SAKURA), "はい")
    assert "受諾を受け付けました" in answer and "/visit/" in answer
    assert night.state(first) == "accepted"

    # 2. 四街道市: 佐倉 is busy now; 八街 is the nearest free physician covering 四街道.
    second = night.call(patient={"clinic_patient_number": "E-0001"})
    night.decide_visit(second, urgency="yellow", jtas_level=3, disposition="visit_standard")
    assert night.offer_for(second).to == night.phone(YACHIMATA)
    night.reply(night.phone(YACHIMATA), f"{second} Y")
    assert night.state(second) == "accepted"

    # 3. 印西市: 印西 declines, 白井 never answers, nobody else covers 印西: the coordinator is alerted.
    third = night.call(patient={"clinic_patient_number": "G-0001"})
    night.decide_visit(third, urgency="orange", jtas_level=2)
    assert night.offer_for(third).to == night.phone(INZAI)
    assert "辞退を受け付けました" in night.reply(night.phone(INZAI), f"{third} N")
    night.run_jobs()
    assert night.offer_for(third).to == night.phone(SHIROI)
    night.advance(minutes=2)
    assert night.state(third) == "offered"  # orange: three minutes to answer
    night.advance(minutes=1, seconds=5)
    assert night.state(third) == "unfilled"
    events = night.case(third)["timeline"]
    assert [e["data"]["offer_state"] for e in events if e["data"].get("offer_state")] == [
        "declined",
        "timed_out",
    ]
    assert [e["kind"] for e in events].count("alert.coordinator") == 1
    coordinator = night.fake.sent_to("+819011110900")
    assert len(coordinator) == 1 and coordinator[0].body.startswith("【要対応】#K")

    # Offering goes on: the coordinator puts 成田 on call for 印西 too, and the sweep offers it.
    narita_id = night.http.get("/api/v1/roster/on-call", headers=night.headers("coordinator")).json()
    narita_id = next(s["physician_id"] for s in narita_id if s["physician_name"] == NARITA)
    now = night.clock.now()
    shift = night.http.post(
        "/api/v1/roster/shifts",
        headers=night.headers("coordinator"),
        json={
            "physician_id": narita_id,
            "starts_at": now.isoformat(),
            "ends_at": (now.replace(hour=23)).isoformat(),
            "coverage": [
                m["id"]
                for m in night.http.get("/api/v1/programme", headers=night.headers("coordinator")).json()[
                    "municipalities"
                ]
                if m["name"] == "印西市"
            ],
        },
    )
    assert shift.status_code == 201, shift.text
    night.advance(seconds=31)
    assert night.offer_for(third).to == night.phone(NARITA)
    night.reply(night.phone(NARITA), f"{third} はい")

    # Everyone arrives.
    for case_id, name in ((first, SAKURA), (second, YACHIMATA), (third, NARITA)):
        assert "到着を記録しました" in night.reply(night.phone(name), f"{case_id} 到着")
        assert night.state(case_id) == "on_scene"

    # No physician ever received the same offer twice.
    offers = Counter((m.to, m.body) for m in night.offers())
    assert offers and max(offers.values()) == 1


def test_a_declined_offer_goes_to_the_next_physician(night):
    case_id = night.call()
    night.decide_visit(case_id)
    first = night.offer_for(case_id).to
    night.reply(first, "N")
    night.run_jobs()
    assert night.state(case_id) == "offered"
    assert night.offer_for(case_id).to != first


def test_a_chain_of_timeouts_ends_in_a_coordinator_alert_and_offering_goes_on(night):
    case_id = night.call()  # 佐倉市: 佐倉, 八街 and 成田 cover it
    night.decide_visit(case_id)
    offered = []
    for _ in range(3):
        offered.append(night.offer_for(case_id).to)
        night.advance(minutes=3, seconds=1)
    timeline = night.case(case_id)["timeline"]
    assert [e["kind"] for e in timeline].count("alert.coordinator") == 1
    assert len(set(offered)) == 3
    assert night.state(case_id) == "unfilled"
    assert len(night.fake.sent_to("+819011110900")) == 1


def test_the_same_inbound_webhook_twice_is_acted_on_once(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    first = night.fake.send_inbound(phone, "Y", sid="SMduplicate0001")
    again = night.fake.send_inbound(phone, "Y", sid="SMduplicate0001")
    assert "受諾" in first.text
    assert "<Message>" not in again.text  # nothing new to say
    accepted = [e for e in night.case(case_id)["timeline"] if e["to_state"] == "accepted"]
    assert len(accepted) == 1


def test_a_forged_signature_is_refused_and_changes_nothing(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    response = night.fake.send_inbound(phone, "Y", signature="Zm9yZ2VkIHNpZ25hdHVyZQ==")
    assert response.status_code == 403
    assert night.state(case_id) == "offered"
    status = night.http.post("/webhooks/twilio/status", data={"MessageSid": "SMx", "MessageStatus": "failed"})
    assert status.status_code == 403


def test_an_unknown_number_learns_nothing_and_is_silenced_after_repeated_nonsense(night):
    case_id = night.call()
    night.decide_visit(case_id)
    answer = night.reply("+819099998888", f"{case_id} Y")
    assert "この番号は登録されていません" in answer
    assert f"K{case_id}" not in answer and night.state(case_id) == "offered"
    for _ in range(3):
        night.reply("+819099998888", "??")
    assert "<Message>" not in night.reply("+819099998888", "Y")


def test_twilio_answering_500_then_201_still_delivers_the_offer_once(night):
    night.fake.fail_next(1, status=500)
    case_id = night.call()
    night.decide_visit(case_id)
    assert night.fake.requests == 2
    assert len([m for m in night.offers() if f"#K{case_id} " in m.body]) == 1
    assert night.state(case_id) == "offered"


def test_an_invalid_number_21211_moves_straight_to_the_next_physician(night):
    night.fake.reject(night.phone(SAKURA))
    case_id = night.call()
    night.decide_visit(case_id)
    night.run_jobs()
    assert night.offer_for(case_id).to != night.phone(SAKURA)
    ended = [e["data"].get("offer_state") for e in night.case(case_id)["timeline"]]
    assert "failed" in ended


def test_an_undelivered_status_callback_moves_on_without_waiting_for_the_deadline(night):
    case_id = night.call()
    night.decide_visit(case_id)
    message = night.offer_for(case_id)
    night.fake.deliver(message.sid, statuses=("sent", "undelivered"), error_code="30003")
    night.run_jobs()
    assert night.offer_for(case_id).to != message.to
    night.fake.deliver(message.sid, statuses=("sent",))  # a late, out-of-order status changes nothing
    assert night.state(case_id) == "offered"
