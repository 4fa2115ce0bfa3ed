"""The real stack in processes, for a replay or a benchmark: the API under uvicorn, RQ workers, the cron
scheduler, Redis, the database, and the fake Twilio; the service in simulation mode (a shared clock)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dispatch import embedded
from simulations.fake_twilio import FakeTwilio

TWILIO_SID = "AC" + "5e" * 16
TWILIO_TOKEN = "replay-fake-twilio-token-0123456789"
# For experiments: e.g. SIM_WORKER_FLAGS=--fork, SIM_SERVE_FLAGS="--workers 1".
WORKER_FLAGS = os.environ.get("SIM_WORKER_FLAGS", "").split()
SERVE_FLAGS = os.environ.get("SIM_SERVE_FLAGS", "").split()
# As docker-compose runs the API: one uvicorn process per core.
API_WORKERS = 2


@dataclass
class Stack:
    url: str
    fake: FakeTwilio
    database_url: str
    redis_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    redis_server: embedded.EmbeddedRedis | None = None
    workdir: str = ""

    def parts(self) -> dict[int, str]:
        """Each process the stack started, by pid, named for the part it plays (for CPU accounting)."""
        names = ["api", "cron"] + ["workers"] * (len(self.processes) - 2)
        return {process.pid: name for process, name in zip(self.processes, names, strict=True)}

    def stop(self) -> None:
        for process in reversed(self.processes):
            embedded.stop(process)
        self.fake.__exit__(None, None, None)
        if self.redis_server is not None:
            self.redis_server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist yet."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first():
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def _wipe(database_url: str) -> None:
    ensure_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start(
    database_url: str | None = None,
    redis_url: str | None = None,
    workers: int = 2,
    quiet: bool = True,
    simulation: bool = True,
    settings: dict[str, str] | None = None,
    prepare: Callable[[str], None] | None = None,
) -> Stack:
    """Start everything on empty storage (a given PostgreSQL database is wiped) and wait until healthy.

    `simulation=False` runs on the wall clock (no shared clock); `settings` adds environment settings;
    `prepare(database_url)` runs after the seed and before any process starts (the processes read the
    programmes once, so a programme it adds is there from their start)."""
    workdir = tempfile.mkdtemp(prefix="dispatch-replay-")
    redis_server = None
    if redis_url is None:
        redis_server = embedded.start_redis()
        redis_url = redis_server.url
    if database_url is None:
        database_url = f"sqlite:///{workdir}/replay.sqlite3"
    else:
        _wipe(database_url)
    port = embedded.free_port()
    url = f"http://127.0.0.1:{port}"
    fake = FakeTwilio(TWILIO_SID, TWILIO_TOKEN, webhook_url=url + "/webhooks/twilio/sms").__enter__()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ENVIRONMENT": "development",
        "SIMULATION_MODE": "true" if simulation else "false",
        "SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": fake.number,
        "TWILIO_API_BASE_URL": fake.url,
        "PUBLIC_BASE_URL": url,
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        **(settings or {}),
    }
    stack = Stack(url, fake, database_url, redis_url, env, redis_server=redis_server, workdir=workdir)
    out = subprocess.DEVNULL if quiet else None
    try:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        for command in (["migrate"], ["seed", "demo", "--no-patients"]):
            subprocess.run([sys.executable, "-m", "dispatch", *command], env=env, check=True, stdout=out)
        if prepare is not None:
            prepare(database_url)
        serve = ["serve", "--port", str(port), "--workers", str(API_WORKERS), *SERVE_FLAGS]
        commands = [serve, ["cron"]] + [["worker", *WORKER_FLAGS]] * workers
        for command in commands:
            stack.processes.append(
                embedded.spawn([sys.executable, "-m", "dispatch", *command], env=env, stdout=out, stderr=out)
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    return stack
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not become healthy within 60 s")
            time.sleep(0.2)
    except BaseException:
        stack.stop()
        raise
