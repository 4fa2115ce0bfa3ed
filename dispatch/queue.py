"""The RQ queue the service puts work on. Jobs are named by dotted path and carry only ids."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

QUEUE_NAME = "dispatch"
# The RQ cron configuration module run by `dispatch cron` (named, not imported, by the service).
CRON_CONFIG = "workers.cron"
JOBS_MODULE = "workers.jobs"


def dispatch_queue(redis: Redis) -> Queue:
    """The service's one queue on this Redis connection."""
    return Queue(QUEUE_NAME, connection=redis)


def enqueue(redis: Redis, func_path: str, *args: Any, job_id: str | None = None, **options: Any) -> Job:
    """Enqueue `func_path` (e.g. 'workers.jobs.heartbeat') after the caller has committed."""
    return dispatch_queue(redis).enqueue(func_path, *args, job_id=job_id, **options)
