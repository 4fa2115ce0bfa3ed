"""The Prometheus metrics the processes record as they work: HTTP requests, RQ jobs, SMS sends, offer
answers, escalation lateness and reconciler sweeps (and the sweeps workers ran in cron's place).

Multi-process mode: the API runs several uvicorn processes, and workers and the cron scheduler are
processes of their own. When `PROMETHEUS_MULTIPROC_DIR` names a directory (the `METRICS_DIR` setting;
`dispatch serve`, `worker`, `cron` and `up` set it before this module is imported, see
`dispatch.observability.process`), every process writes its figures to files there, named by host name and
pid so that containers sharing one volume never collide, and the API's `/metrics` adds them all up. Processes
that share the directory are therefore scraped together through any API process; a deployment on several
hosts either mounts one shared volume in every container (the compose file's `metrics` volume) or scrapes
each host's API. Without the variable (tests, one process) the metrics live in this process's registry.

Counters and histograms only: gauges (queue depth, ages) are read from Redis at scrape time instead
(`dispatch.observability.collectors`), so nothing here depends on which processes are still alive.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, Metric, values
from prometheus_client.registry import Collector

from dispatch.telemetry import MULTIPROC_ENV

_HOST = (socket.gethostname() or "host").replace("_", "-")
# Set in `dispatch worker` (`mark_worker_process`): a forked work horse writes under its worker's name.
_worker_pid: int | None = None


def process_identifier() -> str:
    """This process's name in the metrics directory: host name and pid. A work horse forked by a worker
    (`dispatch worker --fork`) takes its worker's name plus '-horse': a worker runs one horse at a time,
    so horses share one file instead of leaving one per job."""
    pid = os.getpid()
    if _worker_pid is not None and pid != _worker_pid:
        return f"{_HOST}-{_worker_pid}-horse"
    return f"{_HOST}-{pid}"


def mark_worker_process() -> None:
    """Record that this process is an RQ worker, so that its forked work horses are told apart."""
    global _worker_pid
    _worker_pid = os.getpid()


def multiprocess_dir() -> str | None:
    """The shared metrics directory, when this process writes its figures there."""
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and os.path.isdir(path) else None


if multiprocess_dir() is not None:
    # Before any metric below exists: their values are then files in the shared directory.
    values.ValueClass = values.MultiProcessValue(process_identifier)

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "dispatch_http_requests",
    "HTTP requests answered, by route template (never the raw path) and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "dispatch_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
JOBS = Counter(
    "dispatch_jobs",
    "RQ jobs run, by function and outcome (ok, failed)",
    ["function", "outcome"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "dispatch_job_duration_seconds",
    "Time an RQ job ran, by function",
    ["function"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
SMS_SENDS = Counter(
    "dispatch_sms_sends",
    "SMS handed to Twilio, by outcome (sent, rejected for good, unavailable after retries)",
    ["outcome"],
    registry=REGISTRY,
)
SMS_SEND_DURATION = Histogram(
    "dispatch_sms_send_duration_seconds",
    "Time Twilio took to take one SMS, retries included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
OFFER_ANSWER = Histogram(
    "dispatch_offer_answer_seconds",
    "Time from an offer SMS leaving to the physician's reply, by answer (accepted, declined)",
    ["answer"],
    buckets=(5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 600.0, 1800.0),
    registry=REGISTRY,
)
ESCALATION_LATENESS = Histogram(
    "dispatch_escalation_lateness_seconds",
    "How long after an offer's deadline its timeout was processed, by path (deadline_job, reconciler, other)",
    ["path"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
SWEEP_DURATION = Histogram(
    "dispatch_reconciler_sweep_duration_seconds",
    "Time one reconciler sweep took",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
WORKER_SWEEPS = Counter(
    "dispatch_worker_sweeps",
    "Reconciler sweeps a worker ran itself because cron's were overdue (cron down or behind)",
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its duration."""
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def observe_job(function: str, ok: bool, seconds: float) -> None:
    """Count one finished RQ job and its duration."""
    JOBS.labels(function, "ok" if ok else "failed").inc()
    JOB_DURATION.labels(function).observe(seconds)


def observe_sweep(seconds: float) -> None:
    """Record one reconciler sweep's duration."""
    SWEEP_DURATION.observe(seconds)


class _ThisProcess:
    """This process's own metrics, for a scrape without a shared directory (tests, one process)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def recorded_collector() -> Collector:
    """What a scrape reads of the recorded metrics: every process's files in multi-process mode, else this
    process's registry."""
    path = multiprocess_dir()
    if path is not None:
        from prometheus_client.multiprocess import MultiProcessCollector

        collector: Collector = MultiProcessCollector(None, path=path)
        return collector
    return _ThisProcess()
