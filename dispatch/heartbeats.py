"""Heartbeats in Redis: a background part writes its last beat; health checks read the age.

They measure whether processes are alive, so they use the wall clock, never the service's (movable) clock.
"""

from __future__ import annotations

import time
from typing import Literal

from redis import Redis

_KEY = "dispatch:heartbeat:{part}"

# The reconciler's sweep beats `RECONCILER` whoever ran it, and the part of the one who did: the job cron
# schedules, or a worker's keeper standing in for cron (`dispatch.flow.keeper`).
RECONCILER = "reconciler"
Sweeper = Literal["cron", "worker"]
CRON_SWEEP = "reconciler:cron"
WORKER_SWEEP = "reconciler:worker"
SWEEP_PARTS: dict[Sweeper, str] = {"cron": CRON_SWEEP, "worker": WORKER_SWEEP}


def beat(redis: Redis, *parts: str) -> None:
    """Record that each of `parts` is alive now (one instant, one round trip)."""
    now = time.time()
    redis.mset({_KEY.format(part=part): now for part in parts})


def heartbeat_age_s(redis: Redis, part: str) -> float | None:
    """Seconds since `part` last beat, or None if it never has."""
    raw = redis.get(_KEY.format(part=part))
    if raw is None:
        return None
    return max(0.0, time.time() - float(raw))
