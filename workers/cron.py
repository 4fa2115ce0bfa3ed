"""Periodic jobs, loaded by `dispatch cron` (RQ's CronScheduler)."""

from rq import cron

from dispatch.queue import QUEUE_NAME
from workers.jobs import handoffs, heartbeat, reconcile, release_idle_claims

cron.register(heartbeat, QUEUE_NAME, interval=10, result_ttl=60, name="heartbeat")
cron.register(reconcile, QUEUE_NAME, interval=5, result_ttl=60, job_timeout=60, name="reconcile")
cron.register(release_idle_claims, QUEUE_NAME, interval=30, result_ttl=60, name="release-idle-claims")
cron.register(handoffs, QUEUE_NAME, interval=60, result_ttl=600, name="handoffs")
