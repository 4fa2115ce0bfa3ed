"""Health: the database, Redis, and the heartbeats of the worker and the reconciler.

A stale reconciler heartbeat makes the service unhealthy: without the sweep, a case could stall silently.
So does cron gone quiet while the workers sweep in its place: deadlines and SMS keep going, but cron's other
periodic jobs (the morning handoffs) wait for it.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dispatch.auth.guard import public
from dispatch.deps import get_services
from dispatch.heartbeats import CRON_SWEEP, RECONCILER, WORKER_SWEEP, heartbeat_age_s

router = APIRouter(tags=["health"])

RECONCILER_STALE_S = 30.0
# A process just started has not seen a reconciler beat yet; give the cron scheduler time to start one.
STARTUP_GRACE_S = 60.0
# Heartbeats and the fields that report their ages.
_BEATS = {
    "worker": "worker_heartbeat_age_s",
    RECONCILER: "reconciler_heartbeat_age_s",
    CRON_SWEEP: "cron_sweep_age_s",
    WORKER_SWEEP: "worker_sweep_age_s",
}


def _workers_stand_in_for_cron(cron_age: float | None, workers_age: float | None) -> bool:
    """The workers swept last, and cron has not for RECONCILER_STALE_S."""
    if workers_age is None:
        return False
    return cron_age is None or (cron_age > workers_age and cron_age > RECONCILER_STALE_S)


@router.get("/healthz", dependencies=[public()])
def healthz(request: Request) -> JSONResponse:
    """200 when the database and Redis answer and the reconciler is sweeping; 503 naming what is wrong."""
    services = get_services(request)
    checks: dict[str, object] = {}
    problems = []
    started = time.perf_counter()
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        problems.append("database")
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        services.redis.ping()
        checks["redis"] = "ok"
        ages: dict[str, float | None] = {}
        for part, field in _BEATS.items():
            age = heartbeat_age_s(services.redis, part)
            ages[part] = checks[field] = None if age is None else round(age, 1)
        age = ages[RECONCILER]
        up_s = time.monotonic() - services.started_monotonic
        if (age is None and up_s > STARTUP_GRACE_S) or (age is not None and age > RECONCILER_STALE_S):
            problems.append("reconciler")
            checks["reconciler"] = "stale: no sweep in the last 30 s; is `dispatch cron` running?"
        elif _workers_stand_in_for_cron(ages[CRON_SWEEP], ages[WORKER_SWEEP]):
            problems.append("cron")
            checks["cron"] = (
                "no sweep from `dispatch cron` in the last 30 s; the workers sweep in its place (deadlines and "
                "SMS keep going) but its other periodic jobs wait: is `dispatch cron` running?"
            )
    except RedisError as exc:
        problems.append("redis")
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    status = "ok" if not problems else "unhealthy: " + ", ".join(problems)
    return JSONResponse(status_code=503 if problems else 200, content={"status": status, **checks})
