"""SQLite under several processes (`dispatch up`: the API, a worker, cron) without "database is locked".

Every connection runs in WAL mode (readers never wait for the writer) with a busy timeout (a writer waits for
another to finish). pysqlite starts a transaction only at the first write, and starts it `BEGIN IMMEDIATE`:
the write lock is taken, waiting out the busy timeout, before the transaction has read anything, so it never
has to upgrade a read snapshot to writing, which WAL refuses at once (SQLITE_BUSY, no waiting) when another
commit came in between. Reads before the first write see the latest commit, as PostgreSQL's read committed.
Holding the lock from the first read instead (`BEGIN IMMEDIATE` for every transaction) was tried: a request
holds its transaction across thread-pool hops, and fifty parallel requests then queue behind one another
until their busy timeouts run out. A lock still met after the timeout is retried where the whole unit of work
can run again (a worker's job, each safe to run twice); a request answers 503 with `Retry-After`.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

# After the busy timeout ran out: this many more runs of a unit of work, this far apart.
RETRIES = 2
BACKOFF_S = (0.1, 0.5)
LOCKED_MESSAGE = "the database is busy with another change; try again in a few seconds"

P = ParamSpec("P")
T = TypeVar("T")


# PostgreSQL's answers to two transactions that locked rows in opposite orders (or read what the other changed):
# one is rolled back, and running it again is the documented remedy (deadlock_detected, serialization_failure).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (or "busy"), or a PostgreSQL deadlock or serialization failure: contention
    that running the unit of work again resolves, however SQLAlchemy wrapped it."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    text = str(orig).lower()
    return "locked" in text or "busy" in text


def install(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, the busy timeout and foreign keys on every connection; each write transaction `BEGIN IMMEDIATE`."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"  # pysqlite's BEGIN before the first write: IMMEDIATE
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def retry_locked(func: Callable[P, T]) -> Callable[P, T]:
    """Run an idempotent unit of work again when SQLite stayed locked or PostgreSQL broke a deadlock (a worker's
    job, a sweep, an inbound SMS: each safe to run twice)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(RETRIES + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_locked(exc) or attempt == RETRIES:
                    raise
                log.warning("database contention (lock or deadlock) in %s; running it again", func.__name__)
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    return wrapper
