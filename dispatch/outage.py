"""A database outage reaching a request: 503 with `Retry-After`, and one short, rate-limited log line.

The line names the error's class and the request id only: no traceback, no SQL, no parameters, and at most
one per error class every `WINDOW_S` seconds per process (the next one says how many were held back), so
an outage cannot fill the disk with log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dispatch.sqlite_lock import LOCKED_MESSAGE, is_locked
from dispatch.telemetry import context

log = logging.getLogger(__name__)

# The connection is gone, never opened, timed out, or the pool had none free. IntegrityError and the other
# errors of a statement itself are not outages and keep their own handling.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
RETRY_AFTER_S = 5
WINDOW_S = 10.0
MESSAGE = "the database is unavailable; try again in a few seconds"


class LineLimiter:
    """At most one line per key every `window_s` seconds; the next admitted line learns how many were held."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def admit(self, key: str) -> int | None:
        """None: hold this line back; else the number of lines of `key` held back since the last one."""
        with self._lock:
            now = self._clock()
            last = self._state.get(key)
            if last is not None and now - last[0] < self.window_s:
                self._state[key] = (last[0], last[1] + 1)
                return None
            self._state[key] = (now, 0)
            return last[1] if last is not None else 0


def error_class(exc: BaseException) -> str:
    """The error's class, and the driver's beneath it: `sqlalchemy.exc.OperationalError (psycopg.…)`."""
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if orig is None:
        return name
    return f"{name} ({type(orig).__module__}.{type(orig).__qualname__})"


limiter = LineLimiter()


def log_outage(exc: BaseException, outcome: str = "answered 503") -> None:
    """One ERROR line with the error's class, what came of it and the request id, unless the limiter holds
    it back."""
    kind = error_class(exc)
    held = limiter.admit(kind)
    if held is None:
        return
    suffix = f"; {held} more like it in the last {WINDOW_S:g} s" if held else ""
    log.error("database unavailable: %s; %s (request_id=%s)%s", kind, outcome, context.request_id.get(), suffix)


async def answer_outage(_: Request, exc: Exception) -> JSONResponse:
    """503 with `Retry-After` and a plain message; the error is logged in one line."""
    log_outage(exc)
    # SQLite still locked after its busy timeout and retries (the embedded default): busy, not down.
    content = {"detail": LOCKED_MESSAGE, "code": "database_busy"} if is_locked(exc) else {"detail": MESSAGE}
    return JSONResponse(status_code=503, content=content, headers={"Retry-After": str(RETRY_AFTER_S)})


def install_outage_handler(app: FastAPI) -> None:
    """Answer every database outage error that reaches a route with 503 instead of a 500 and a traceback."""
    for error in OUTAGE_ERRORS:
        app.add_exception_handler(error, answer_outage)
