"""The one table of jobs: every RQ job the service enqueues or runs on a schedule, by name.

`dispatch` never imports `workers`, so a job is put on the queue by the dotted name of its function in
`workers.jobs`; those names are written here and nowhere else (`tests/test_jobs.py` checks that each names
a function there, and that each function there is named here).
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.queue import JOBS_MODULE


def _job(function: str) -> str:
    return f"{JOBS_MODULE}.{function}"


# Enqueued after a commit, with ids only.
DRIVE_CASE = _job("drive_case")  # a case needs a physician: a matching round, its offers sent
SEND_SMS = _job("send_sms")  # a queued SMS to hand to the gateway
OFFER_DEADLINE = _job("offer_deadline")  # an offer's deadline has come (scheduled for that moment)
OFFER_CALL = _job("offer_call")  # an offer unanswered at its call time: ring the physician (scheduled)
PLACE_CALL = _job("place_call")  # a written call (the coordinator's alert) to hand to the caller

# Run on a schedule by `dispatch cron` (and on demand by the simulations). While cron's sweeps are overdue,
# the workers run the reconciler's pass themselves (`dispatch.flow.keeper`); the other jobs wait for cron.
HEARTBEAT = _job("heartbeat")
RECONCILE = _job("reconcile")
RELEASE_IDLE_CLAIMS = _job("release_idle_claims")
HANDOFFS = _job("handoffs")
COVERAGE_GAPS = _job(
    "coverage_gaps_tonight"
)  # tonight's gaps alerted to the coordinator, from 15:00, once a night
SHIFT_REMINDERS = _job("shift_reminders")  # the SMS before each turn on call (`flow.shift_reminders`)
WARM_REPORTS = _job("warm_reports")  # the reports' missing ended months counted again (`reports.warm`)


@dataclass(frozen=True)
class Periodic:
    """A job `workers.cron` registers with RQ's cron scheduler."""

    job: str
    name: str
    interval_s: int
    result_ttl_s: int
    timeout_s: int | None = None

    @property
    def function(self) -> str:
        """The function's name in `workers.jobs`."""
        return self.job.rpartition(".")[2]


PERIODIC = (
    Periodic(HEARTBEAT, "heartbeat", interval_s=10, result_ttl_s=60),
    Periodic(RECONCILE, "reconcile", interval_s=5, result_ttl_s=60, timeout_s=60),
    Periodic(RELEASE_IDLE_CLAIMS, "release-idle-claims", interval_s=30, result_ttl_s=60),
    Periodic(HANDOFFS, "handoffs", interval_s=60, result_ttl_s=600),
    Periodic(COVERAGE_GAPS, "coverage-gaps", interval_s=60, result_ttl_s=600),
    Periodic(SHIFT_REMINDERS, "shift-reminders", interval_s=300, result_ttl_s=600),
    Periodic(WARM_REPORTS, "warm-reports", interval_s=300, result_ttl_s=600, timeout_s=3600),
)
