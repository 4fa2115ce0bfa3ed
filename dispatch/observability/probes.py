"""Probes for orchestrators: `/livez` (this process answers), `/readyz` (it can serve: the database and
Redis answer within a short timeout), and the checks behind `dispatch health worker|cron`, which tell a
dead or wedged worker or cron scheduler on this host from a live one by its own registration in Redis.

`/healthz` (dispatch/health) stays the pipeline's health: it also fails when the reconciler stops sweeping,
which says nothing about whether this API process should get traffic.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis import ConnectionPool, Redis
from sqlalchemy import text

from dispatch.auth.guard import public
from dispatch.deps import get_services
from dispatch.heartbeats import CRON_SWEEP, RECONCILER, WORKER_SWEEP, heartbeat_age_s
from dispatch.services import Services

router = APIRouter(tags=["health"])

PROBE_TIMEOUT_S = 2.0
# `dispatch worker` registers with this TTL: an idle worker beats at least every TTL - 15 s.
WORKER_TTL_S = 60
# A worker whose registration RQ itself would let expire (TTL + 60 s) is dead or wedged in a job.
WORKER_STALE_S = WORKER_TTL_S + 60
# The cron scheduler beats every loop, at least every 5 s (the reconciler's interval).
CRON_STALE_S = 30.0
# Probes that hang (a database host gone silent) wait here, never in the API's threadpool.
_probes = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@router.get("/livez", dependencies=[public()])
async def livez() -> dict[str, str]:
    """200 while this process answers requests; nothing else is checked (restart it only when this fails)."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[public()])
async def readyz(request: Request) -> JSONResponse:
    """200 when the database and Redis answer within 2 s each; 503 naming the one that does not."""
    services = get_services(request)
    probe_redis = _probe_redis(request, services)
    database, redis = await asyncio.gather(
        _within(lambda: _ping_database(services)), _within(lambda: bool(probe_redis.ping()))
    )
    checks = {"database": database, "redis": redis}
    down = [name for name, result in checks.items() if result != "ok"]
    status = "ok" if not down else "unready: " + ", ".join(down)
    return JSONResponse(status_code=503 if down else 200, content={"status": status, **checks})


def _ping_database(services: Services) -> bool:
    with services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _probe_redis(request: Request, services: Services) -> Redis:
    """A client on the service's Redis with short socket timeouts, made once per app."""
    client: Redis | None = getattr(request.app.state, "probe_redis", None)
    if client is None:
        pool = services.redis.connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        client = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
        request.app.state.probe_redis = client
    return client


async def _within(check: Callable[[], bool]) -> str:
    """'ok', or in words why the check failed or that it took too long."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(_probes.submit(check)), PROBE_TIMEOUT_S)
    except TimeoutError:
        return f"timeout: no answer within {PROBE_TIMEOUT_S:g} s"
    except Exception as exc:  # the check's own error: say which kind, never its text (it may hold a URL)
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def worker_status(redis: Redis, host: str | None = None) -> tuple[bool, str]:
    """Whether an RQ worker registered from this host beat within WORKER_STALE_S, and what was found."""
    from rq import Worker

    host = host or socket.gethostname()
    mine = [w for w in Worker.all(connection=redis) if w.hostname == host]
    if not mine:
        return False, f"no RQ worker registered from {host}"
    now = datetime.now(UTC)
    ages = [(now - w.last_heartbeat).total_seconds() for w in mine if w.last_heartbeat is not None]
    if not ages:
        return False, f"{len(mine)} worker(s) from {host}, none has beaten yet"
    freshest = min(ages)
    ok = freshest < WORKER_STALE_S
    return ok, f"worker on {host}: last beat {freshest:.0f} s ago ({'ok' if ok else 'stale'})"


def cron_status(redis: Redis, host: str | None = None) -> tuple[bool, str]:
    """Whether a cron scheduler registered from this host beat within CRON_STALE_S, and what was found
    (the reconciler's sweep age too, which also needs a worker)."""
    from rq.cron_scheduler_registry import get_registry_key

    host = host or socket.gethostname()
    # The registry scores each scheduler, named `host:pid:…`, by the time of its last beat.
    registered = cast(list[tuple[bytes, float]], redis.zrange(get_registry_key(), 0, -1, withscores=True))
    beats = [float(score) for name, score in registered if name.decode().startswith(f"{host}:")]
    sweep = heartbeat_age_s(redis, RECONCILER)
    swept = "never" if sweep is None else f"{sweep:.0f} s ago"
    by_cron, by_workers = heartbeat_age_s(redis, CRON_SWEEP), heartbeat_age_s(redis, WORKER_SWEEP)
    if by_workers is not None and (by_cron is None or by_cron > by_workers):
        swept += " by the workers, standing in for cron"
    if not beats:
        return False, f"no cron scheduler registered from {host}; reconciler swept {swept}"
    age = time.time() - max(beats)
    ok = age < CRON_STALE_S
    verdict = "ok" if ok else "stale"
    return ok, f"cron on {host}: last beat {age:.0f} s ago ({verdict}); reconciler swept {swept}"
