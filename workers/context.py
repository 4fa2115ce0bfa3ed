"""The worker process's wiring, built on first use (after RQ has forked, never at import)."""

from __future__ import annotations

from redis import Redis
from rq import get_current_job
from sqlalchemy import text

from config.settings import load_settings
from dispatch.matching import policy
from dispatch.runtime import freeze_startup_objects
from dispatch.services import Services

_services: Services | None = None


def services() -> Services:
    """This process's services, using the Redis connection the job came from."""
    global _services
    if _services is None:
        job = get_current_job()
        _services = Services.build(load_settings(), redis=job.connection if job else None)
    return _services


def warm(redis: Redis) -> None:
    """Wire this process before its first job, so that job pays for no imports or connections: the SMS
    gateway's client (importing twilio takes a good part of a second) and a pooled database connection."""
    global _services
    if _services is None:
        _services = Services.build(load_settings(), redis=redis)
    _services.gateway  # noqa: B018 - built on first use
    policy.solver()  # the matching round's solver, imported now rather than by the first round
    with _services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    freeze_startup_objects()


def install(wiring: Services) -> None:
    """Run this process's jobs on the given wiring (tests and simulations share their clock this way)."""
    global _services
    _services = wiring


def reset() -> None:
    """Forget this process's wiring (tests point workers at a fresh database)."""
    global _services
    if _services is not None:
        _services.close()
    _services = None
