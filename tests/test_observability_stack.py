"""On the real stack (the API in two uvicorn processes, a worker and the cron scheduler as processes of their
own, sharing one metrics directory): after one case reaches its offer SMS, the API's /metrics shows what
the worker did (the matching job, the SMS send) beside its own HTTP figures."""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.engine import make_url

from dispatch import jobs
from simulations.replay import Replay
from simulations.stack import start
from tests.observability_support import metric_samples, sample

CALL = {
    "caller_relation": "family",
    "callback_phone": "090-1234-5678",
    "chief_complaint": "stack",
    "attending_unavailable": "no_answer",
}


def _stack_database() -> str | None:
    """A PostgreSQL database of its own beside the suite's (wiped by the stack), else the stack's SQLite."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return None
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_stack").render_as_string(hide_password=False)


def test_the_api_metrics_add_up_what_the_worker_processes_did(redis_url: str, tmp_path: Path):
    metrics_dir = tmp_path / "metrics"
    stack = start(_stack_database(), redis_url, workers=1, settings={"METRICS_DIR": str(metrics_dir)})
    try:
        run = Replay(stack, random.Random(1), 0.0, 0.0)
        tokyo = ZoneInfo("Asia/Tokyo")
        run.set_clock(datetime.now(tokyo).replace(hour=23, minute=0, second=0, microsecond=0))
        towns = run.api("admin", "GET", "/api/v1/programme").json()["municipalities"]
        town = next(t["id"] for t in towns if t["name"] == "佐倉市")
        patient = {"unidentified": True, "municipality_id": town}
        case_id = run.api("operator", "POST", "/api/v1/cases", json={"patient": patient, **CALL}).json()["id"]
        run.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
        decision = {"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2}
        run.api("consult", "POST", f"/api/v1/cases/{case_id}/decision", json=decision)
        run.wait_for_offer(case_id, 0)
        # The job is counted as it returns, a moment after its SMS left: scrape until both are in.
        deadline = time.monotonic() + 10
        while True:
            samples = metric_samples(httpx.get(stack.url + "/metrics", timeout=5).text)
            drove = sample(samples, "dispatch_jobs_total", function=jobs.DRIVE_CASE, outcome="ok")
            sent = sample(samples, "dispatch_sms_sends_total", outcome="sent")
            if (drove >= 1 and sent >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert drove >= 1 and sent >= 1, "the worker's figures never reached the API's /metrics"
        assert sample(samples, "dispatch_sms_send_duration_seconds_count") >= 1
        assert sample(samples, "dispatch_job_duration_seconds_count", function=jobs.DRIVE_CASE) >= 1
        decided = {"method": "POST", "route": "/api/v1/cases/{case_id}/decision", "status": "200"}
        assert sample(samples, "dispatch_http_requests_total", **decided) == 1
        assert sample(samples, "dispatch_cases", state="offered") == 1
        assert ("dispatch_queue_depth", frozenset({("queue", "dispatch")})) in samples
        # Every process writes its own files, named by host and pid: the API's two, the worker's.
        assert len({path.name.split("_", 1)[1] for path in metrics_dir.glob("*.db")}) >= 2

        # The offer goes unanswered past its deadline: a worker times it out, and its lateness is counted.
        run.set_clock(run.deadline(case_id) + timedelta(milliseconds=1))
        deadline = time.monotonic() + 15
        while True:
            samples = metric_samples(httpx.get(stack.url + "/metrics", timeout=5).text)
            late = sum(
                sample(samples, "dispatch_escalation_lateness_seconds_count", path=path)
                for path in ("deadline_job", "reconciler")
            )
            if late >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert late == 1, "a worker timed the offer out, but its lateness never reached /metrics"
    finally:
        stack.stop()
