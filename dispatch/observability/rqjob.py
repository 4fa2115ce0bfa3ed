"""The RQ job class `dispatch worker` runs jobs as: the request id that enqueued the job (from `job.meta`,
else a new one, as for the cron scheduler's jobs) and the job's ids are bound while it runs, so its log
lines and the jobs it enqueues carry them; each job is counted by function and outcome, and timed.

RQ 3.0 calls `Job.perform()` in the process that runs the job (the worker itself by default, the work horse
under `--fork`), inside its timeout; overriding it is the documented way to wrap a job (`job_class=`).
"""

from __future__ import annotations

import time
from typing import Any

from rq import SimpleWorker, Worker
from rq.job import Job
from rq.job_lifecycle import call_exception_handlers

from dispatch import jobs
from dispatch.outage import OUTAGE_ERRORS, log_outage
from dispatch.telemetry import context, metrics

# Jobs whose first argument is an id worth putting on every log line they write.
_FIRST_ARG_ID = {jobs.DRIVE_CASE: "case_id", jobs.OFFER_DEADLINE: "offer_id"}


def job_ids(function: str, args: tuple[Any, ...] | list[Any]) -> dict[str, int]:
    """The case or offer id a job's arguments name, by the job's function."""
    name = _FIRST_ARG_ID.get(function)
    if name is None or not args or not isinstance(args[0], int):
        return {}
    return {name: args[0]}


def request_id_of(job: Job) -> str:
    """The request id the job was enqueued under, else a new one of its own."""
    carried = job.meta.get(context.META_REQUEST_ID)
    return context.sane_request_id(carried if isinstance(carried, str) else None) or context.new_request_id()


class ObservedJob(Job):
    """A job that binds its request id and ids while it runs, and is counted and timed."""

    def perform(self) -> Any:
        """Run the job with its ids bound; count it as ok or failed and record its duration."""
        function = self.func_name or "unknown"
        started = time.perf_counter()
        ok = False
        ids: dict[str, Any] = {"case_id": None, "offer_id": None, **job_ids(function, self.args)}
        try:
            with context.bound(request_id=request_id_of(self), job_id=self.id, job_function=function, **ids):
                result = super().perform()
            ok = True
            return result
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_job(function, ok, seconds)
            if function == jobs.RECONCILE:
                metrics.observe_sweep(seconds)


class QuietOutages:
    """A worker that logs a job failing on a database outage in one rate-limited line (the error's class,
    the job's id and function), not RQ's traceback per job: an outage fails every job, and each line would
    repeat the same trace. The failed-job record keeps its trace; any other failure keeps RQ's own line."""

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """Log an outage briefly, then run the exception handlers as RQ would."""
        error = exc_info[1] if len(exc_info) > 1 else None
        if not isinstance(error, OUTAGE_ERRORS):
            super().handle_exception(job, *exc_info)  # type: ignore[misc]
            return
        with context.bound(request_id=request_id_of(job), job_id=job.id, job_function=job.func_name):
            log_outage(error, f"job {job.func_name} {job.id} failed (the sweep re-drives its work)")
        call_exception_handlers(self._exc_handlers, job, *exc_info)  # type: ignore[attr-defined]


class ServiceWorker(QuietOutages, SimpleWorker):
    """`dispatch worker`: jobs in the warm worker process."""


class ForkingServiceWorker(QuietOutages, Worker):
    """`dispatch worker --fork`: each job in a forked work horse."""
