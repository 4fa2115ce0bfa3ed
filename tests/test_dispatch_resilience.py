"""No case stalls silently: a worker killed mid-job, Redis flushed mid-night, one physician for two cases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from dispatch.clock import ManualClock
from dispatch.offers.models import Offer, OfferState
from dispatch.roster.models import Physician
from dispatch.sms.models import SmsMessage
from tests.factories import decision_body
from tests.night import start_night, worker_env


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _decide_without_running_jobs(night, case_id: int) -> None:
    doctor = night.headers("consult")
    night.http.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    assert (
        night.http.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body()).status_code
        == 200
    )


def test_a_worker_killed_mid_job_still_gets_the_case_its_offer(settings):
    # The worker is a real process on the wall clock, so this night happens now.
    with start_night(settings, ManualClock(datetime.now(UTC))) as night:
        night.fake.delay(30)  # Twilio hangs: the worker will be inside the send when it dies
        case_id = night.call()
        _decide_without_running_jobs(night, case_id)
        env = worker_env(settings, night)
        worker = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "worker", "--no-scheduler"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with night.services.session_factory() as session:
                    if session.scalar(select(SmsMessage.id).where(SmsMessage.status == "claimed")):
                        break
                time.sleep(0.05)
            else:
                pytest.fail("the worker never got to sending the offer")
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, mid-send
            worker.wait()
        night.fake.delay(0)
        assert night.offers() == []  # the SMS never left
        assert night.state(case_id) == "offered"
        night.advance(seconds=61)  # the sweep finds the lost send and does it again
        offers = [m for m in night.offers() if f"#K{case_id} " in m.body]
        assert len(offers) == 1
        assert night.state(case_id) == "offered"


def test_redis_flushed_in_the_night_every_open_case_resumes_from_the_database(night):
    offered = night.call()
    night.decide_visit(offered)
    first_physician = night.offer_for(offered).to
    waiting = night.call(patient={"clinic_patient_number": "E-0001"})
    _decide_without_running_jobs(night, waiting)  # its matching job is queued, not run
    assert night.state(waiting) == "dispatching"

    # Every queued job, scheduled deadline and counter: gone (this database only; FLUSHALL would also wipe
    # whatever else shares the server, a benchmark's clock for one).
    night.services.redis.flushdb()

    night.advance(seconds=11)
    assert night.state(waiting) == "offered"  # the sweep re-drove the case nobody held
    night.advance(minutes=3)
    assert night.state(offered) == "offered"
    assert night.offer_for(offered).to != first_physician  # the lost deadline was kept by the database


def test_two_cases_waiting_for_one_physician(night):
    with night.services.session_factory() as session:  # only 佐倉 is working tonight; it covers both towns
        session.execute(
            update(Physician)
            .where(Physician.name != "代診 佐倉", Physician.role == "substitute")
            .values(active=False)
        )
        session.commit()
    phone = night.phone("代診 佐倉")
    green = night.call(consciousness="alert", breathing="normal", vitals={}, provisional_urgency="green")
    red = night.call(patient={"clinic_patient_number": "E-0001"}, consciousness="unresponsive")
    for case_id, colour, level in ((green, "green", 4), (red, "red", 1)):
        doctor = night.headers("consult")
        night.http.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
        night.http.post(
            f"/api/v1/cases/{case_id}/decision",
            headers=doctor,
            json=decision_body(urgency=colour, jtas_level=level),
        )
    night.run_jobs()
    assert (night.state(red), night.state(green)) == ("offered", "unfilled")  # the red case goes first
    night.reply(phone, "Y")
    night.reply(phone, f"{red} 到着")
    night.advance(seconds=31)
    assert night.state(green) == "unfilled"  # still busy with the red case
    night.reply(phone, f"{red} 完了")
    night.advance(seconds=31)
    assert night.state(green) == "offered"
    with night.services.session_factory() as session:
        offers = session.execute(select(Offer.case_id, Offer.state).order_by(Offer.id)).all()
    assert [(c, s) for c, s in offers] == [(red, OfferState.accepted), (green, OfferState.pending)]
    assert len(night.offers(phone)) == 2


def test_deadline_jobs_early_late_or_twice_do_no_harm(night):
    from dispatch.flow import runner

    case_id = night.call()
    night.decide_visit(case_id)
    with night.services.session_factory() as session:
        offer_id = session.scalar(select(Offer.id).where(Offer.case_id == case_id))
    assert runner.on_deadline(night.services, offer_id) is False  # early: not its turn yet
    assert night.state(case_id) == "offered"
    night.clock.advance(timedelta(minutes=3, seconds=1))
    assert runner.on_deadline(night.services, offer_id) is True
    assert runner.on_deadline(night.services, offer_id) is False  # the same trigger again
    second = night.offer_for(case_id).to
    night.reply(second, "Y")
    assert runner.on_deadline(night.services, offer_id) is False  # late, after someone accepted
    assert night.state(case_id) == "accepted"


def test_the_database_refuses_a_physician_two_active_cases(night):
    from sqlalchemy.exc import IntegrityError

    from dispatch.cases.models import Case

    first, second = night.call(), night.call()
    night.decide_visit(first)
    night.reply(night.offer_for(first).to, "Y")
    with night.services.session_factory() as session:
        holder = session.get(Case, first).assigned_physician_id
        with pytest.raises(IntegrityError):
            session.execute(
                update(Case).where(Case.id == second).values(assigned_physician_id=holder, state="accepted")
            )


def test_an_offer_whose_claim_the_sweep_took_over_is_not_sent_twice(night):
    from dispatch.db import unit_of_work
    from dispatch.flow import rounds, runner

    case_id = night.call()
    _decide_without_running_jobs(night, case_id)
    services = night.services
    with unit_of_work(services.session_factory) as session:  # the round, as its job runs it
        [message] = rounds.match_round(session, services.clock, services.reference.programme(session))
    # The job is slow to reach this send (Twilio hung on the round's earlier offers): the sweep releases the
    # claim and sends the offer itself.
    night.advance(seconds=31)
    assert len(night.offers()) == 1
    assert not runner.send(services, message)  # the job gets there at last and finds it sent
    assert len(night.offers()) == 1 and night.state(case_id) == "offered"
