"""The scale run's measurements, on the API and a worker running as processes of their own: patient search
and intake over HTTP, matching rounds in-process (rolled back), the reports, and resident memory."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import jaconv
from redis import Redis
from rq.job import Job
from sqlalchemy import text

from dispatch import embedded, jobs
from dispatch.clock import SystemClock
from dispatch.db import make_engine, make_session_factory
from dispatch.flow.rounds import match_round
from dispatch.programme.service import ReferenceCache
from dispatch.queue import enqueue
from dispatch.runtime import freeze_startup_objects
from simulations.bench_setup import INTAKE_BODY, percentiles_ms
from simulations.scale_areas import API_PROGRAMME

# What a search's kind is typed as, in turn: a kana name (by prefix), a household phone, a chart number.
SEARCH_KINDS = ("kana", "kana", "phone", "chart")


@dataclass
class Running:
    """The API (one uvicorn process) and one RQ worker on the scale database."""

    url: str
    api: subprocess.Popen
    worker: subprocess.Popen

    def stop(self) -> None:
        for process in (self.worker, self.api):
            embedded.stop(process)


def start(database_url: str, redis_url: str, quiet: bool = True) -> Running:
    """Start the API and a worker (no cron: the worker's sweep keeper stands in for it) and wait for health."""
    port = embedded.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ENVIRONMENT": "development",
        "SIMULATION_MODE": "false",
        "SMS_PROVIDER": "console",
        "PROGRAMME_CODE": API_PROGRAMME,
        "PUBLIC_BASE_URL": url,
        # So that a report slower than the service's 10 s bound is still timed rather than cut off.
        "DB_STATEMENT_TIMEOUT_MS": "600000",
    }
    out = subprocess.DEVNULL if quiet else None
    Redis.from_url(redis_url).flushdb()
    python = [sys.executable, "-m", "dispatch"]
    api = embedded.spawn(
        [*python, "serve", "--port", str(port), "--workers", "1"], env=env, stdout=out, stderr=out
    )
    worker = embedded.spawn([*python, "worker"], env=env, stdout=out, stderr=out)
    running = Running(url, api, worker)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or api.poll() is not None:
            running.stop()
            raise RuntimeError("the API did not become healthy within 60 s")
        time.sleep(0.2)


def client(url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client logged in as `username` (bearer token)."""
    http = httpx.Client(base_url=url, timeout=600)
    login = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    login.raise_for_status()
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    http.cookies.clear()
    return http


def _timed(call: Callable[[], httpx.Response], expect: int) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - t0
    if response.status_code != expect:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} "
            f"{response.text[:300]}"
        )
    return elapsed, response


def search_queries(rng: random.Random, count: int, patients: int, family: list[str], given: list[str]) -> list:
    """What operators type, by kind in turn: kana in hiragana (two or three kana, a family name, a whole name;
    one in ten a name no one has), a household phone as written, a chart number."""
    out = []
    for k in range(count):
        kind, patient = SEARCH_KINDS[k % len(SEARCH_KINDS)], rng.randint(1, patients)
        if kind == "kana":
            family_name = rng.choice(family)
            name = family_name + rng.choice(given)
            typed = name[: (2, 3, len(family_name), len(name))[k // 4 % 4]]
            out.append((kind, {"name_kana": "ヌ" + typed if k % 10 == 0 else jaconv.kata2hira(typed)}))
        elif kind == "phone":
            digits = str(2000000 + patient)
            out.append((kind, {"household_phone": f"043-{digits[:3]}-{digits[3:]}"}))
        else:
            out.append((kind, {"clinic_patient_number": f"K{patient:07d}"}))
    return out


SEARCH_WARM_UP, INTAKE_WARM_UP = 5, 3


def searches(http: httpx.Client, queries: list, warm_up: int = SEARCH_WARM_UP) -> dict[str, list[float]]:
    """Each query POSTed to /api/v1/patients/search (after a few untimed ones); seconds by kind."""
    for _, body in queries[:warm_up]:
        _timed(lambda body=body: http.post("/api/v1/patients/search", json=body), 200)
    by_kind: dict[str, list[float]] = {}
    for kind, body in queries:
        elapsed, response = _timed(lambda body=body: http.post("/api/v1/patients/search", json=body), 200)
        if kind != "kana" and len(response.json()) != 1:
            raise RuntimeError(f"a search by {kind} found {len(response.json())} patients, not the one")
        by_kind.setdefault(kind, []).append(elapsed)
    return by_kind


def intakes(
    http: httpx.Client, rng: random.Random, count: int, patients: int, warm_up: int = INTAKE_WARM_UP
) -> list[float]:
    """`count` calls logged about enrolled patients (POST /api/v1/cases), after a few untimed; seconds."""
    timings = []
    for n in range(warm_up + count):
        body = {"patient": {"patient_id": rng.randint(1, patients)}, **INTAKE_BODY}
        elapsed, _ = _timed(lambda body=body: http.post("/api/v1/cases", json=body), 201)
        if n >= warm_up:
            timings.append(elapsed)
    return timings


ROUND_TABLES = 'VACUUM offer, sms_message, case_event, "case"'


def matching_rounds(database_url: str, repeats: int) -> tuple[list[float], int]:
    """`repeats` matching rounds over the waiting cases, each in a transaction rolled back (after two untimed,
    and with start-up objects frozen as a worker does), as `bench-round` times them: the tables a round writes
    vacuumed between rounds, or each would wade through the dead rows of the last one rolled back (committed,
    they would be live rows); seconds, and the offers the last one made."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        reference = ReferenceCache(API_PROGRAMME).programme(session)
    timings, offers = [], 0
    for n in range(repeats + 2):
        if n == 2:
            freeze_startup_objects()
        with factory() as session:
            t0 = time.perf_counter()
            offers = len(match_round(session, SystemClock(), reference))
            if n >= 2:
                timings.append(time.perf_counter() - t0)
            session.rollback()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(ROUND_TABLES))
    engine.dispose()
    return timings, offers


def report(http: httpx.Client, path: str, params: dict, repeats: int = 3) -> list[float]:
    """Seconds for each of `repeats` requests of one report (JSON)."""
    return [_timed(lambda: http.get(path, params=params), 200)[0] for _ in range(repeats)]


def worker_round(database_url: str, redis_url: str, timeout_s: float = 300) -> float:
    """The waiting cases handed to the running worker: one matching round for real, its offers sent
    (console SMS); seconds from the job's enqueueing to its end."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        # Matched just now, as far as the sweep knows: the job below is what offers them, not a sweep.
        first = conn.execute(
            text(
                "UPDATE \"case\" SET last_matched_at = now() WHERE state = 'dispatching' "
                "AND current_offer_id IS NULL RETURNING id"
            )
        ).first()
    engine.dispose()
    if first is None:
        return 0.0
    redis = Redis.from_url(redis_url)
    t0 = time.perf_counter()
    job = enqueue(redis, jobs.DRIVE_CASE, first[0], job_id=f"scale-round-{time.monotonic_ns()}")
    while (status := Job.fetch(job.id, connection=redis).get_status()) not in ("finished", "failed"):
        if time.perf_counter() - t0 > timeout_s:
            raise RuntimeError("the worker's matching round did not finish")
        time.sleep(0.05)
    if status == "failed":
        raise RuntimeError("the worker's matching round failed")
    return time.perf_counter() - t0


def cpu_s(pid: int) -> float:
    """The CPU seconds the process has used so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The process's resident memory (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentiles(samples: list[float]) -> dict[str, float]:
    """{"p50", "p99"} in milliseconds."""
    return percentiles_ms(samples)
