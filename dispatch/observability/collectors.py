"""What `/metrics` reads at scrape time beside the database's figures: the queue in Redis (depth, the age
of the oldest waiting job, jobs scheduled, running and failed) and every process's recorded metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.utils import utcparse

from dispatch.queue import QUEUE_NAME, dispatch_queue
from dispatch.telemetry import metrics


class QueueCollector:
    """The service's RQ queue as Redis holds it now (a handful of commands in one round trip)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        """Depth, oldest job's age, the scheduled, started and failed registries; nothing if Redis is down."""
        queue = dispatch_queue(self.redis)
        registries = {
            "scheduled": ScheduledJobRegistry(QUEUE_NAME, connection=self.redis).key,
            "started": StartedJobRegistry(QUEUE_NAME, connection=self.redis).key,
            "failed": FailedJobRegistry(QUEUE_NAME, connection=self.redis).key,
        }
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(queue.key)
            pipe.lindex(queue.key, 0)
            for key in registries.values():
                pipe.zcard(key)
            depth, oldest, *counts = pipe.execute()
            enqueued_at = None
            if oldest is not None:
                job_id = oldest.decode() if isinstance(oldest, bytes) else str(oldest)
                enqueued_at = self.redis.hget(Job.key_for(job_id), "enqueued_at")
        except RedisError:
            return
        labels = [QUEUE_NAME]
        gauge = GaugeMetricFamily("dispatch_queue_depth", "Jobs waiting for a worker", labels=["queue"])
        gauge.add_metric(labels, int(depth))
        yield gauge
        age = GaugeMetricFamily(
            "dispatch_queue_oldest_job_age_seconds",
            "How long the oldest job waiting for a worker has waited (0: none waiting)",
            labels=["queue"],
        )
        age.add_metric(labels, _age_s(enqueued_at))
        yield age
        held = GaugeMetricFamily(
            "dispatch_queue_registry_jobs",
            "Jobs scheduled for later (offer deadlines), running, and failed",
            labels=["queue", "registry"],
        )
        for name, count in zip(registries, counts, strict=True):
            held.add_metric([QUEUE_NAME, name], int(count))
        yield held


def _age_s(enqueued_at: bytes | str | None) -> float:
    if not enqueued_at:
        return 0.0
    text = enqueued_at.decode() if isinstance(enqueued_at, bytes) else enqueued_at
    try:
        return max(0.0, time.time() - utcparse(text).timestamp())
    except ValueError:
        return 0.0


def scrape_collectors(redis: Redis) -> list[Collector]:
    """The collectors `/metrics` adds to the database's: the queue, and the processes' recorded metrics."""
    return [QueueCollector(redis), metrics.recorded_collector()]
