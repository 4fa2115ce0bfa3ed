"""The end-to-end benchmark: the stack as the replay starts it, measured from outside, with the floors
(a Redis round trip, a database commit, an HTTP call to the fake Twilio) beside the figures."""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from redis import Redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from dispatch.cases.states import TERMINAL_STATES, CaseState
from dispatch.models import Municipality, Physician, PhysicianRole  # every mapper, so relationships resolve
from simulations import cpu
from simulations.plan import ClinicPlan
from simulations.replay import Replay
from simulations.stack import TWILIO_SID, TWILIO_TOKEN, Stack, start


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
    loops = []
    for _ in range(20):  # the machine's own speed, so runs on different days (or machines) can be compared
        t0 = time.perf_counter()
        sum(range(1_000_000))
        loops.append(time.perf_counter() - t0)
    return {
        "redis_rtt": _ms(rtt)["p50"],
        "db_commit": _ms(commits)["p50"],
        "twilio_http": _ms(calls)["p50"],
        "python_sum_1m": _ms(loops)["p50"],
    }


BENCH_CLINIC = "ベンチ診療所"
INTAKE_BODY = {
    "caller_relation": "family",
    "callback_phone": "090-1234-5678",
    "chief_complaint": "bench",
    "attending_unavailable": "no_answer",
    "provisional_urgency": "white",
}

# wrk (C, one thread, keep-alive connections): each request logs a call about a random bench patient;
# at the end one JSON line with the counts and the latency percentiles (microseconds).
WRK_SCRIPT = """
local ids = {%(ids)s}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local id = ids[math.random(#ids)]
  local body = string.format('{"patient":{"patient_id":%%d},"called_at":"%(at)s",%(rest)s}', id)
  return wrk.format(nil, "/api/v1/cases", nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"calls":%%d,"duration_us":%%d,"non_2xx":%%d,"socket_errors":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _count_cases(stack: Stack) -> int:
    engine = create_engine(stack.database_url)
    with engine.connect() as conn:
        count = conn.execute(text('SELECT count(*) FROM "case"')).scalar_one()
    engine.dispose()
    return count


def intake_wrk(run: Replay, at: datetime, seconds: int, connections: int) -> dict:
    """`connections` operators logging calls back to back for `seconds`, driven by wrk."""
    token = run.api("operator", "GET", "/api/v1/auth/me") and run.api.tokens["operator"]
    rest = json.dumps(INTAKE_BODY, ensure_ascii=False)[1:-1]
    script = WRK_SCRIPT % {
        "ids": ",".join(map(str, run.patients[BENCH_CLINIC])),
        "token": token,
        "at": at.isoformat(),
        "rest": rest,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)

    def wrk(duration: int) -> dict:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", f.name]
        out = subprocess.run([*command, run.stack.url], capture_output=True, text=True, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    try:
        wrk(2)  # warm every API process: pools, caches, statement plans
        time.sleep(0.5)  # let the requests wrk left in flight finish before counting
        before = _count_cases(run.stack)
        cpu_before = cpu.snapshot(run.stack.parts())
        result = wrk(seconds)
        cpu_after = cpu.snapshot(run.stack.parts())
        time.sleep(0.5)
        recorded = _count_cases(run.stack) - before  # ≥ calls: wrk does not count the answers it left
    finally:
        os.unlink(f.name)
    return {
        "client": f"wrk -t1 -c{connections} -d{seconds}s",
        "calls": result["calls"],
        "calls_per_s": round(result["calls"] / (result["duration_us"] / 1e6), 1),
        "p50": round(result["p50_us"] / 1000, 1),
        "p99": round(result["p99_us"] / 1000, 1),
        "failed": result["non_2xx"] + result["socket_errors"],
        "cases_recorded": recorded,
        "cpu_ms_per_call": cpu.per_call_ms(cpu_before, cpu_after, result["calls"]),
    }


def intake_threads(run: Replay, at: datetime, total: int, threads: int) -> dict:
    """Without wrk: `total` calls logged by `threads` operators at once (httpx, one thread each)."""
    patients = run.patients[BENCH_CLINIC]
    token = run.api("operator", "GET", "/api/v1/auth/me") and run.api.tokens["operator"]
    latencies: list[float] = []
    lock = threading.Lock()

    def operator(count: int) -> None:
        client = httpx.Client(base_url=run.stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        for _ in range(count):
            body = {
                "patient": {"patient_id": random.choice(patients)},
                "called_at": at.isoformat(),
                **INTAKE_BODY,
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
    rate = round(len(latencies) / (time.perf_counter() - started), 1)
    return {
        "client": f"httpx, {threads} threads",
        "calls": len(latencies),
        "calls_per_s": rate,
        **_ms(latencies),
    }


def add_physicians(stack: Stack, api, count: int, around: datetime) -> None:
    """`count` more substitute physicians (straight into the database: the API enrols none), on call
    everywhere from an hour before `around` to six hours after."""
    engine = create_engine(stack.database_url)
    with Session(engine) as session:
        towns = list(session.scalars(select(Municipality).order_by(Municipality.id)))
        physicians = [
            Physician(
                name=f"ベンチ医師{n}",
                role=PhysicianRole.substitute,
                phone_e164=f"+81804567{n:04d}",
                base_municipality_id=towns[n % len(towns)].id,
                base_latitude=towns[n % len(towns)].latitude,
                base_longitude=towns[n % len(towns)].longitude,
                active=True,
            )
            for n in range(count)
        ]
        session.add_all(physicians)
        session.commit()
        ids, coverage = [p.id for p in physicians], [t.id for t in towns]
    engine.dispose()
    for physician_id in ids:
        api(
            "admin",
            "POST",
            "/api/v1/roster/shifts",
            json={
                "physician_id": physician_id,
                "starts_at": (around - timedelta(hours=1)).isoformat(),
                "ends_at": (around + timedelta(hours=6)).isoformat(),
                "coverage": coverage,
            },
        )


def open_case(run: Replay, patient_id: int) -> int:
    """Log a call and claim it as the consulting physician: a case ready for its decision."""
    case_id = run.api(
        "operator", "POST", "/api/v1/cases", json={"patient": {"patient_id": patient_id}, **INTAKE_BODY}
    ).json()["id"]
    run.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
    return case_id


def _offers(run: Replay, case_id: int) -> list:
    return [
        m
        for m in run.stack.fake.messages
        if m.via == "api" and f"#K{case_id} " in m.body and m.body.startswith("【往診依頼】")
    ]


def _decide(run: Replay, token: str, case_ids: list[int], rate: float) -> dict[int, float]:
    """Post the decisions for `case_ids` at a steady `rate` a second (open loop: each on its schedule,
    whether or not the previous one has answered); returns when each was sent (epoch seconds)."""
    sent: dict[int, float] = {}
    local = threading.local()
    decision = {"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2}

    def post(case_id: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=run.stack.url, headers={"Authorization": f"Bearer {token}"})
        sent[case_id] = time.time()
        local.http.post(f"/api/v1/cases/{case_id}/decision", json=decision).raise_for_status()

    start = time.perf_counter() + 0.05
    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n, case_id in enumerate(case_ids):
            time.sleep(max(0.0, start + n / rate - time.perf_counter()))
            futures.append(pool.submit(post, case_id))
        for future in futures:
            future.result()
    return sent


def _wait_for_offers(run: Replay, case_ids: list[int], count: int, timeout_s: float = 60) -> None:
    until = time.monotonic() + timeout_s
    while missing := [c for c in case_ids if len(_offers(run, c)) < count]:
        if time.monotonic() > until:
            timeline = run.api("admin", "GET", f"/api/v1/cases/{missing[0]}").json()["timeline"]
            last = [(e["kind"], e["to_state"], e["reason"]) for e in timeline[-4:]]
            raise RuntimeError(f"offer number {count} never reached cases {missing}; {missing[0]}: {last}")
        time.sleep(0.01)


def _accept_and_finish(run: Replay, case_ids: list[int]) -> list[float]:
    """Each case's physician answers 'Y' (timed: the webhook round trip), arrives, the visit is recorded."""
    to_accept = []
    for case_id in case_ids:
        phone = _offers(run, case_id)[-1].to
        t0 = time.perf_counter()
        run.reply(phone, "Y")
        to_accept.append(time.perf_counter() - t0)
        run.reply(phone, f"{case_id} 到着")
        run.api("operator", "POST", f"/api/v1/cases/{case_id}/outcome", json={"outcome": "treated_at_home"})
    return to_accept


def dispatch_chain(run: Replay, cases: int, rate: float) -> dict:
    """Decision → offer SMS at the fake Twilio, `cases` decisions at `rate` a second; then each inbound
    'Y' → case accepted."""
    patients = run.patients[BENCH_CLINIC]
    case_ids = [open_case(run, patients[n % len(patients)]) for n in range(cases)]
    sent = _decide(run, run.api.tokens["consult"], case_ids, rate)
    _wait_for_offers(run, case_ids, 1)
    to_sms = [_offers(run, c)[0].created_at - sent[c] for c in case_ids]
    times = sorted(sent.values())
    achieved = round((len(times) - 1) / (times[-1] - times[0]), 1)
    return {
        "decision_rate_per_s": achieved,
        "decision_to_sms_ms": _ms(to_sms),
        "reply_to_accept_ms": _ms(_accept_and_finish(run, case_ids)),
    }


def escalation_simulated(run: Replay, samples: int) -> dict[str, float]:
    """Simulation mode: the shared clock is moved past an offer's deadline; how late is the next offer?"""
    patients = run.patients[BENCH_CLINIC]
    lateness = []
    for n in range(samples):
        case_id = open_case(run, patients[n % len(patients)])
        run.api(
            "consult",
            "POST",
            f"/api/v1/cases/{case_id}/decision",
            json={"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2},
        )
        _wait_for_offers(run, [case_id], 1)
        run.set_clock(run.deadline(case_id) + timedelta(milliseconds=1))
        t1 = time.time()
        _wait_for_offers(run, [case_id], 2)
        lateness.append(_offers(run, case_id)[1].created_at - t1)
        _accept_and_finish(run, [case_id])
    return _ms(lateness)


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
        _decide(run, run.api.tokens["consult"], case_ids, 20.0)
        _wait_for_offers(run, case_ids, 1)
        deadlines = {c: run.deadline(c).timestamp() for c in case_ids}
        _wait_for_offers(run, case_ids, 2, timeout_s=timeout_s + 30)
        lateness = [_offers(run, c)[1].created_at - deadlines[c] for c in case_ids]
        _accept_and_finish(run, case_ids)
        lost = lost_cases(run)
    finally:
        running.stop()
    return {"lateness_ms": _ms(lateness), "offer_timeout_s": timeout_s, "lost_cases": lost}


def lost_cases(run: Replay) -> int:
    """Open cases that are neither waiting for triage (intake's) nor visited (the chain's): stalled ones."""
    waiting = {CaseState.triage_pending, CaseState.visit_completed}
    stalled = [s.value for s in CaseState if s not in TERMINAL_STATES and s not in waiting]
    return len(run.api("admin", "GET", "/api/v1/cases", params={"state": stalled, "limit": 1000}).json())


def bench_night(stack: Stack) -> tuple[Replay, datetime]:
    """The benchmark's clinic (100 patients, contracted from April 2024) set up through the API, and the
    shared clock at a November night in its service hours."""
    run = Replay(stack, random.Random(1), 0.0, 0.0)
    run.set_up([ClinicPlan(BENCH_CLINIC, "clinic", datetime(2024, 4, 1).date(), 100)], 2024)
    night = datetime(2024, 11, 20, 21, 0, tzinfo=UTC)
    run.set_clock(night)
    return run, night


def run_bench(
    stack: Stack,
    intake_seconds: int = 10,
    connections: int = 8,
    cases: int = 60,
    rate: float = 20.0,
    escalations: int = 15,
) -> dict:
    run, night = bench_night(stack)
    # Enough physicians on call that every decision of the rate run finds one free.
    add_physicians(stack, run.api, cases + escalations, night)
    figures: dict = {}
    if shutil.which("wrk"):
        figures["intake"] = intake_wrk(run, night, intake_seconds, connections)
    else:
        figures["intake"] = intake_threads(run, night, 75 * intake_seconds, connections)
    figures.update(dispatch_chain(run, cases, rate))
    figures["escalation_lateness_ms"] = escalation_simulated(run, escalations)
    figures["floors_ms"] = floors(stack)
    figures["lost_cases"] = lost_cases(run)
    return figures
