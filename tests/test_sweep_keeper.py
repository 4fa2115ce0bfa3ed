"""The sweep without cron: a worker's keeper sweeps only while cron's sweeps are overdue, one worker at a time,
says so in one line each way and never dies of an outage; two sweeps at once do each thing once; a number
Twilio refused for good is not tried again; health tells a dead cron from a dead pipeline; and a worker
takes RQ's scheduler over from a dead one."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from sqlalchemy import select

from dispatch import embedded, jobs
from dispatch.embedded import free_port
from dispatch.flow import reconciler
from dispatch.flow.keeper import SweepKeeper
from dispatch.heartbeats import CRON_SWEEP, RECONCILER, WORKER_SWEEP, Sweeper, beat
from dispatch.offers.models import Offer, OfferState
from dispatch.queue import QUEUE_NAME, dispatch_queue, enqueue
from dispatch.services import Services
from dispatch.sms.models import SmsMessage
from tests.night import start_night
from tests.observability_support import metric_samples, sample
from tests.production import wait_for


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _cron_swept(redis: Redis, seconds_ago: float) -> None:
    redis.set(f"dispatch:heartbeat:{CRON_SWEEP}", time.time() - seconds_ago)


def _worker_sweeps(night) -> float:
    return sample(metric_samples(night.http.get("/metrics").text), "dispatch_worker_sweeps_total")


def _keeper_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dispatch.flow.keeper"]


def test_a_worker_sweeps_only_while_crons_sweeps_are_overdue_one_worker_at_a_time(night, caplog):
    caplog.set_level(logging.INFO)
    case_id = night.call()
    night.decide_visit(case_id)
    first = night.offer_for(case_id).to
    night.clock.advance(timedelta(minutes=3, seconds=1))  # the deadline passes; no deadline job, no cron
    one, other = SweepKeeper(night.services), SweepKeeper(night.services)
    redis = night.services.redis

    assert not one.tick()  # no sweep from cron yet, but everything may just be starting
    _cron_swept(redis, 3)
    assert not one.tick()  # cron's sweep is on time: nothing for the workers to do
    assert night.offer_for(case_id).to == first and night.state(case_id) == "offered"
    _cron_swept(redis, 8)  # cron's sweep is overdue: the first worker to look sweeps, the other waits
    before = _worker_sweeps(night)
    assert one.tick() and not other.tick()
    assert night.offer_for(case_id).to != first and night.state(case_id) == "offered"
    assert _worker_sweeps(night) == before + 1  # on /metrics, for an alert on cron
    assert not one.tick()  # within the interval, not even the same worker again
    beat(redis, CRON_SWEEP)  # cron is back
    assert not one.tick() and not other.tick()
    warned, back = _keeper_lines(caplog)
    # How long cron has been silent is read off the wall clock: 8 s, and more on a loaded machine.
    silent = re.fullmatch(
        r"sweep keeper: no sweep from cron for (\d+) s; the workers sweep every 5 s until it is back "
        r"\(is `dispatch cron` running\?\)",
        warned,
    )
    assert silent and 8 <= int(silent.group(1)) < 60, warned
    assert back == "sweep keeper: cron's sweeps are back; this worker stops sweeping"


def test_a_keeper_outlives_redis_going_away_and_says_so_once(settings, clock, caplog):
    caplog.set_level(logging.INFO)
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.1)
    wiring = Services.build(settings, clock=clock, redis=dead)
    keeper = SweepKeeper(wiring, tick_s=0.05)
    keeper.start()
    time.sleep(0.5)  # about ten looks, each failing
    keeper.stop()
    wiring.close()
    assert "sweep-keeper" not in [thread.name for thread in threading.enumerate()]  # it stopped when asked
    assert _keeper_lines(caplog) == ["sweep keeper: ConnectionError; trying again every 0.05 s"]


def test_two_sweeps_at_once_time_an_offer_out_once_and_offer_the_next_physician_once(night):
    case_id = night.call()
    night.decide_visit(case_id)
    night.clock.advance(timedelta(minutes=3, seconds=1))
    wirings = [Services.build(night.services.settings, clock=night.clock) for _ in range(3)]
    start, sweeps = threading.Barrier(len(wirings)), []

    def sweep(wiring: Services, by: Sweeper) -> None:
        start.wait()
        sweeps.append(reconciler.reconcile(wiring, by=by))

    # Cron's sweep and two workers' at the same instant.
    threads = [
        threading.Thread(target=sweep, args=(w, "worker" if n else "cron")) for n, w in enumerate(wirings)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for wiring in wirings:
        wiring.close()
    assert sum(len(s.timed_out) for s in sweeps) == 1
    with night.services.session_factory() as session:
        states = list(session.scalars(select(Offer.state).where(Offer.case_id == case_id).order_by(Offer.id)))
    assert states == [OfferState.timed_out, OfferState.pending]
    assert len([m for m in night.offers() if f"#K{case_id} " in m.body]) == 2  # each physician once


def test_a_number_twilio_refused_for_good_is_not_tried_again_by_later_sweeps(night):
    case_id = night.call()
    first = night.phone("代診 佐倉")
    night.fake.reject(first)
    night.decide_visit(case_id)
    night.run_jobs()
    asked = night.fake.requests
    night.advance(seconds=31)  # past the resend and lost-claim thresholds: sweeps, and nothing to resend
    night.advance(seconds=31)
    assert night.fake.requests == asked
    with night.services.session_factory() as session:
        refused = session.scalar(select(SmsMessage).where(SmsMessage.phone_e164 == first))
    assert (refused.status, refused.error_code) == ("failed", "21211")
    assert night.state(case_id) == "offered" and night.offer_for(case_id).to != first


def test_health_says_cron_is_gone_while_the_workers_sweep_in_its_place(client, services):
    beat(services.redis, RECONCILER, WORKER_SWEEP)
    _cron_swept(services.redis, 45)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unhealthy: cron"
    assert "the workers sweep in its place" in response.json()["cron"]
    assert response.json()["worker_sweep_age_s"] < 5 and response.json()["cron_sweep_age_s"] >= 45
    beat(services.redis, RECONCILER, CRON_SWEEP)
    assert client.get("/healthz").status_code == 200


def test_a_worker_takes_rqs_scheduler_over_once_a_dead_holders_lock_expires(settings, services):
    redis, lock, dead = services.redis, RQScheduler.get_locking_key(QUEUE_NAME), b"a-dead-workers-scheduler"
    redis.set(lock, dead, ex=61)  # its holder just died; the lock outlives it by RQ's 61 s
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    # A short maintenance interval (15 s in service) keeps the drill short; the takeover is the same.
    argv = [sys.executable, "-m", "dispatch", "worker", "--log-level", "WARNING", "--maintenance-interval", "3"]
    worker = embedded.spawn(argv, env={**env, "ENVIRONMENT": "test"}, stderr=subprocess.DEVNULL)
    try:
        wait_for("the worker", lambda: Worker.all(connection=redis), 30)
        assert redis.get(lock) == dead  # it started without the scheduler
        redis.pexpire(lock, 100)  # as if the holder had died a minute ago
        wait_for("the dead holder's lock to expire", lambda: redis.get(lock) is None, 5)
        expired = time.monotonic()

        def taken() -> bool:
            enqueue(redis, jobs.HEARTBEAT)  # ordinary traffic, which brings the worker's loop round
            return redis.get(lock) is not None

        wait_for("the worker's scheduler to take the lock", taken, 30, every_s=1)
        print(f"\nRQ's scheduler taken over {time.monotonic() - expired:.0f} s after the lock expired")
        job = dispatch_queue(redis).enqueue_in(timedelta(seconds=1), jobs.HEARTBEAT)
        wait_for("the scheduled job", lambda: Job.fetch(job.id, redis).get_status() == JobStatus.FINISHED, 10)
    finally:
        embedded.stop(worker)
