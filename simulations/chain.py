"""The dispatch chain measured from outside: a triage decision → the offer SMS at the fake Twilio (and
where the time went, from RQ's own job records), an inbound 'Y' → the case accepted, and escalation."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from redis import Redis
from rq.job import Job

from simulations.bench_setup import (
    BENCH_PLAN,
    VISIT_DECISION,
    add_physicians,
    lost_cases,
    open_case,
    open_cases,
    percentiles_ms,
)
from simulations.replay import Replay
from simulations.stack import start


def offer_messages(run: Replay, case_id: int) -> list:
    return [
        m
        for m in run.stack.fake.messages
        if m.via == "api" and f"#K{case_id} " in m.body and m.body.startswith("【往診依頼】")
    ]


def decide_at_rate(run: Replay, token: str, case_ids: list[int], rate: float) -> dict[int, float]:
    """Post the decisions for `case_ids` at a steady `rate` a second (open loop: each on its schedule,
    whether or not the previous one has answered); returns when each was sent (epoch seconds)."""
    sent: dict[int, float] = {}
    local = threading.local()

    def post(case_id: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=run.stack.url, headers={"Authorization": f"Bearer {token}"})
        sent[case_id] = time.time()
        local.http.post(f"/api/v1/cases/{case_id}/decision", json=VISIT_DECISION).raise_for_status()

    start = time.perf_counter() + 0.05
    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n, case_id in enumerate(case_ids):
            time.sleep(max(0.0, start + n / rate - time.perf_counter()))
            futures.append(pool.submit(post, case_id))
        for future in futures:
            future.result()
    return sent


def wait_for_offers(run: Replay, case_ids: list[int], count: int, timeout_s: float = 60) -> None:
    until = time.monotonic() + timeout_s
    while missing := [c for c in case_ids if len(offer_messages(run, c)) < count]:
        if time.monotonic() > until:
            timeline = run.api("admin", "GET", f"/api/v1/cases/{missing[0]}").json()["timeline"]
            last = [(e["kind"], e["to_state"], e["reason"]) for e in timeline[-4:]]
            raise RuntimeError(f"offer number {count} never reached cases {missing}; {missing[0]}: {last}")
        time.sleep(0.01)


def accept_and_finish(run: Replay, case_ids: list[int]) -> list[float]:
    """Each case's physician answers 'Y' (timed: the webhook round trip), arrives, the visit is recorded."""
    to_accept = []
    for case_id in case_ids:
        phone = offer_messages(run, case_id)[-1].to
        t0 = time.perf_counter()
        run.reply(phone, "Y")
        to_accept.append(time.perf_counter() - t0)
        run.reply(phone, f"{case_id} 到着")
        run.api("operator", "POST", f"/api/v1/cases/{case_id}/outcome", json={"outcome": "treated_at_home"})
    return to_accept


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def chain_steps(run: Replay, sent: dict[int, float], sms_at: dict[int, float]) -> dict:
    """Where each decision's time to its offer SMS went, from the matching job's own record in RQ:
    decision sent → job queued (the API's request), queued → started (waiting for a worker), started → SMS
    at the fake Twilio (the round, its commit and the send). A round offers every waiting case, so a case
    whose offer left before its own job started was offered by an earlier job: counted apart, not timed."""
    redis = Redis.from_url(run.stack.redis_url)
    steps: dict[str, list[float]] = {"request": [], "queue": [], "round_and_send": []}
    by_earlier_job = 0
    for case_id, sent_at in sent.items():
        key = next(redis.scan_iter(f"rq:job:drive-{case_id}-*", count=1000), None)
        if key is None:
            continue  # expired, or the reconciler drove it first: not this chain's figure
        job = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis)
        if job.enqueued_at is None or job.started_at is None:
            continue
        queued, started = _epoch(job.enqueued_at), _epoch(job.started_at)
        if started > sms_at[case_id]:
            by_earlier_job += 1
            continue
        steps["request"].append(queued - sent_at)
        steps["queue"].append(started - queued)
        steps["round_and_send"].append(sms_at[case_id] - started)
    redis.close()
    timed: dict = {name: percentiles_ms(samples) for name, samples in steps.items() if samples}
    return {**timed, "offered_by_an_earlier_job": by_earlier_job}


def dispatch_chain(run: Replay, cases: int, rate: float) -> dict:
    """Decision → offer SMS at the fake Twilio, `cases` decisions at `rate` a second, with its steps; then
    each inbound 'Y' → case accepted."""
    case_ids = open_cases(run, cases)
    sent = decide_at_rate(run, run.api.tokens["consult"], case_ids, rate)
    wait_for_offers(run, case_ids, 1)
    sms_at = {c: offer_messages(run, c)[0].created_at for c in case_ids}
    times = sorted(sent.values())
    achieved = round((len(times) - 1) / (times[-1] - times[0]), 1)
    return {
        "decision_rate_per_s": achieved,
        "decision_to_sms_ms": percentiles_ms([sms_at[c] - sent[c] for c in case_ids]),
        "decision_to_sms_steps_ms": chain_steps(run, sent, sms_at),
        "reply_to_accept_ms": percentiles_ms(accept_and_finish(run, case_ids)),
    }


def escalation_simulated(run: Replay, samples: int) -> dict[str, float]:
    """Simulation mode: the shared clock is moved past an offer's deadline; how late is the next offer?"""
    patients = run.patients[BENCH_PLAN.key]
    lateness = []
    for n in range(samples):
        case_id = open_case(run, patients[n % len(patients)])
        run.api(
            "consult",
            "POST",
            f"/api/v1/cases/{case_id}/decision",
            json=VISIT_DECISION,
        )
        wait_for_offers(run, [case_id], 1)
        run.set_clock(run.deadline(case_id) + timedelta(milliseconds=1))
        t1 = time.time()
        wait_for_offers(run, [case_id], 2)
        lateness.append(offer_messages(run, case_id)[1].created_at - t1)
        accept_and_finish(run, [case_id])
    return percentiles_ms(lateness)


def escalation_wall_clock(
    database_url: str | None, redis_url: str | None, samples: int, timeout_s: int
) -> dict:
    """The production path: no shared clock; each offer's deadline job is scheduled in RQ for the wall-clock
    deadline (offers time out after `timeout_s`), `samples` cases at once. Lateness: next offer SMS at the
    fake Twilio − the first offer's recorded deadline."""
    timeouts = {"OFFER_TIMEOUT_RED_ORANGE_S": str(timeout_s), "OFFER_TIMEOUT_OTHER_S": str(timeout_s)}
    running = start(database_url, redis_url, simulation=False, settings=timeouts)
    try:
        run = Replay(running, random.Random(1), 0.0, 0.0)
        clinic = run.api("admin", "GET", "/api/v1/clinics").json()[0]
        town = run.api("admin", "GET", "/api/v1/programme").json()["municipalities"][0]["id"]
        today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
        patients = [run.enrol(n, clinic["id"], town, today) for n in range(samples)]
        add_physicians(running, run.api, 2 * samples + 2, datetime.now(UTC))
        case_ids = [open_case(run, p) for p in patients]
        decide_at_rate(run, run.api.tokens["consult"], case_ids, 20.0)
        wait_for_offers(run, case_ids, 1)
        deadlines = {c: run.deadline(c).timestamp() for c in case_ids}
        wait_for_offers(run, case_ids, 2, timeout_s=timeout_s + 30)
        lateness = [offer_messages(run, c)[1].created_at - deadlines[c] for c in case_ids]
        accept_and_finish(run, case_ids)
        lost = lost_cases(run)
    finally:
        running.stop()
    return {"lateness_ms": percentiles_ms(lateness), "offer_timeout_s": timeout_s, "lost_cases": lost}
