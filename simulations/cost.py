"""CPU cost of one request counted in instructions (valgrind's callgrind), not seconds: on two shared cores
whose speed moves from run to run, the count is what tells a change that saves work from noise.

The app runs in this process on the benchmark's database and Redis, driven through ASGI directly (no
HTTP client, no uvicorn); the count for `high` requests minus the count for `low` ones, divided by the
difference, is the cost of one request with start-up and warm-up taken out.

`python -m simulations.cost CONFIG N ROUTE` is the driver valgrind runs; `measure` starts everything."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROUTES = {
    "intake": ("POST", "/api/v1/cases"),  # an operator logs a call about a known patient
    "auth": ("GET", "/api/v1/auth/me"),  # the floor every route pays: framework, login check, answer
}


def _driver(config: dict, count: int, route: str) -> None:
    """Make `count` requests to `route` through the app, in this process."""
    os.environ.update(config["env"])
    from dispatch.app import create_app
    from simulations.bench import INTAKE_BODY

    app = create_app()
    method, path = ROUTES[route]
    pick = random.Random(1)
    headers = [
        (b"host", b"cost"),
        (b"authorization", f"Bearer {config['token']}".encode()),
        (b"content-type", b"application/json"),
    ]

    async def call() -> None:
        body = b""
        if method == "POST":
            patient = pick.choice(config["patients"])
            call = {"patient": {"patient_id": patient}, "called_at": config["at"], **INTAKE_BODY}
            body = json.dumps(call).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", b"%d" % len(body))],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = []

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)  # the client never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                status.append(message.get("body", b""))

        await app(scope, receive, send)
        if status[0] >= 300:
            raise RuntimeError(f"{method} {path} answered {status[0]}: {status[1:]}")

    async def run() -> None:
        for _ in range(count):
            await call()

    asyncio.run(run())


def _instructions(config_path: str, count: int, route: str) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "simulations.cost",
        config_path,
        str(count),
        route,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind failed for {route} × {count}: {result.stderr[-2000:]}")
    return int(found.group(1))


def measure(database_url: str | None, redis_url: str | None, low: int = 20, high: int = 100) -> dict:
    """Millions of instructions per request for each route, on a stack set up as the benchmark's."""
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    from simulations.bench import BENCH_CLINIC, bench_night
    from simulations.stack import start

    running = start(database_url, redis_url)
    try:
        run, night = bench_night(running)
        run.api("operator", "GET", "/api/v1/auth/me")
        config = {
            "env": {k: v for k, v in running.env.items() if os.environ.get(k) != v},
            "token": run.api.tokens["operator"],
            "patients": run.patients[BENCH_CLINIC],
            "at": night.isoformat(),
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(config, f)
        figures = {}
        try:
            for route in ROUTES:  # once without valgrind: a failing request fails here, in seconds
                subprocess.run([sys.executable, "-m", "simulations.cost", f.name, "1", route], check=True)
            for route in ROUTES:
                with ThreadPoolExecutor(2) as pool:  # the two counts at once, one per core
                    few, many = pool.map(lambda n, r=route: _instructions(f.name, n, r), (low, high))
                figures[route] = round((many - few) / (high - low) / 1e6, 2)
        finally:
            os.unlink(f.name)
    finally:
        running.stop()
    return {"minstr_per_request": figures, "requests": [low, high]}


if __name__ == "__main__":
    with open(sys.argv[1]) as config_file:
        _driver(json.load(config_file), int(sys.argv[2]), sys.argv[3])
