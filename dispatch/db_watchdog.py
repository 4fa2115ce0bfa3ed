"""A client-side deadline for every database call: the socket of a call that outlives it is shut down.

libpq waits on its socket with no deadline of its own. The connect timeout covers a new connection and the
server's statement_timeout a slow statement, but a server that stops answering on a connection already open
(frozen, or a middlebox that still acknowledges and forwards nothing) would hold the request until TCP
gives up, minutes later. Shutting the socket makes the waiting call fail at once with psycopg's
OperationalError: the pool drops that connection, and the request answers 503 (`dispatch.outage`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class SocketWatchdog:
    """One thread per process; calls arm a deadline for their socket and disarm it when they return."""

    def __init__(self) -> None:
        self._started = threading.Lock()
        self._pid: int | None = None
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, float] = {}
        self._wake_at: float | None = None
        self.fired = 0

    def _ensure_thread(self) -> None:
        # Started on first use, and again after a fork (RQ's work horse): the child has the parent's
        # state but not its thread.
        with self._started:
            if self._pid == os.getpid():
                return
            if self._pid is not None:
                self._reset()
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="db-watchdog", daemon=True).start()

    def arm(self, fd: int, seconds: float) -> None:
        """Shut `fd` down if it is still armed `seconds` from now."""
        if self._pid != os.getpid():
            self._ensure_thread()
        due = time.monotonic() + seconds
        with self._cond:
            self._due[fd] = due
            if self._wake_at is None or due < self._wake_at:
                self._cond.notify()

    def disarm(self, fd: int) -> None:
        """The call on `fd` returned (or failed) in time."""
        with self._cond:
            self._due.pop(fd, None)

    @contextmanager
    def deadline(self, fd: int, seconds: float) -> Iterator[None]:
        """Arm for the block."""
        self.arm(fd, seconds)
        try:
            yield
        finally:
            self.disarm(fd)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for fd in [fd for fd, due in self._due.items() if due <= now]:
                    del self._due[fd]
                    self.fired += 1
                    _shut(fd)
                self._wake_at = min(self._due.values(), default=None)
                self._cond.wait(None if self._wake_at is None else max(self._wake_at - now, 0.01))


def _shut(fd: int) -> None:
    """Shut the socket down in both directions: the call waiting on it sees end of file. The descriptor
    itself stays the driver's to close."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return  # already closed
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more
    finally:
        sock.close()


watchdog = SocketWatchdog()
