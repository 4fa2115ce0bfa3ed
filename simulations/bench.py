"""The end-to-end benchmark: the stack as the replay starts it, measured from outside, with the floors
(a Redis round trip, a database commit, an HTTP call to the fake Twilio) beside the figures."""

from __future__ import annotations

import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from redis import Redis
from sqlalchemy import create_engine, text

from simulations.plan import ClinicPlan
from simulations.replay import Replay
from simulations.stack import TWILIO_SID, TWILIO_TOKEN, Stack


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1)}


def floors(stack: Stack, n: int = 200) -> dict[str, float]:
    redis = Redis.from_url(stack.redis_url)
    rtt = []
    for _ in range(n):
        t0 = time.perf_counter()
        redis.ping()
        rtt.append(time.perf_counter() - t0)
    engine = create_engine(stack.database_url)
    commits = []
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE bench_floor (n integer)"))
        conn.commit()
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute(text("INSERT INTO bench_floor VALUES (:n)"), {"n": i})
            conn.commit()
            commits.append(time.perf_counter() - t0)
    engine.dispose()
    http, calls = httpx.Client(auth=(TWILIO_SID, TWILIO_TOKEN)), []
    for _ in range(n // 2):
        t0 = time.perf_counter()
        http.post(
            f"{stack.fake.url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
            data={"To": "+819011119999", "From": stack.fake.number, "Body": "floor"},
        )
        calls.append(time.perf_counter() - t0)
    return {"redis_rtt": _ms(rtt)["p50"], "db_commit": _ms(commits)["p50"], "twilio_http": _ms(calls)["p50"]}


def intake(run: Replay, at: datetime, total: int, threads: int) -> tuple[dict[str, float], float]:
    """`total` calls logged by `threads` operators at once: latency per POST and calls per second."""
    patients = run.patients["ベンチ診療所"]
    token = run.api("operator", "GET", "/api/v1/auth/me") and run.api.tokens["operator"]
    latencies: list[float] = []
    lock = threading.Lock()

    def operator(count: int) -> None:
        client = httpx.Client(base_url=run.stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        for _ in range(count):
            body = {
                "patient": {"patient_id": random.choice(patients)},
                "called_at": at.isoformat(),
                "caller_relation": "family",
                "callback_phone": "090-1234-5678",
                "chief_complaint": "bench",
                "attending_unavailable": "no_answer",
                "provisional_urgency": "white",
            }
            t0 = time.perf_counter()
            response = client.post("/api/v1/cases", json=body)
            elapsed = time.perf_counter() - t0
            response.raise_for_status()
            with lock:
                latencies.append(elapsed)

    workers = [threading.Thread(target=operator, args=(total // threads,)) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return _ms(latencies), round(len(latencies) / (time.perf_counter() - started), 1)


def dispatch_chain(run: Replay, at: datetime, cases: int) -> dict[str, dict[str, float]]:
    """Decision → offer SMS at the fake Twilio; inbound 'Y' → case accepted; deadline → next offer."""
    to_sms, to_accept, lateness = [], [], []
    patients = run.patients["ベンチ診療所"]
    for n in range(cases):
        case_id = run.api(
            "operator",
            "POST",
            "/api/v1/cases",
            json={
                "patient": {"patient_id": patients[n % len(patients)]},
                "caller_relation": "family",
                "callback_phone": "090-1234-5678",
                "chief_complaint": "bench",
                "attending_unavailable": "no_answer",
            },
        ).json()["id"]
        run.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
        seen = len(run.stack.fake.messages)
        t0 = time.time()
        run.api(
            "consult",
            "POST",
            f"/api/v1/cases/{case_id}/decision",
            json={"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2},
        )
        phone, _ = run.wait_for_offer(case_id, 0)
        offer = next(m for m in run.stack.fake.messages[seen:] if f"#K{case_id} " in m.body)
        to_sms.append(offer.created_at - t0)
        if n % 4 == 0:  # every fourth offer is left to lapse: how late is the next one?
            deadline = run.deadline(case_id)
            run.set_clock(deadline + timedelta(milliseconds=1))
            t1 = time.time()
            phone, _ = run.wait_for_offer(case_id, 1)
            lateness.append(time.time() - t1)
        t0 = time.perf_counter()
        run.reply(phone, "Y")
        to_accept.append(time.perf_counter() - t0)
        run.reply(phone, f"{case_id} 到着")
        run.api("operator", "POST", f"/api/v1/cases/{case_id}/outcome", json={"outcome": "treated_at_home"})
    return {
        "decision_to_sms_ms": _ms(to_sms),
        "reply_to_accept_ms": _ms(to_accept),
        "escalation_lateness_ms": _ms(lateness),
    }


def run_bench(stack: Stack, intake_calls: int = 600, threads: int = 8, cases: int = 60) -> dict:
    run = Replay(stack, random.Random(1), 0.0, 0.0)
    year_start = datetime(2024, 4, 1).date()
    run.set_up([ClinicPlan("ベンチ診療所", "clinic", year_start, 100)], 2024)
    night = datetime(2024, 11, 20, 21, 0, tzinfo=UTC)
    run.set_clock(night)
    figures: dict = {}
    figures["intake_ms"], figures["intake_calls_per_s"] = intake(run, night, intake_calls, threads)
    figures.update(dispatch_chain(run, night, cases))
    figures["floors_ms"] = floors(stack)
    open_cases = [c for c in run.open_cases() if c["state"] not in ("triage_pending", "visit_completed")]
    figures["lost_cases"] = len(open_cases)
    return figures
