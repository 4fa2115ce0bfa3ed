"""`dispatch up` on its embedded defaults: serves health and docs within a minute, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dispatch.embedded import free_port


def _processes_mentioning(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_up_serves_then_stops_everything_on_ctrl_c(scratch_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DISPATCH_UP_TEST_MARK"] = marker = f"up-test-{port}"
    log = (scratch_dir / "up.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatch", "up", "--port", str(port)],
        cwd=scratch_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = docs = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=2)
                if health.status_code == 200 and docs.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        log.seek(0)
        output = log.read()
        assert health is not None and health.status_code == 200, output
        assert docs is not None and docs.status_code == 200
        assert f"http://127.0.0.1:{port}" in output
        assert "operator / operator-demo" in output
        assert (scratch_dir / "var" / "dispatch.sqlite3").exists()
        redis_port = int(re.search(r"redis://127\.0\.0\.1:(\d+)/0", output).group(1))
        assert len(_processes_mentioning(marker)) >= 3  # up, worker, cron (redis has its own env)

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    time.sleep(0.5)
    assert _processes_mentioning(marker) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", redis_port)) != 0, "the embedded Redis is still running"


def test_up_on_a_port_in_use_says_so_and_starts_nothing(scratch_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        result = subprocess.run(
            [sys.executable, "-m", "dispatch", "up", "--port", str(port)],
            cwd=scratch_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "is up" not in result.stdout + result.stderr
    assert not (scratch_dir / "var").exists(), "nothing may be created before the port is known to be free"
