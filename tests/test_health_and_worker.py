"""Health reports the database, Redis and the worker's heartbeat; a real RQ worker runs a real job."""

from __future__ import annotations

import time

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


def test_a_worker_job_records_the_heartbeat_that_health_reports(client, services, worker_env):
    enqueue(services.redis, "workers.jobs.heartbeat", job_id="heartbeat-test")
    assert SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    age = client.get("/healthz").json()["worker_heartbeat_age_s"]
    assert 0 <= age < 5


def test_a_stale_reconciler_makes_the_service_unhealthy_until_it_sweeps_again(client, services, worker_env):
    services.redis.set("dispatch:heartbeat:reconciler", time.time() - 45)
    stale = client.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["status"] == "unhealthy: reconciler"
    assert "dispatch cron" in stale.json()["reconciler"]
    enqueue(services.redis, "workers.jobs.reconcile", job_id="reconcile-test")
    assert SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    assert client.get("/healthz").status_code == 200


def test_no_reconciler_ever_is_unhealthy_once_the_start_up_grace_is_over(client, services):
    services.started_monotonic -= 120
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["reconciler_heartbeat_age_s"] is None


def test_unhealthy_and_says_which_part_when_redis_is_gone(settings: Settings, clock):
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    services = Services.build(settings, clock=clock, redis=dead)
    with TestClient(create_app(services=services)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert response.json()["redis"].startswith("unreachable")
