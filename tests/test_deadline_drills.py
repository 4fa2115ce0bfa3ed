"""Deadlines survive any one process: drills on real processes (`dispatch worker` with RQ's scheduler, `dispatch
cron`), the fake Twilio, PostgreSQL and Redis, on the wall clock. The scheduler-holding worker is killed,
then cron, and no offer waits more than 10 s past its deadline; SMS that failed while Twilio was down leave
once it is back, with cron dead and nothing restarted; a physician's 「はい」 that Twilio could not post to
the API accepts the case all the same, from Twilio's own record of it."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Worker
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from dispatch import embedded
from dispatch.clock import SystemClock
from dispatch.heartbeats import CRON_SWEEP, heartbeat_age_s
from dispatch.offers.models import Offer, OfferState
from dispatch.programme.models import Municipality
from dispatch.queue import QUEUE_NAME
from dispatch.roster.models import Physician, PhysicianRole, Shift
from dispatch.sms.models import SmsMessage
from tests.night import Night, start_night
from tests.production import wait_for

LATE_BOUND_S = 10.0
TAKEOVER_LINE = "sweep keeper: no sweep from cron"


class Processes:
    """`python -m dispatch …` processes joining a night, each in its own process group, output to files."""

    def __init__(self, night: Night, logs: Path) -> None:
        self.env, self.logs = night.process_env(), logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        out = (self.logs / f"{name}.log").open("ab")
        with out:
            argv = [sys.executable, "-m", "dispatch", *args, "--log-level", "WARNING"]
            self.running[name] = embedded.spawn(argv, env=self.env, stdout=out, stderr=out)

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything in its group (a worker's RQ scheduler), as a host dying would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.running[name].pid, signal.SIGKILL)
        self.running[name].wait(10)

    def alive(self, name: str) -> bool:
        return self.running[name].poll() is None

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text("utf-8", "replace")

    def close(self) -> None:
        for name in self.running:
            self.kill(name)

    def wait_for(self, what: str, probe, timeout_s: float, every_s: float = 0.05):
        """`tests.production.wait_for`, and on failure the end of every process's log in the report."""
        try:
            return wait_for(what, probe, timeout_s, every_s)
        except AssertionError as exc:
            tails = "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.running)
            raise AssertionError(f"{exc}\n{tails}") from None


@pytest.fixture
def drill(request, settings, tmp_path) -> Iterator[tuple[Night, Processes]]:
    """A night on the wall clock whose offers wait `request.param` seconds (10, the shortest the settings
    allow, unless the test asks otherwise), with every substitute on call; start the processes yourself."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the drills run several processes on one database: PostgreSQL")
    seconds = getattr(request, "param", 10)
    quick = settings.model_copy(
        update={"offer_timeout_red_orange_s": seconds, "offer_timeout_other_s": seconds}
    )
    with start_night(quick, SystemClock()) as night:
        _everyone_on_call(night)
        processes = Processes(night, tmp_path)
        try:
            yield night, processes
        finally:
            processes.close()


def _everyone_on_call(night: Night) -> None:
    """Every substitute on call now, everywhere: enough physicians for a case to time out on several."""
    now = night.clock.now()
    with night.services.session_factory() as session:
        towns = list(session.scalars(select(Municipality)))
        for physician in session.scalars(select(Physician).where(Physician.role == PhysicianRole.substitute)):
            shift = Shift(
                physician_id=physician.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2)
            )
            shift.coverage = list(towns)
            session.add(shift)
        session.commit()


def _offers(night: Night, case_id: int) -> list[Offer]:
    with night.services.session_factory() as session:
        return list(session.scalars(select(Offer).where(Offer.case_id == case_id).order_by(Offer.attempt)))


def _scheduler_holder(night: Night, processes: Processes) -> str | None:
    """The worker whose RQ scheduler holds the queue's lock: the lock names the scheduler, the scheduler's
    record its pid, the pid's process group the worker that forked it."""
    redis = night.services.redis
    name = redis.get(RQScheduler.get_locking_key(QUEUE_NAME))
    pid = redis.hget(f"rq:scheduler:{name.decode()}", "pid") if name else None
    if not pid:
        return None
    with contextlib.suppress(ProcessLookupError):
        group = os.getpgid(int(pid))
        return next((n for n, p in processes.running.items() if p.pid == group), None)
    return None


def _start_stack(night: Night, processes: Processes, workers: list[str]) -> None:
    for name in workers:
        processes.start(name, "worker")
    processes.start("cron", "cron")
    redis = night.services.redis
    wait_for("the workers", lambda: len(Worker.all(connection=redis)) == len(workers), 30)
    wait_for("a sweep from cron", lambda: heartbeat_age_s(redis, CRON_SWEEP) is not None, 30)


def test_killing_the_scheduler_holding_worker_then_cron_leaves_no_offer_10_s_late(drill):
    night, processes = drill
    _start_stack(night, processes, ["worker-1", "worker-2"])
    holder = wait_for("RQ's scheduler lock", lambda: _scheduler_holder(night, processes), 20)
    survivor = next(name for name in ("worker-1", "worker-2") if name != holder)

    case_id = night.call()
    night.decide_visit(case_id, run_jobs=False)  # matching runs on the worker processes
    processes.wait_for("the first offer SMS", lambda: any(o.sms_sent_at for o in _offers(night, case_id)), 20)
    processes.kill(holder)  # its deadline job waits in RQ's scheduled registry, with no scheduler to run it
    # Cron's sweep times the first offer out; cron is killed as soon as the second one has left.
    processes.wait_for(
        "the second offer SMS", lambda: len([o for o in _offers(night, case_id) if o.sms_sent_at]) >= 2, 30
    )
    processes.kill("cron")
    processes.wait_for(
        "the fourth offer SMS, after three deadlines",
        lambda: len([o for o in _offers(night, case_id) if o.sms_sent_at]) >= 4,
        40,
        every_s=0.2,
    )

    offers = _offers(night, case_id)
    # Which path timed them out: the deadline jobs still wait in RQ, with no scheduler left to run them.
    waiting = ScheduledJobRegistry(QUEUE_NAME, connection=night.services.redis).get_job_ids()
    print(f"\ndeadline jobs still waiting in RQ's scheduled registry: {len(waiting)}")
    print("offer  timed out after its deadline  next offer's SMS after it")
    for offer, following in itertools.pairwise(offers[:4]):
        assert offer.state is OfferState.timed_out and offer.responded_at is not None
        assert following.sms_sent_at is not None
        late = (offer.responded_at - offer.deadline_at).total_seconds()
        next_sms = (following.sms_sent_at - offer.deadline_at).total_seconds()
        print(f"{offer.attempt:>5}  {late:>27.2f} s  {next_sms:>24.2f} s")
        assert late >= 0 and next_sms <= LATE_BOUND_S, (
            f"offer {offer.attempt}: next offer {next_sms:.1f} s late"
        )
    # Nothing lost or doubled: one offer SMS per offer, each reached Twilio once, to four physicians.
    phones = [m.to for m in night.offers() if f"#K{case_id} " in m.body]
    assert len(phones) == len(set(phones)) == len(offers) == 4
    assert offers[3].state is OfferState.pending and night.state(case_id) == "offered"
    assert processes.alive(survivor)
    log = processes.log(survivor)
    assert log.count(TAKEOVER_LINE) == 1 and "Traceback" not in log, log[-2000:]


# Offers of 30 s: the outage ends, and the SMS leaves, well before its offer's deadline.
@pytest.mark.parametrize("drill", [30], indirect=True, ids=["30s-offers"])
def test_sms_failed_in_a_twilio_outage_leave_when_it_recovers_with_cron_dead(drill):
    night, processes = drill
    _start_stack(night, processes, ["worker"])
    processes.kill("cron")
    worker_pid = processes.running["worker"].pid

    night.fake.outage(503)
    case_id = night.call()
    night.decide_visit(case_id, run_jobs=False)

    def unsent() -> SmsMessage | None:
        with night.services.session_factory() as session:
            return session.scalar(
                select(SmsMessage).where(SmsMessage.case_id == case_id, SmsMessage.status == "pending")
            )

    message = wait_for("the offer SMS refused by Twilio", unsent, 20)
    assert night.offers() == [] and night.fake.requests >= 3  # tried three times, then left pending
    # The outage outlasts a worker's sweep trying it again (three more refusals), then Twilio is back.
    wait_for("a sweep trying the SMS again in the outage", lambda: night.fake.requests >= 6, 30, every_s=0.1)
    assert unsent() is not None
    night.fake.recover()
    recovered = time.monotonic()

    def sent() -> SmsMessage | None:
        with night.services.session_factory() as session:
            found = session.get_one(SmsMessage, message.id)
            return found if found.provider_sid is not None else None

    wait_for("the offer SMS recorded sent after the outage", sent, 25, every_s=0.1)
    print(f"\noffer SMS left {time.monotonic() - recovered:.1f} s after Twilio recovered (cron dead)")

    assert len(night.offers()) == 1  # once, to its physician
    [offer] = _offers(night, case_id)
    assert offer.state is OfferState.pending and offer.sms_sent_at is not None
    assert offer.deadline_at >= offer.sms_sent_at + timedelta(seconds=30)  # the deadline runs from the send
    assert processes.alive("worker") and processes.running["worker"].pid == worker_pid  # nothing restarted


@pytest.mark.parametrize("drill", [120], indirect=True, ids=["2min-offers"])
def test_a_yes_twilio_could_not_post_to_the_api_still_accepts_the_case(drill):
    night, processes = drill
    _start_stack(night, processes, ["worker"])
    case_id = night.call()
    night.decide_visit(case_id, run_jobs=False)
    offer = processes.wait_for("the offer SMS", lambda: next(iter(night.offers()), None), 20)
    # The API unreachable from Twilio (a restart, a dropped route): the post fails and is never made again.
    night.fake.webhook_url = "http://127.0.0.1:9/webhooks/twilio/sms"
    sent = time.monotonic()
    assert night.fake.send_inbound(offer.to, "はい") is None
    processes.wait_for("the case accepted", lambda: night.state(case_id) == "accepted", 75, every_s=0.5)
    took = time.monotonic() - sent

    def answered():
        found = [m for m in night.fake.sent_to(offer.to) if m.via == "api" and "受諾を受け付けました" in m.body]
        return found[0] if found else None

    answer = processes.wait_for("the answer, by SMS", answered, 20)
    assert "/visit/" in answer.body
    print(f"\nthe 「はい」 Twilio could not post was acted on {took:.1f} s after it was sent")
    assert took < 60  # left 20 s to its webhook, then the next of the sweeps' polls every 30 s
