"""Heartbeats in Redis: a background part writes its last beat; health checks read the age.

They measure whether processes are alive, so they use the wall clock, never the service's (movable) clock.
"""

from __future__ import annotations

import time

from redis import Redis

_KEY = "dispatch:heartbeat:{part}"


def beat(redis: Redis, part: str) -> None:
    """Record that `part` is alive now."""
    redis.set(_KEY.format(part=part), time.time())


def heartbeat_age_s(redis: Redis, part: str) -> float | None:
    """Seconds since `part` last beat, or None if it never has."""
    raw = redis.get(_KEY.format(part=part))
    if raw is None:
        return None
    return max(0.0, time.time() - float(raw))
