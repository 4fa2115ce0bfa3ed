"""Health reports the database, Redis and the worker's heartbeat; a real RQ worker runs a real job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis
from rq import SimpleWorker

from config.settings import Settings
from dispatch.app import create_app
from dispatch.embedded import free_port
from dispatch.queue import QUEUE_NAME, enqueue
from dispatch.services import Services


def test_healthy_when_database_and_redis_answer(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker_heartbeat_age_s"] is None  # no worker has run yet


def test_a_worker_job_records_the_heartbeat_that_health_reports(client, services, clock, worker_env):
    clock.set(datetime.now(UTC))  # the worker builds its own wiring, on the wall clock
    enqueue(services.redis, "workers.jobs.heartbeat", job_id="heartbeat-test")
    worker = SimpleWorker([QUEUE_NAME], connection=services.redis)
    assert worker.work(burst=True)
    clock.advance(timedelta(seconds=30))
    age = client.get("/healthz").json()["worker_heartbeat_age_s"]
    assert 29.0 < age < 40.0


def test_unhealthy_and_says_which_part_when_redis_is_gone(settings: Settings, clock):
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    services = Services.build(settings, clock=clock, redis=dead)
    with TestClient(create_app(services=services)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert response.json()["redis"].startswith("unreachable")
