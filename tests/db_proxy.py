"""A TCP forwarder to the test database that a drill can cut (close every connection, refuse new ones) or stall
(accept connections and forward nothing), then resume."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from sqlalchemy.engine import make_url

FORWARD, CUT, STALL = "forward", "cut", "stall"
# A stalled connection is closed after this long, so a drill that goes wrong fails instead of hanging.
STALL_LIMIT_S = 20.0


class DatabaseProxy:
    """Listens on 127.0.0.1 at a free port and forwards each connection to the database's host and port."""

    def __init__(self, database_url: str) -> None:
        parsed = make_url(database_url)
        self.target = (parsed.host or "127.0.0.1", parsed.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = parsed.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self.mode = FORWARD
        self.accepted = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Close every open connection; new ones are closed as soon as they are accepted."""
        self.mode = CUT
        self._close_all()

    def stall(self) -> None:
        """Forward nothing more, on open connections and new ones alike."""
        self.mode = STALL

    def resume(self) -> None:
        self.mode = FORWARD

    def close(self) -> None:
        self._closed = True
        self.mode = CUT
        self._close_all()
        self.listener.close()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    def _track(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._open.update(sockets)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == CUT:
                _close(client)
                continue
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if not self._wait_while_stalled():
            _close(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _wait_while_stalled(self) -> bool:
        """True once forwarding may go on; False when cut, or stalled for longer than STALL_LIMIT_S."""
        deadline = time.monotonic() + STALL_LIMIT_S
        while self.mode == STALL:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return self.mode == FORWARD

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._wait_while_stalled():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
