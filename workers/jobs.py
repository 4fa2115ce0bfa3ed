"""Job entry points. Each takes only ids, re-reads state, and is safe to run twice."""

from __future__ import annotations

from dispatch.heartbeats import beat
from workers.context import services


def heartbeat() -> None:
    """Record that a worker is taking jobs; the health endpoint reports its age."""
    svc = services()
    beat(svc.redis, "worker", svc.clock)
