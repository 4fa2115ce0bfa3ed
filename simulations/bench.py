"""The end-to-end benchmark: the stack as the replay starts it, measured from outside, with the floors
(a Redis round trip, a database commit, an HTTP call to the fake Twilio) beside the figures."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from redis import Redis
from sqlalchemy import create_engine, text

from simulations import cpu
from simulations.bench_setup import (
    BENCH_PLAN,
    INTAKE_BODY,
    add_physicians,
    bench_night,
    lost_cases,
    percentiles_ms,
)
from simulations.chain import dispatch_chain, escalation_simulated
from simulations.replay import Replay
from simulations.stack import TWILIO_SID, TWILIO_TOKEN, Stack


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
        "redis_rtt": percentiles_ms(rtt)["p50"],
        "db_commit": percentiles_ms(commits)["p50"],
        "twilio_http": percentiles_ms(calls)["p50"],
        "python_sum_1m": percentiles_ms(loops)["p50"],
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
        "ids": ",".join(map(str, run.patients[BENCH_PLAN.key])),
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
    patients = run.patients[BENCH_PLAN.key]
    token = run.api("operator", "GET", "/api/v1/auth/me") and run.api.tokens["operator"]
    latencies: list[float] = []
    failures: list[str] = []
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
            try:
                response = client.post("/api/v1/cases", json=body)
            except httpx.HTTPError as exc:
                with lock:
                    failures.append(type(exc).__name__)
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                if response.is_success:
                    latencies.append(elapsed)
                else:
                    failures.append(str(response.status_code))

    workers = [threading.Thread(target=operator, args=(total // threads,)) for _ in range(threads)]
    before = _count_cases(run.stack)
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
        **percentiles_ms(latencies),
        # As the wrk path reports them: answers that were not 2xx (or no answer), and cases in the database.
        "failed": len(failures),
        "cases_recorded": _count_cases(run.stack) - before,
    }


def provenance() -> dict[str, str]:
    """What the figures were measured on: the lock's hash, the commit (marked when the tree differs), Python."""
    root = Path(__file__).resolve().parent.parent
    lock = hashlib.sha256((root / "requirements" / "dev.txt").read_bytes()).hexdigest()[:12]

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+changes"
    return {"lock_sha256": lock, "commit": commit, "python": platform.python_version()}


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
    figures: dict = {"measured_on": provenance()}
    if shutil.which("wrk"):
        figures["intake"] = intake_wrk(run, night, intake_seconds, connections)
    else:
        figures["intake"] = intake_threads(run, night, 75 * intake_seconds, connections)
    figures.update(dispatch_chain(run, cases, rate))
    figures["escalation_lateness_ms"] = escalation_simulated(run, escalations)
    figures["floors_ms"] = floors(stack)
    figures["lost_cases"] = lost_cases(run)
    return figures
