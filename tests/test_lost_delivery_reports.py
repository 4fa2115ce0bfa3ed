"""Delivery reports that never came: Twilio posts each status once, and a post that fails (the API restarting,
a dropped connection) is not posted again. The reconciler asks Twilio for the status of a message quiet for
`sms_status_check_after_s`, through the real twilio client against the fake, and records it as the callback
would have been."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.flow import reconciler
from dispatch.sms.models import SmsMessage
from tests.night import start_night

SAKURA = "代診 佐倉"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _stored(night, sid: str) -> SmsMessage:
    with night.services.session_factory() as session:
        return session.scalars(select(SmsMessage).where(SmsMessage.provider_sid == sid)).one()


def test_a_lost_undelivered_report_is_asked_for_and_the_next_physician_offered_before_the_deadline(night):
    case_id = night.call()
    night.decide_visit(case_id, urgency="yellow", jtas_level=3, disposition="visit_standard")  # 5 min
    first = night.offer_for(case_id)
    assert first.to == night.phone(SAKURA)
    night.fake.deliver(first.sid, statuses=("sent", "undelivered"), error_code="30003", lost=True)
    night.advance(seconds=60)
    assert night.fake.fetched == []  # a report may still come: nobody asks yet
    assert night.offer_for(case_id).sid == first.sid

    night.advance(seconds=65)  # two minutes quiet: asked, 3 minutes before the offer's own deadline
    assert night.fake.fetched == [first.sid]
    stored = _stored(night, first.sid)
    assert (stored.status, stored.error_code) == ("undelivered", "30003")
    assert night.offer_for(case_id).to != first.to
    ended = [e["data"].get("offer_state") for e in night.case(case_id)["timeline"]]
    assert "failed" in ended and "timed_out" not in ended


def test_a_delivered_sms_whose_reports_were_lost_is_recorded_delivered(night):
    case_id = night.call()
    night.decide_visit(case_id)
    offer = night.offer_for(case_id)
    night.fake.deliver(offer.sid, lost=True)
    assert _stored(night, offer.sid).status == "queued"
    night.advance(seconds=125)
    assert _stored(night, offer.sid).status == "delivered"
    assert night.state(case_id) == "offered"  # delivered is no reason to move on
    night.advance(seconds=125)
    assert night.fake.fetched == [offer.sid]  # known now: never asked again


def test_a_message_twilio_still_holds_is_asked_ever_less_often_and_not_after_an_hour(night):
    """A carrier that never reports: asked at 2, 4, 8, 16 and 32 minutes, not every pass or every 2 minutes."""
    case_id = night.call()
    night.decide_visit(case_id)
    offer = night.offer_for(case_id)  # no report ever: Twilio still says `queued`
    night.advance(seconds=125)
    assert night.fake.fetched.count(offer.sid) == 1
    for _ in range(5):  # the sweep runs every few seconds; it asks again only once the SMS is twice as old
        night.advance(seconds=5)
    assert night.fake.fetched.count(offer.sid) == 1
    night.advance(seconds=110)
    assert night.fake.fetched.count(offer.sid) == 2
    assert _stored(night, offer.sid).status == "queued"
    for _ in range(64):
        night.advance(minutes=1)
    assert night.fake.fetched.count(offer.sid) == 5
    night.advance(minutes=3)
    assert night.fake.fetched.count(offer.sid) == 5  # an hour on, a report is no use: nobody asks


def test_a_message_twilio_does_not_know_is_asked_once_and_holds_up_no_other(night):
    """A 404 (the message deleted or redacted at Twilio) is an answer: the next one is asked all the same."""
    first, second = night.call(), night.call(patient={"clinic_patient_number": "E-0001"})
    night.decide_visit(first)
    night.decide_visit(second)
    gone, kept = night.offer_for(first), night.offer_for(second)
    night.fake.deliver(kept.sid, lost=True)
    night.fake.messages.remove(gone)
    night.advance(seconds=125)
    assert (_stored(night, gone.sid).status, _stored(night, kept.sid).status) == ("queued", "delivered")
    for _ in range(10):
        night.advance(minutes=5)
    assert night.fake.fetched.count(gone.sid) == 1


def test_twilio_down_while_asking_changes_nothing_and_the_next_pass_after_it_returns_records_it(night):
    first, second = night.call(), night.call(patient={"clinic_patient_number": "E-0001"})
    night.decide_visit(first)
    night.decide_visit(second)
    offers = [night.offer_for(first), night.offer_for(second)]
    for offer in offers:
        night.fake.deliver(offer.sid, lost=True)
    night.fake.outage()
    night.advance(seconds=125)
    # One refused ask ends the pass: a Twilio that hangs must not cost a timeout per message.
    assert len(night.fake.fetched) == 1
    assert [_stored(night, o.sid).status for o in offers] == ["queued", "queued"]
    night.fake.recover()
    sweep = reconciler.reconcile(night.services)
    assert [_stored(night, o.sid).status for o in offers] == ["delivered", "delivered"]
    assert len(sweep.reported) == 2
