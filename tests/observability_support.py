"""Helpers for the observability tests: log lines captured as the service formats them, an RQ worker running
jobs as `dispatch worker` does, and the samples of a `/metrics` page."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from dispatch.observability.logs import AccessPathFilter, JsonFormatter
from dispatch.observability.rqjob import ObservedJob, ServiceWorker
from dispatch.queue import QUEUE_NAME


class _Keep(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def json_log_lines(level: int = logging.DEBUG) -> Iterator[list[str]]:
    """Every record logged in this process while open, formatted as `LOG_FORMAT=json` writes it; uvicorn's
    access lines included, through the filter the service's logging configuration puts on them."""
    lines: list[str] = []
    handler = _Keep(lines)
    handler.setFormatter(JsonFormatter())
    root, access = logging.getLogger(), logging.getLogger("uvicorn.access")
    access_filter = AccessPathFilter()
    saved = root.level, access.level
    root.addHandler(handler)
    access.addHandler(handler)  # uvicorn's own config stops its access lines from reaching the root
    access.addFilter(access_filter)
    root.setLevel(level)
    access.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        access.removeHandler(handler)
        access.removeFilter(access_filter)
        root.setLevel(saved[0])
        access.setLevel(saved[1])


def run_observed_jobs(redis: Redis) -> bool:
    """Let an in-process worker take everything queued, as `dispatch worker` runs jobs (ObservedJob)."""
    return ServiceWorker([QUEUE_NAME], connection=redis, job_class=ObservedJob).work(burst=True)


def metric_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """One sample's value (0 when the page does not have it)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
