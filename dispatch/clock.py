"""The one place services read the time from, so tests and simulations can move it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def wall(self, instant: datetime) -> datetime:
        """The wall-clock instant at which `instant` comes on this clock: what to give RQ's scheduler,
        which runs on the wall clock, for a job due at `instant`."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wall(self, instant: datetime) -> datetime:
        return instant


class ManualClock:
    """A clock that only moves when told to; used by tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def wall(self, instant: datetime) -> datetime:
        return instant  # tests run scheduled work themselves (or leave it to the sweep)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a clock never moves backward")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        """Jump to `instant`, which must not be in this clock's past."""
        if instant.tzinfo is None:
            raise ValueError("set() needs a timezone-aware time")
        instant = instant.astimezone(UTC)
        with self._lock:
            if instant < self._now:
                raise ValueError("a clock never moves backward")
            self._now = instant
            return self._now


class SharedClock:
    """Simulation mode: one clock for the API and every worker, kept in Redis and moved only forward."""

    KEY = "dispatch:simulation-clock"

    def __init__(self, redis) -> None:
        self.redis = redis

    def now(self) -> datetime:
        raw = self.redis.get(self.KEY)
        return datetime.fromtimestamp(float(raw), UTC) if raw is not None else datetime.now(UTC)

    def wall(self, instant: datetime) -> datetime:
        """As far ahead of the wall clock as `instant` is ahead of the shared one. Without this a job due
        on the simulated night would be handed to RQ in the wall clock's past and run at once: a deadline
        job per offer that production runs at the deadline, run early for nothing."""
        return datetime.now(UTC) + (instant - self.now())

    def set(self, instant: datetime) -> datetime:
        """Move the shared clock to `instant`; refuses to go backward."""
        if instant.tzinfo is None:
            raise ValueError("set() needs a timezone-aware time")
        # Compare-and-set in Redis so two movers cannot take it backward.
        moved = self.redis.eval(
            "local cur = redis.call('GET', KEYS[1]) "
            "if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end "
            "redis.call('SET', KEYS[1], ARGV[1]) return 1",
            1,
            self.KEY,
            repr(instant.timestamp()),
        )
        if not moved:
            raise ValueError("a clock never moves backward")
        return instant.astimezone(UTC)
