"""The sweep keeper: a thread in every `dispatch worker` that runs the reconciler's sweep itself while cron's
sweeps are overdue (cron dead, or its jobs not reaching a worker), so that no deadline and no unsent SMS
waits on one process.

Cron schedules a sweep every 5 s. Once none has run for 7 s (or none ever, 20 s after the worker started:
a fresh Redis, everything starting together), the keepers step in: each looks every second, and the one
that takes the lease (`SET NX PX`, 5 s) sweeps, so the workers together sweep every 5 s or so, one at a
time, until cron's sweeps run again. A keeper's pass beside one of cron's is harmless: each step of
the sweep takes its row first (`dispatch.flow.reconciler`). One line when a worker takes over, one when
cron is back; errors (Redis or the database away) one line each time their kind changes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from dispatch import jobs
from dispatch.flow import reconciler
from dispatch.heartbeats import CRON_SWEEP, heartbeat_age_s
from dispatch.services import Services
from dispatch.telemetry import context, metrics

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = next(p.interval_s for p in jobs.PERIODIC if p.job == jobs.RECONCILE)
# Cron's sweep is this late before the workers sweep in its place (its interval, and room for a busy queue).
OVERDUE_S = SWEEP_INTERVAL_S + 2.0
TICK_S = 1.0
# No sweep from cron ever (a fresh or flushed Redis): the processes may all be starting; wait this long first.
NEVER_SWEPT_GRACE_S = 20.0
LEASE_KEY = "dispatch:sweep-lease"


class SweepKeeper:
    """Start it beside the worker's loop, stop it when the loop ends; it never raises into the worker."""

    def __init__(
        self,
        services: Services,
        *,
        overdue_s: float = OVERDUE_S,
        interval_s: float = SWEEP_INTERVAL_S,
        tick_s: float = TICK_S,
    ) -> None:
        self.services = services
        self.overdue_s, self.interval_s, self.tick_s = overdue_s, interval_s, tick_s
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.sweeping = False  # standing in for cron now
        self._started = time.monotonic()
        self._failing: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweep-keeper", daemon=True)

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to end and wait for it a while (a sweep under way finishes; a daemon never holds
        the process open)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception as exc:  # Redis or the database away: try again next tick, say so once
                if type(exc).__name__ != self._failing:
                    self._failing = type(exc).__name__
                    log.warning("sweep keeper: %s; trying again every %g s", self._failing, self.tick_s)
            else:
                if self._failing is not None:
                    log.info("sweep keeper: working again after %s", self._failing)
                    self._failing = None

    def tick(self) -> bool:
        """One look: sweep if cron's sweeps are overdue and no worker has swept in this interval; True if
        this call swept."""
        redis = self.services.redis
        age = heartbeat_age_s(redis, CRON_SWEEP)
        if age is None:  # never: the time since this keeper started, against a longer bound
            age = time.monotonic() - self._started
            overdue = age >= NEVER_SWEPT_GRACE_S
        else:
            overdue = age >= self.overdue_s
        if not overdue:
            if self.sweeping:
                self.sweeping = False
                log.info("sweep keeper: cron's sweeps are back; this worker stops sweeping")
            return False
        if not redis.set(LEASE_KEY, self.name, nx=True, px=int(self.interval_s * 1000)):
            return False  # another worker swept within the interval
        if not self.sweeping:
            self.sweeping = True
            log.warning(
                "sweep keeper: no sweep from cron for %.0f s; the workers sweep every %g s until it is back "
                "(is `dispatch cron` running?)",
                age,
                self.interval_s,
            )
        started = time.perf_counter()
        # The reconciler's path in the figures (escalation lateness) and its own request id on its lines.
        with context.bound(request_id=context.new_request_id(), job_function=jobs.RECONCILE):
            reconciler.reconcile(self.services, by="worker")
        metrics.observe_sweep(time.perf_counter() - started)
        metrics.WORKER_SWEEPS.inc()
        return True
