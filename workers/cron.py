"""Periodic jobs, loaded by `dispatch cron` (RQ's CronScheduler); the schedule is `dispatch.jobs.PERIODIC`."""

from rq import cron

from dispatch.jobs import PERIODIC
from dispatch.queue import QUEUE_NAME
from workers import jobs

for periodic in PERIODIC:
    cron.register(
        getattr(jobs, periodic.function),
        QUEUE_NAME,
        interval=periodic.interval_s,
        result_ttl=periodic.result_ttl_s,
        job_timeout=periodic.timeout_s,
        name=periodic.name,
    )
