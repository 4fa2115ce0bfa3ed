"""The RQ queue the service puts work on. Jobs are named by dotted path and carry only ids."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from dispatch.telemetry.context import job_meta

QUEUE_NAME = "dispatch"
# The RQ cron configuration module run by `dispatch cron` (named, not imported, by the service).
CRON_CONFIG = "workers.cron"
JOBS_MODULE = "workers.jobs"


def dispatch_queue(redis: Redis) -> Queue:
    """The service's one queue on this Redis connection."""
    return Queue(QUEUE_NAME, connection=redis)


def enqueue(redis: Redis, func_path: str, *args: Any, job_id: str | None = None, **options: Any) -> Job:
    """Enqueue `func_path` (e.g. 'workers.jobs.heartbeat') after the caller has committed; the job carries
    the request id it was enqueued under in its meta."""
    meta = {**job_meta(), **(options.pop("meta", None) or {})}
    return dispatch_queue(redis).enqueue(func_path, *args, job_id=job_id, meta=meta, **options)


# Every scheduled job's time (a sorted-set score, wall-clock seconds) moved earlier by ARGV[1] seconds.
_BRING_FORWARD = """
local items = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #items, 2 do
  redis.call('ZADD', KEYS[1], tonumber(items[i + 1]) - tonumber(ARGV[1]), items[i])
end
return #items / 2
"""


def bring_forward(redis: Redis, seconds: float) -> int:
    """Simulation mode, after the shared clock jumped `seconds` ahead: move every job waiting in RQ's
    scheduler as much earlier, so a job due at a simulated instant the jump passed runs now, as it would
    have in a night lived in real time. Returns how many jobs were moved."""
    registry = ScheduledJobRegistry(QUEUE_NAME, connection=redis)
    return int(redis.eval(_BRING_FORWARD, 1, registry.key, repr(seconds)))
