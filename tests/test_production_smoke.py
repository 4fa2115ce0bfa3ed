"""The production smoke, on every CI run: the runtime-only install (`make runtime`, RUNTIME_VENV) started as
docker-compose starts it, with a production configuration (ENVIRONMENT=production, PostgreSQL, Redis, Twilio
through the fake Twilio as a process of its own, an https PUBLIC_BASE_URL, a random SECRET_KEY), takes one
call the whole way through the night. Then every process is stopped with SIGTERM and must exit 0, with no
job lost and no patient data or traceback in any log; finally the database is backed up and restored, and
the restored copy must be the same database.

The first admin comes from `dispatch user create` (production refuses `seed demo`); everyone and everything
else is set up through the API as the centre's admin, coordinator and clinic would. The morning handoff:
HANDOFF_TIME=00:00, so the report for the day that ended at midnight can be made at any hour; the call is
logged as taken at 23:00 last night (inside the service hours, so the reports count it), and the handoff job
is put on the queue as `dispatch cron` puts it, to run on a worker now rather than at the cron's next minute.
"""

from __future__ import annotations

import os
import re
import shutil
import time as clock
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests import backup
from tests.production import (
    PUBLIC_URL,
    ProductionStack,
    database_named,
    installed_setting,
    json_log_problems,
    leaks,
    recreate_database,
    runtime_venv,
    skip_or_fail,
    wait_for,
)
from tests.production_night import (
    PASSWORDS,
    SERVICE,
    STOP_BOUND_S,
    Night,
    patient_data,
    settled,
    stop_and_count,
    the_night,
    wait_past_midnight_in_tokyo,
)


@pytest.fixture(scope="module")
def night(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    venv = runtime_venv()
    if not (venv / "bin" / "dispatch").exists():
        skip_or_fail(f"no runtime install at {venv}/bin/dispatch: run `make runtime` (or set RUNTIME_VENV)")
    test_url = os.environ.get("TEST_DATABASE_URL", "")
    if make_url(test_url or "sqlite://").get_backend_name() != "postgresql":
        skip_or_fail("the production smoke needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://…")
    database_url = database_named(test_url, f"{make_url(test_url).database}_smoke")
    recreate_database(database_url)
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    stack = ProductionStack(database_url, redis_url, tmp_path_factory.mktemp("production"))
    wait_past_midnight_in_tokyo()
    started = clock.monotonic()
    try:
        stack.run("migrate", "migrate")
        stack.run("seed-reference", "seed", "reference")
        stack.run(
            "user-create",
            "user",
            "create",
            "--username",
            "admin",
            "--role",
            "admin",
            stdin=PASSWORDS["admin"] + "\n",
        )
        stack.start_fake_twilio()
        stack.start("serve", "serve", "--host", "127.0.0.1", "--port", str(stack.api_port), "--workers", "2")
        for name in ("worker-1", "worker-2"):
            stack.start(name, "worker")
        stack.start("cron", "cron")
        stack.wait_until_up()
        result = the_night(stack, redis)
        wait_for("every SMS sent and reported delivered", lambda: settled(stack), 15, 0.1)
        stop_and_count(result, redis)
        result.seconds = round(clock.monotonic() - started, 1)
        print(f"production smoke: {result.seconds} s to the end of the stop; after SIGTERM: {result.exits}")
        yield result
    finally:
        stack.kill_all()
        redis.flushdb()


def test_one_call_goes_the_whole_night_on_the_production_install(night: Night):
    case = night.case
    assert case["state"] == "closed"
    moves = [e["to_state"] for e in case["timeline"] if e["to_state"]]
    for state in ("triaging", "dispatching", "offered", "accepted", "en_route", "on_scene", "visit_completed"):
        assert state in moves, moves
    assert moves[-2:] == ["handed_off", "closed"], moves
    cid = case["id"]
    assert re.fullmatch(rf"【往診依頼】#K{cid} \S+ 橙 返信: {cid} Y で受諾 / {cid} N で辞退", night.offer_sms)
    assert not [s for s in patient_data() if s in night.offer_sms], "the offer SMS carries patient data"
    assert (
        night.handoff["items"][0]["id"] == case["id"]
        and night.handoff["items"][0]["outcome"] == "treated_at_home"
    )
    assert f"{PUBLIC_URL}/api/v1/handoffs/{night.handoff['id']}" in night.handoff_sms
    assert (night.report_row["house_calls"], night.report_row["consultations"]) == (1, 0)
    assert night.seconds < 60, f"the smoke took {night.seconds} s"


def test_every_staff_login_gives_a_second_factor_enrolled_at_the_first(night: Night):
    """Production requires two factors: the first admin (from `dispatch user create`) and everyone the admin
    added could only enrol at their first login; later logins gave the app's code or a recovery code."""
    assert night.had_to_enrol == dict.fromkeys(PASSWORDS, True)
    assert night.recovery_codes_left == {**dict.fromkeys(PASSWORDS, 10), "clinic": 9}


def test_the_probes_answer_and_metrics_add_up_every_process(night: Night):
    assert night.probes == {"/livez": 200, "/readyz": 200, "/healthz": 200}
    recorded = {
        line.split("{")[0].split(" ")[0]
        for line in night.metrics.splitlines()
        if line and not line.startswith("#") and not line.endswith(" 0.0")
    }
    # Figures the API processes, the workers and the cron recorded, added up by one API process.
    for family in (
        "dispatch_http_requests_total",
        "dispatch_http_request_duration_seconds_count",
        "dispatch_jobs_total",
        "dispatch_job_duration_seconds_count",
        "dispatch_sms_sends_total",
        "dispatch_sms_send_duration_seconds_count",
        "dispatch_offer_answer_seconds_count",
        "dispatch_reconciler_sweep_duration_seconds_count",
        "dispatch_reconciler_heartbeat_age_seconds",
    ):
        assert family in recorded, family
    assert "dispatch_queue_depth" in night.metrics and "dispatch_queue_oldest_job_age_seconds" in night.metrics
    # No offer lapsed tonight: escalation lateness from a worker is checked in test_observability_stack.py.


def test_every_process_stops_on_sigterm_with_exit_0_and_leaves_nothing_running(night: Night):
    assert {name: e.returncode for name, e in night.exits.items()} == dict.fromkeys(
        [*SERVICE, "fake-twilio"], 0
    ), night.exits
    assert max(e.seconds for e in night.exits.values()) < STOP_BOUND_S
    assert night.leftovers == []
    # An operator's board was open on its event stream: the stop did not wait for it, and it ended.
    assert night.board_status == 200 and night.board_closed


def test_no_job_is_lost(night: Night):
    assert night.started_jobs == [], "jobs were left started (cut short) by the shutdown"
    assert night.failed_jobs == []
    assert (night.unsent_sms, night.overdue_offers) == (0, 0)


def test_no_log_holds_patient_data_or_a_traceback(night: Night):
    files = night.stack.log_files()
    assert {f.name.split(".")[0] for f in files} >= {*SERVICE, "migrate", "user-create", "fake-twilio"}
    assert leaks(files, patient_data() + night.two_factor_secrets) == []


def test_serve_worker_and_cron_write_json_log_lines(night: Night):
    stack = night.stack
    if not installed_setting(stack.venv, "log_format", stack.workdir):
        pytest.skip("the installed service has no LOG_FORMAT setting yet: JSON log lines not checked")
    files = [f for f in stack.log_files() if f.name.split(".")[0] in SERVICE]
    assert [p for f in files for p in json_log_problems(f)] == []


def test_a_backup_restores_into_a_fresh_database_as_the_same_database(night: Night, tmp_path: Path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        skip_or_fail("the backup drill needs pg_dump and pg_restore (apt-get install postgresql-client)")
    original = night.stack.database_url
    restored = database_named(original, f"{make_url(original).database}_restored")
    backup.dump(original, tmp_path / "dispatch.dump")
    backup.restore(tmp_path / "dispatch.dump", restored)
    before, after = backup.contents(original), backup.contents(restored)
    for table in ("case", "case_event", "audit_log", "offer", "sms_message", "handoff"):
        assert before[table], f"nothing in {table} to compare"
        assert after[table] == before[table], table
    assert after == before
    engine = create_engine(restored)
    for edit in ("UPDATE case_event SET reason = 'edited'", "DELETE FROM audit_log"):  # still append-only
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(edit))
    engine.dispose()
    for name, url in (("verify-original", original), ("verify-restored", restored)):  # the hash chain too
        assert "audit chain intact" in night.stack.run(name, "audit", "verify", env={"DATABASE_URL": url})
    reports = (
        ("report", "clinics", "--fiscal-year", str(night.fiscal_year), "--format", "json"),
        ("report", "monthly", "--from", night.month, "--to", night.month, "--format", "json"),
    )
    for args in reports:
        outputs = [
            night.stack.run(f"{args[1]}-report", *args, env={"DATABASE_URL": url})
            for url in (original, restored)
        ]
        assert outputs[0] == outputs[1] and '"house_calls": 1' in outputs[0], outputs
