"""Liveness and readiness: the database, Redis, and the workers' heartbeat."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dispatch.auth.guard import public
from dispatch.deps import get_services
from dispatch.heartbeats import heartbeat_age_s

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public()])
def healthz(request: Request) -> JSONResponse:
    """200 when the database and Redis answer; 503 naming what does not."""
    services = get_services(request)
    checks: dict[str, object] = {}
    healthy = True
    started = time.perf_counter()
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        healthy = False
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        services.redis.ping()
        checks["redis"] = "ok"
        age = heartbeat_age_s(services.redis, "worker", services.clock)
        checks["worker_heartbeat_age_s"] = None if age is None else round(age, 1)
    except RedisError as exc:
        healthy = False
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JSONResponse(
        status_code=200 if healthy else 503, content={"status": "ok" if healthy else "unhealthy", **checks}
    )
