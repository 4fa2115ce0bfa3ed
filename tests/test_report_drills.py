"""Failure drills for the reports' cache of ended months (migrations 0028-0030) on PostgreSQL: the warm job's
worker killed mid-run, and a backend terminated while the warm job or a report route stores, each leave the
cache equal to one counted from scratch; a report asked while the database is down answers 503 as every
route does, with no patient's data in the answer or the log."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from rq import Queue, SimpleWorker, Worker
from rq.registry import FailedJobRegistry
from sqlalchemy import event, select, text

from dispatch import embedded, jobs, outage
from dispatch.app import create_app
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode
from dispatch.patients.models import Patient
from dispatch.programme.periods import fiscal_year_of
from dispatch.queue import QUEUE_NAME, enqueue
from dispatch.reports import months, warm
from dispatch.reports.models import ReportMonth
from dispatch.services import Services
from tests.db_proxy import DatabaseProxy
from tests.factories import insert_case
from tests.observability_support import json_log_lines
from tests.production import wait_for
from tests.test_area_reports import Ids

TOKYO = ZoneInfo("Asia/Tokyo")
PLACES = {
    "inba": [("D病院", "成田市"), ("Eクリニック", "佐倉市")],
    "katori-kaiso": [("香取ひばり診療所", "香取市"), ("旭なぎさクリニック", "旭市")],
}
STORE = "INSERT INTO report_month ("  # the months kept (not their stamps)
UNITS = ({"scope": "prefecture"}, {"area": "inba"}, {"area": "katori-kaiso"})
_WAITING = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


@pytest.fixture
def calls(services, demo_areas) -> None:
    """Ninety calls in both areas over the last fourteen ended months (the warm job's current and previous
    fiscal year, on the wall clock), house calls, deaths, consultations and cross-area visits among them."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the cache of ended months is PostgreSQL's")
    rng = random.Random(18)
    now = datetime.now(TOKYO)
    first = datetime(now.year - 1, now.month, 1, 20, tzinfo=TOKYO) - timedelta(days=60)
    with unit_of_work(services.session_factory) as session:
        ids = Ids(session)
        for n in range(90):
            code = rng.choice(list(PLACES))
            label, place = rng.choice(PLACES[code])
            outcome = rng.choice([None, OutcomeCode.treated_at_home, OutcomeCode.death_pronounced])
            extra = {}
            if outcome is not None and rng.random() < 0.3:
                extra["visiting_area_id"] = ids.area["inba" if code == "katori-kaiso" else "katori-kaiso"]
            insert_case(
                session,
                programme_id=ids.programme[code],
                clinic_id=ids.clinic[label],
                municipality_id=ids.town[place],
                called_at=first + timedelta(days=rng.randrange(400), minutes=n),
                outcome=outcome,
                **extra,
            )


def _rows(services: Services) -> dict[tuple[str, int, str], object]:
    with unit_of_work(services.session_factory) as session:
        rows = session.execute(
            select(ReportMonth.kind, ReportMonth.scope, ReportMonth.month, ReportMonth.payload)
        )
        return {(kind, scope, month): payload for kind, scope, month, payload in rows}


def _from_scratch(services: Services) -> dict[tuple[str, int, str], object]:
    """The cache emptied and warmed again in one run on a healthy database: what every drill must end with."""
    with unit_of_work(services.session_factory) as session:
        session.execute(text("DELETE FROM report_month"))
    assert warm.warm(services.session_factory, datetime.now(UTC))
    return _rows(services)


def _waiting(services: Services) -> bool:
    """Whether a connection to the database waits for a lock (a fresh transaction: pg_stat_activity is read once
    per transaction)."""
    with services.engine.connect() as conn:
        return conn.execute(text(_WAITING)).first() is not None


def _warm_lock_free(services: Services) -> bool:
    with services.engine.connect() as conn:
        return not conn.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key"),
            {"key": warm.LOCK},
        )


def test_the_warm_jobs_worker_killed_mid_run_the_next_run_completes_the_cache_as_counted_from_scratch(
    services, calls, settings, tmp_path
):
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    log = (tmp_path / "worker.log").open("wb")
    argv = [sys.executable, "-m", "dispatch", "worker", "--no-scheduler", "--log-level", "WARNING"]
    with services.session_factory() as blocker, log:
        # The last part of a run (last year's enrolled patients) waits for this lock: the worker dies there,
        # its run's months counted and kept, the enrolled ones never.
        blocker.execute(text("LOCK TABLE enrolment IN ACCESS EXCLUSIVE MODE"))
        worker = embedded.spawn(argv, env={**env, "ENVIRONMENT": "test"}, stdout=log, stderr=log)
        try:
            wait_for("the worker", lambda: Worker.all(connection=services.redis), 30)
            enqueue(services.redis, jobs.WARM_REPORTS)
            wait_for("the warm run half-way", lambda: _waiting(services), 10)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{(tmp_path / 'worker.log').read_text()[-3000:]}") from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        blocker.rollback()
    half = _rows(services)
    assert {kind for kind, *_ in half} == {"monthly", "counts", "tallies"}  # each part whole, or not there
    wait_for("the dead run's advisory lock released", lambda: _warm_lock_free(services), 5)

    assert warm.warm(services.session_factory, datetime.now(UTC)) == {"enrolled": 3}  # only what was missing
    finished = _rows(services)
    assert finished.items() >= half.items()
    assert finished == _from_scratch(services)


@contextlib.contextmanager
def terminated_on_store(engine, services: Services, nth: int) -> Iterator[list[int]]:
    """Before the `nth` statement that keeps months in the cache on `engine`, terminate the backend about to
    run it (as a database restart would); yields the pids terminated."""
    seen, killed = [0], []

    def _cut(conn, cursor, statement, *args) -> None:
        if not statement.startswith(STORE):
            return
        seen[0] += 1
        if seen[0] == nth:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with services.engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    event.listen(engine, "before_cursor_execute", _cut)
    try:
        yield killed
    finally:
        event.remove(engine, "before_cursor_execute", _cut)


def test_a_backend_terminated_as_the_warm_job_stores_fails_the_job_and_the_next_run_completes_it(
    services, calls, worker_env
):
    import workers.context

    queue = Queue(QUEUE_NAME, connection=services.redis)
    # The first part's months kept (each programme's counts and tallies, in one transaction); the next part's
    # connection (a monthly report's) terminated as it keeps its months.
    with terminated_on_store(workers.context.services().engine, services, nth=2) as killed:
        job = enqueue(services.redis, jobs.WARM_REPORTS)
        with json_log_lines(logging.DEBUG) as lines:
            SimpleWorker([queue], connection=services.redis).work(burst=True)
    assert killed and FailedJobRegistry(QUEUE_NAME, connection=services.redis).get_job_ids() == [job.id]
    assert {kind for kind, *_ in _rows(services)} == {"counts", "tallies"}  # the cut transaction kept nothing
    assert any("OperationalError" in line for line in lines)
    assert _warm_lock_free(services)  # the run's advisory lock was given back as it failed

    again = enqueue(services.redis, jobs.WARM_REPORTS)  # the next period's run
    SimpleWorker([queue], connection=services.redis).work(burst=True)
    assert again.get_status(refresh=True) == "finished"
    assert _rows(services) == _from_scratch(services)


@pytest.fixture
def today(clock) -> None:
    """The service's clock moved to the wall clock's now: the calls' fiscal years are reportable."""
    clock.advance(datetime.now(UTC) - clock.now())


def _last_year() -> int:
    """The fiscal year before the wall clock's: ended, and in the calls."""
    return fiscal_year_of(datetime.now(TOKYO).date()) - 1


def _months() -> dict[str, str]:
    """The monthly report's range: the last twelve ended months."""
    last = datetime.now(TOKYO).date().replace(day=1) - timedelta(days=1)
    return {"from": f"{last.year - 1}-{last.month:02d}", "to": f"{last.year}-{last.month:02d}"}


def _reports(client: TestClient, headers: dict[str, str]) -> list[dict]:
    found = []
    for unit in UNITS:
        for path, params in (
            ("/api/v1/reports/clinics", {"fiscal_year": _last_year()}),
            ("/api/v1/reports/monthly", _months()),
        ):
            response = client.get(path, params={**params, **unit}, headers=headers)
            assert response.status_code == 200, response.text
            found.append(response.json())
    return found


def test_a_backend_terminated_as_a_report_stores_answers_503_and_keeps_nothing(
    client, login, services, calls, today, monkeypatch
):
    headers = login("prefecture")
    params = {**_months(), "scope": "prefecture"}
    with terminated_on_store(services.engine, services, nth=1) as killed:
        answer = client.get("/api/v1/reports/monthly", params=params, headers=headers)
    assert killed and answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == str(outage.RETRY_AFTER_S)
    assert answer.json() == {"detail": outage.MESSAGE}
    assert _rows(services) == {}  # the report's transaction died whole: no month kept from it

    cached = _reports(client, headers)  # the database is back: counted, kept, read from the cache
    assert _reports(client, headers) == cached
    monkeypatch.setattr(months, "cacheable", lambda *args: False)
    assert _reports(client, headers) == cached  # the same figures counted from the cases alone


def _patient_strings(services: Services) -> list[str]:
    with services.session_factory() as session:
        rows = session.execute(
            select(Patient.family_name, Patient.given_name, Patient.household_phone_e164)
        ).all()
    return [value for row in rows for value in row if value]


def test_a_report_asked_while_the_database_is_down_answers_503_with_no_patient_data(
    services, settings, clock, login, calls, today, monkeypatch
):
    monkeypatch.setattr(outage, "limiter", outage.LineLimiter())
    headers = login("prefecture")
    proxy = DatabaseProxy(settings.database_url)
    proxied = Services.build(settings.model_copy(update={"database_url": proxy.url}), clock=clock)
    try:
        with TestClient(create_app(services=proxied)) as client:
            assert client.get("/api/v1/reports/units", headers=headers).status_code == 200
            proxy.cut()
            with json_log_lines(logging.DEBUG) as lines:
                answers = [
                    client.get(
                        "/api/v1/reports/clinics",
                        params={"area": "inba", "fiscal_year": _last_year()},
                        headers=headers,
                    ),
                    client.get(
                        "/api/v1/reports/monthly",
                        params={**_months(), "scope": "prefecture", "format": "csv"},
                        headers={**headers, "Accept-Language": "ja"},
                    ),
                ]
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == str(outage.RETRY_AFTER_S)
                assert answer.json() == {"detail": outage.MESSAGE}  # the console says it in Japanese (5xx)
            secrets = _patient_strings(services)
            assert secrets and not [line for line in lines if any(s in line for s in secrets)]
            assert not any(s in answer.text for answer in answers for s in secrets)
            assert len([line for line in lines if '"logger": "dispatch.outage"' in line]) == 1
            proxy.resume()
            assert (
                client.get(
                    "/api/v1/reports/clinics",
                    params={"area": "inba", "fiscal_year": _last_year()},
                    headers=headers,
                ).status_code
                == 200
            )
    finally:
        proxied.close()
        proxy.close()
