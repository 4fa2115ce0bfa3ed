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
        # By the id of the connection a call runs on: its socket's fd and inode, and the deadline.
        self._due: dict[int, tuple[int, int, float]] = {}
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

    def arm(self, owner: object, fd: int, seconds: float) -> None:
        """Shut `owner`'s socket `fd` down if the call on it is still armed `seconds` from now."""
        if self._pid != os.getpid():
            self._ensure_thread()
        due = time.monotonic() + seconds
        inode = os.fstat(fd).st_ino  # the socket itself: its fd may be closed and reused meanwhile
        with self._cond:
            self._due[id(owner)] = (fd, inode, due)
            if self._wake_at is None or due < self._wake_at:
                self._cond.notify()

    def disarm(self, owner: object) -> None:
        """The call on `owner`'s socket returned (or failed) in time."""
        with self._cond:
            self._due.pop(id(owner), None)

    @contextmanager
    def deadline(self, owner: object, fd: int, seconds: float) -> Iterator[None]:
        """Arm for the block."""
        self.arm(owner, fd, seconds)
        try:
            yield
        finally:
            self.disarm(owner)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [key for key, (_, _, due) in self._due.items() if due <= now]:
                    fd, inode, _ = self._due.pop(key)
                    if _shut(fd, inode):
                        self.fired += 1
                self._wake_at = min((due for _, _, due in self._due.values()), default=None)
                self._cond.wait(None if self._wake_at is None else max(self._wake_at - now, 0.01))


def _shut(fd: int, inode: int) -> bool:
    """Shut the socket down in both directions, if `fd` is still that socket: the call waiting on it sees end
    of file. The descriptor itself stays the driver's to close."""
    try:
        if os.fstat(fd).st_ino != inode:
            return False  # closed, and the number reused by another file since
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False  # already closed
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more
    finally:
        sock.close()
    return True


watchdog = SocketWatchdog()
