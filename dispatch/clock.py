"""The one place services read the time from, so tests and simulations can move it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


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
