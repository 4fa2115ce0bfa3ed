"""Database outage drills: a request that loses the database answers 503 with Retry-After (never a 500), within
seconds when the database stalls, and no log line, traceback or failed job's record holds a caller's words."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
import zlib
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dispatch import outage
from dispatch.app import create_app
from dispatch.db import make_engine
from dispatch.db_watchdog import watchdog
from dispatch.errors import install_error_handlers
from dispatch.queue import QUEUE_NAME
from dispatch.services import Services
from tests.db_proxy import DatabaseProxy
from tests.factories import intake_body
from tests.observability_support import json_log_lines, run_observed_jobs

CALLER, PHONE, COMPLAINT = "印旛 花子", "090-1234-5678", "夕方から息苦しさが強くなった"
# Every form a caller's words could take in a log line or a stored traceback.
PATIENT_STRINGS = (CALLER, PHONE, "+819012345678", "9012345678", COMPLAINT)
_CALL = {"caller": CALLER, "phone": PHONE, "complaint": COMPLAINT}
_DRILL: dict[str, DatabaseProxy] = {}

postgres_only = pytest.mark.usefixtures("_postgres")


@pytest.fixture
def _postgres(settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the drill cuts a TCP connection to PostgreSQL")


@pytest.fixture
def fresh_limiter(monkeypatch) -> outage.LineLimiter:
    limiter = outage.LineLimiter()
    monkeypatch.setattr(outage, "limiter", limiter)
    return limiter


@pytest.fixture
def proxy(settings) -> Iterator[DatabaseProxy]:
    drill = DatabaseProxy(settings.database_url)
    yield drill
    drill.close()


@pytest.fixture
def proxied(settings, clock, services, proxy) -> Iterator[Services]:
    """The same database and Redis as `services`, reached through the proxy."""
    wiring = Services.build(settings.model_copy(update={"database_url": proxy.url}), clock=clock)
    yield wiring
    wiring.close()


def _leaks(lines: list[str]) -> list[str]:
    return [line for line in lines if any(s in line for s in PATIENT_STRINGS)]


def _redis_texts(redis: Redis) -> list[str]:
    """Every value in the test's Redis database as text (zlib-compressed ones, as RQ stores them, opened)."""
    values: list[bytes] = []
    for key in redis.scan_iter():
        kind = redis.type(key)
        if kind == b"hash":
            values += redis.hgetall(key).values()
        elif kind == b"string":
            values.append(redis.get(key))
        elif kind == b"stream":
            values += [v for _, fields in redis.xrange(key) for v in fields.values()]
        elif kind == b"zset":
            values += redis.zrange(key, 0, -1)
        elif kind == b"list":
            values += redis.lrange(key, 0, -1)
    texts = []
    for value in values:
        with contextlib.suppress(zlib.error):
            value = zlib.decompress(value)
        texts.append(value.decode("utf-8", "replace"))
    return texts


def _outage_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if '"logger": "dispatch.outage"' in line]


def test_an_outage_error_is_a_503_with_retry_after_and_one_line_per_class_every_10_s(monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(outage, "limiter", outage.LineLimiter(clock=lambda: now[0]))
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/lost")
    def lost() -> None:
        raise OperationalError(
            "SELECT 1", None, ConnectionError("server closed the connection"), hide_parameters=True
        )

    @app.get("/pool")
    def pool() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")

    @app.get("/duplicate")
    def duplicate() -> None:
        raise IntegrityError("INSERT", None, ValueError("duplicate key"), hide_parameters=True)

    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=False) as client:
        answers = [client.get("/lost") for _ in range(3)]
        assert client.get("/pool").status_code == 503
        assert client.get("/duplicate").status_code == 500  # not an outage: handled as before
        now[0] += 10
        assert client.get("/lost").status_code == 503
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert answer.json() == {"detail": "the database is unavailable; try again in a few seconds"}
    lines = [r for r in caplog.records if r.name == "dispatch.outage"]
    assert [r.levelname for r in lines] == ["ERROR"] * 3  # lost, pool, lost again 10 s later
    assert all(r.exc_info is None for r in lines)
    assert "sqlalchemy.exc.OperationalError (builtins.ConnectionError)" in lines[0].getMessage()
    assert "sqlalchemy.exc.TimeoutError" in lines[1].getMessage()
    assert lines[2].getMessage().endswith("; 2 more like it in the last 10 s")


@postgres_only
def test_the_engine_has_the_timeouts_of_the_settings(services, settings):
    with services.engine.connect() as conn:
        assert conn.scalar(text("SHOW statement_timeout")) == "10s"
        parameters = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
    assert parameters["connect_timeout"] == "3" and parameters["tcp_user_timeout"] == "3000"
    assert services.engine.pool.timeout() == 3  # type: ignore[attr-defined]
    # A pool with nothing free gives up after its timeout instead of queueing the request for 30 s.
    tight = make_engine(settings.database_url, pool_timeout_s=0.5, pool_size=1, max_overflow=0)
    with tight.connect(), pytest.raises(PoolTimeout):
        tight.connect()
    tight.dispose()


@postgres_only
def test_a_database_cut_mid_request_answers_503_and_logs_one_line_without_the_call(
    proxy, proxied, login, fresh_limiter
):
    headers = login("operator")
    with TestClient(create_app(services=proxied)) as client:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # a pooled connection

        @event.listens_for(proxied.engine, "before_cursor_execute")
        def _cut_on_the_first_write(conn, cursor, statement, *args) -> None:
            if statement.lstrip().upper().startswith("INSERT"):
                proxy.cut()

        with json_log_lines(logging.DEBUG) as lines:
            answer = client.post("/api/v1/cases", json=intake_body(), headers=headers)
        event.remove(proxied.engine, "before_cursor_execute", _cut_on_the_first_write)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5"
        assert _leaks(lines) == []
        [line] = _outage_lines(lines)
        assert '"level": "ERROR"' in line and answer.headers["X-Request-ID"] in line
        assert "Traceback" not in line and "SQL" not in line
        proxy.resume()
        assert client.post("/api/v1/cases", json=intake_body(), headers=headers).status_code == 201


@postgres_only
def test_a_stalled_database_answers_503_within_5_s(proxy, proxied, login, fresh_limiter):
    headers = login("operator")
    with TestClient(create_app(services=proxied)) as client:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        proxy.cut()  # the database went away and came back hanging: connections open, nothing answers
        proxy.stall()
        with json_log_lines(logging.DEBUG) as lines:
            started = time.monotonic()
            answer = client.post("/api/v1/cases", json=intake_body(), headers=headers)
            elapsed = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5"
        assert elapsed < 5, elapsed
        assert _leaks(lines) == []
        assert len(_outage_lines(lines)) == 1
        proxy.resume()
        assert client.post("/api/v1/cases", json=intake_body(), headers=headers).status_code == 201


@postgres_only
def test_a_database_stalling_on_a_pooled_connection_answers_503_within_5_s(
    proxy, proxied, login, fresh_limiter
):
    headers = login("operator")
    with TestClient(create_app(services=proxied)) as client:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # pooled, then idle
        proxy.stall()  # no cut: the pooled connection is open, and nothing on it answers any more
        fired = watchdog.fired
        started = time.monotonic()
        answer = client.post("/api/v1/cases", json=intake_body(), headers=headers)
        elapsed = time.monotonic() - started
        print(f"stall on a pooled connection: {answer.status_code} in {elapsed:.2f} s")
        assert answer.status_code == 503, answer.text
        assert elapsed < 5, elapsed  # the ping's 1 s deadline, then the 3 s connect timeout
        assert watchdog.fired > fired
        proxy.resume()
        assert client.post("/api/v1/cases", json=intake_body(), headers=headers).status_code == 201


@postgres_only
def test_a_statement_the_server_never_answers_fails_past_its_timeout(settings, proxy, clock):
    bounded = Services.build(
        settings.model_copy(update={"database_url": proxy.url, "db_statement_timeout_ms": 500}), clock=clock
    )
    try:
        with bounded.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            proxy.stall()  # after the ping: the statement is sent, and no answer ever comes
            started = time.monotonic()
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT 2"))
            elapsed = time.monotonic() - started
        print(f"statement on a stalled server failed after {elapsed:.2f} s")
        assert 2.5 - 0.3 < elapsed < 4, elapsed  # 0.5 s statement timeout + 2 s grace, then shut
    finally:
        proxy.resume()
        bounded.close()


def test_the_watchdog_spares_a_call_that_returns_in_time_and_a_socket_that_reused_the_number():
    left, right = socket.socketpair()
    try:
        with watchdog.deadline(left, left.fileno(), 0.2):
            pass
        time.sleep(0.4)
        left.sendall(b"x")
        assert right.recv(1) == b"x"  # still open both ways
        watchdog.arm(left, left.fileno(), 0.1)
        assert right.recv(1) == b""  # shut: the peer sees end of file
    finally:
        left.close()
        right.close()
    # A call that failed without disarming, whose connection was closed and its number taken by another
    # socket: the other socket is left alone.
    gone, gone_peer = socket.socketpair()
    number = gone.fileno()
    watchdog.arm(gone, number, 0.2)
    gone.close()
    gone_peer.close()
    reused, reused_peer = socket.socketpair()
    try:
        assert number in (reused.fileno(), reused_peer.fileno())
        time.sleep(0.5)
        reused.sendall(b"y")
        assert reused_peer.recv(1) == b"y"
        reused_peer.sendall(b"z")
        assert reused.recv(1) == b"z"
    finally:
        reused.close()
        reused_peer.close()


def select_while_the_database_is_cut() -> None:
    """A job (run by the test below) whose database goes away mid-transaction as it sends a caller's words."""
    import workers.context

    with workers.context.services().engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        _DRILL["proxy"].cut()
        conn.execute(
            text("SELECT CAST(:caller AS text), CAST(:phone AS text), CAST(:complaint AS text)"), _CALL
        )


@postgres_only
def test_jobs_failing_on_a_database_outage_store_no_parameter_and_log_one_line(
    services, proxy, worker_env, monkeypatch, fresh_limiter
):
    import workers.context

    monkeypatch.setenv("DATABASE_URL", proxy.url)
    workers.context.reset()
    monkeypatch.setitem(_DRILL, "proxy", proxy)
    queue = Queue(QUEUE_NAME, connection=services.redis)
    failing = [queue.enqueue(f"{__name__}.select_while_the_database_is_cut") for _ in range(3)]
    with json_log_lines(logging.DEBUG) as lines:
        run_observed_jobs(services.redis)
    failed = FailedJobRegistry(QUEUE_NAME, connection=services.redis).get_job_ids()
    assert sorted(failed) == sorted(job.id for job in failing)
    stored = []
    for job in failing:
        result = Job.fetch(job.id, connection=services.redis).latest_result()
        stored.append(result.exc_string if result is not None else "")
    assert all("OperationalError" in trace for trace in stored)  # the record keeps each job's trace
    assert "[SQL parameters hidden" in stored[0]  # the first was cut mid-statement, the others at connect
    assert _leaks(_redis_texts(services.redis)) == []  # the job's hash, its result stream, the registries
    # Three jobs failed on one outage: one short line names it (and the first job), no trace is logged.
    [line] = [line for line in lines if "OperationalError" in line]
    assert '"level": "ERROR"' in line and "Traceback" not in line
    assert failing[0].id in line and "select_while_the_database_is_cut" in line
    assert _leaks(lines) == []
