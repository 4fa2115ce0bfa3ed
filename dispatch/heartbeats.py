"""Heartbeats in Redis: a background part writes its last beat; health checks read the age."""

from __future__ import annotations

from redis import Redis

from dispatch.clock import Clock

_KEY = "dispatch:heartbeat:{part}"


def beat(redis: Redis, part: str, clock: Clock) -> None:
    """Record that `part` is alive now."""
    redis.set(_KEY.format(part=part), clock.now().timestamp())


def heartbeat_age_s(redis: Redis, part: str, clock: Clock) -> float | None:
    """Seconds since `part` last beat, or None if it never has."""
    raw = redis.get(_KEY.format(part=part))
    if raw is None:
        return None
    return max(0.0, clock.now().timestamp() - float(raw))
