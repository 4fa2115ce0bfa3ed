"""What on-call engineers read: JSON log lines with the request id (into the jobs a request enqueues),
/livez and /readyz, and the metric families after a case has been driven through."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis

from dispatch import jobs
from dispatch.app import create_app
from dispatch.embedded import free_port
from dispatch.observability.logs import AccessPathFilter, JsonFormatter, TextFormatter
from dispatch.observability.rqjob import request_id_of
from dispatch.queue import QUEUE_NAME, dispatch_queue, enqueue
from dispatch.services import Services
from dispatch.telemetry import context
from tests.factories import decision_body, intake_body
from tests.night import start_night
from tests.observability_support import json_log_lines, metric_samples, run_observed_jobs, sample


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("dispatch.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_holds_time_level_logger_message_and_the_ids_and_nothing_else():
    with context.bound(request_id="req-1", case_id=412, offer_id=7, job_id="drive-412-9"):
        line = JsonFormatter().format(_record("offer %s sent", 7, patient_name="印旛 太郎"))
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "case_id", "offer_id", "job_id"}
    assert (
        entry["message"] == "offer 7 sent"
        and entry["level"] == "WARNING"
        and entry["logger"] == "dispatch.test"
    )
    assert (entry["request_id"], entry["case_id"], entry["offer_id"]) == ("req-1", 412, 7)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert "印旛" not in line  # an `extra` is never written
    bare = json.loads(JsonFormatter().format(_record("no context")))
    assert bare["request_id"] is None and "case_id" not in bare
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(failed))["exception"]
    with context.bound(request_id="req-2"):
        assert TextFormatter().format(_record("hello")).endswith("dispatch.test: hello [request_id=req-2]")


def test_the_access_line_shows_the_route_never_the_query_or_a_token():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5000", "GET", "/visit/secret-token?kana=インバ", "1.1", 200), None,
    )  # fmt: skip
    with context.bound():
        context.http_route.set("/visit/{token}")
        AccessPathFilter().filter(record)
    assert record.getMessage() == '10.0.0.1:5000 - "GET /visit/{token} HTTP/1.1" 200'
    context.http_route.set(None)


def test_livez_answers_and_every_answer_carries_a_request_id(client):
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-ID"])
    echoed = client.get("/livez", headers={"X-Request-ID": "lb-7f3a.2_x"})
    assert echoed.headers["X-Request-ID"] == "lb-7f3a.2_x"
    for insane in ("a b", "x" * 65, "<script>", "名前"):
        replaced = client.get("/livez", headers={"X-Request-ID": insane.encode()})
        assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["X-Request-ID"]), insane


def test_readyz_is_ready_when_the_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_readyz_says_redis_is_unreachable_with_503(settings, clock):
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    services = Services.build(settings, clock=clock, redis=dead)
    with TestClient(create_app(services=services)) as client:
        response = client.get("/readyz")
        assert client.get("/livez").status_code == 200  # alive all the same
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready: redis" and body["database"] == "ok"
    assert body["redis"].startswith("unreachable")


def test_the_request_id_travels_into_the_job_and_onto_its_log_lines(client, login, services):
    import workers.context

    operator, consult = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=operator).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=consult)
    decided = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json=decision_body(),
        headers={**consult, "X-Request-ID": "trace-night-0042"},
    )
    assert decided.status_code == 200 and decided.headers["X-Request-ID"] == "trace-night-0042"
    [job] = [j for j in dispatch_queue(services.redis).get_jobs() if j.func_name == jobs.DRIVE_CASE]
    assert job.meta["request_id"] == "trace-night-0042"
    workers.context.install(services)
    try:
        with json_log_lines(logging.INFO) as lines:
            assert run_observed_jobs(services.redis)
    finally:
        workers.context.reset()
    sent = [json.loads(line) for line in lines if '"logger": "dispatch.sms.console"' in line]
    assert sent, lines
    assert {(e["request_id"], e["job_id"], e["case_id"], e["job"]) for e in sent} == {
        ("trace-night-0042", job.id, case_id, jobs.DRIVE_CASE)
    }
    assert context.current() == {}  # nothing of the job is left bound in the worker


def test_a_job_nobody_requested_runs_under_an_id_of_its_own(services):
    queue = dispatch_queue(services.redis)
    cron_job = queue.enqueue(jobs.HEARTBEAT)  # as the cron scheduler enqueues: no request id in its meta
    forged = queue.enqueue(jobs.HEARTBEAT, meta={"request_id": "no spaces allowed"})
    carried = enqueue(services.redis, jobs.HEARTBEAT)  # outside a request: nothing to carry either
    assert "request_id" not in carried.meta
    for job in (cron_job, forged, carried):
        assert re.fullmatch(r"[0-9a-f]{16}", request_id_of(job))
    with context.bound(request_id="from-a-request"):
        assert request_id_of(enqueue(services.redis, jobs.HEARTBEAT)) == "from-a-request"


def _decide(night, case_id: int, request_id: str) -> None:
    doctor = night.headers("consult")
    night.http.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    response = night.http.post(
        f"/api/v1/cases/{case_id}/decision",
        headers={**doctor, "X-Request-ID": request_id},
        json=decision_body(),
    )
    assert response.status_code == 200, response.text
    run_observed_jobs(night.services.redis)


def _pending_offer(night, case_id: int) -> dict:
    offers = night.http.get(f"/api/v1/cases/{case_id}/offers", headers=night.headers("coordinator")).json()
    return next(o for o in offers if o["state"] == "pending")


def test_the_metric_families_after_a_night_of_two_cases(settings, clock):
    with start_night(settings, clock) as night:
        before = metric_samples(night.http.get("/metrics").text)
        first = night.call()
        _decide(night, first, "metrics-first")
        night.clock.advance(timedelta(seconds=30))
        assert "受諾" in night.reply(night.offer_for(first).to, "はい")  # answered in 30 s

        second = night.call(patient={"clinic_patient_number": "E-0001"})
        _decide(night, second, "metrics-second")
        offer = _pending_offer(night, second)
        night.clock.advance(timedelta(minutes=3, seconds=5))  # orange: 3 minutes, processed 5 s late
        enqueue(night.services.redis, jobs.OFFER_DEADLINE, offer["id"], job_id="deadline-observed")
        run_observed_jobs(night.services.redis)
        late = _pending_offer(night, second)
        assert late["id"] != offer["id"]
        deadline = datetime.fromisoformat(late["deadline_at"])
        night.clock.advance(deadline - night.clock.now() + timedelta(seconds=8))
        enqueue(night.services.redis, jobs.RECONCILE, job_id="reconcile-observed")
        run_observed_jobs(night.services.redis)
        page = night.http.get("/metrics").text
    after = metric_samples(page)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    decision = {"method": "POST", "route": "/api/v1/cases/{case_id}/decision"}
    assert grew("dispatch_http_requests_total", **decision, status="200") == 2
    assert grew("dispatch_http_request_duration_seconds_count", **decision) == 2
    assert not [s for s in after if s[0].startswith("dispatch_http") and re.search(r"/\d", dict(s[1])["route"])]
    assert grew("dispatch_jobs_total", function=jobs.DRIVE_CASE, outcome="ok") >= 2
    assert grew("dispatch_job_duration_seconds_count", function=jobs.DRIVE_CASE) >= 2
    assert grew("dispatch_jobs_total", function=jobs.OFFER_DEADLINE, outcome="ok") == 1
    assert grew("dispatch_sms_sends_total", outcome="sent") >= 3  # an offer each, and one after the deadline
    assert grew("dispatch_sms_send_duration_seconds_count") >= 3
    assert grew("dispatch_offer_answer_seconds_count", answer="accepted") == 1
    assert grew("dispatch_offer_answer_seconds_sum", answer="accepted") == 30
    assert grew("dispatch_escalation_lateness_seconds_count", path="deadline_job") == 1
    assert grew("dispatch_escalation_lateness_seconds_sum", path="deadline_job") == 5
    assert grew("dispatch_escalation_lateness_seconds_count", path="reconciler") == 1
    assert grew("dispatch_escalation_lateness_seconds_sum", path="reconciler") == 8
    assert grew("dispatch_reconciler_sweep_duration_seconds_count") == 1
    assert sample(after, "dispatch_queue_depth", queue="dispatch") == 0
    assert sample(after, "dispatch_queue_oldest_job_age_seconds", queue="dispatch") == 0
    assert sample(after, "dispatch_queue_registry_jobs", queue="dispatch", registry="scheduled") >= 1
    assert sample(after, "dispatch_cases", state="accepted") == 1  # the database's families are kept
    assert "dispatch_reconciler_heartbeat_age_seconds" in page


def test_the_health_commands_tell_a_live_worker_and_cron_from_a_dead_one(services):
    from rq import Worker
    from rq.cron_scheduler_registry import get_registry_key
    from rq.utils import utcformat

    from dispatch.observability.probes import cron_status, worker_status

    redis = services.redis
    assert worker_status(redis, "host-a") == (False, "no RQ worker registered from host-a")
    worker = Worker([QUEUE_NAME], connection=redis)
    worker.hostname = "host-a"
    worker.register_birth()
    assert worker_status(redis, "host-a")[0]
    redis.hset(worker.key, "last_heartbeat", utcformat(datetime.now(UTC) - timedelta(minutes=3)))
    assert worker_status(redis, "host-a") == (False, "worker on host-a: last beat 180 s ago (stale)")
    assert not cron_status(redis, "host-a")[0]
    redis.zadd(get_registry_key(), {"host-a:7:abc123": time.time() - 2, "host-b:7:def456": time.time()})
    ok, words = cron_status(redis, "host-a")
    assert ok and words.startswith("cron on host-a: last beat 2 s ago (ok)")
    redis.zadd(get_registry_key(), {"host-a:7:abc123": time.time() - 45})
    assert not cron_status(redis, "host-a")[0]
