"""CPU cost of one request counted in instructions (valgrind's callgrind), not seconds: on two shared cores
whose speed moves from run to run, the count is what tells a change that saves work from noise.

The app runs in this process on the benchmark's database and Redis, driven through ASGI directly (no
HTTP client, no uvicorn); the count for `high` requests minus the count for `low` ones, divided by the
difference, is the cost of one request with start-up and warm-up taken out.

The chain's rounds each leave an offer pending, so its count is for the physicians put on call (one per
counted round and ten more), fewer with each round: compare counts made with the same `low` and `high`.

`python -m simulations.cost CONFIG N ROUTE OFFSET` is the driver valgrind runs; `measure` starts everything."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dispatch import embedded

ROUTES = {
    "intake": ("POST", "/api/v1/cases"),  # an operator logs a call about a known patient
    "auth": ("GET", "/api/v1/auth/me"),  # the floor every route pays: framework, login check, answer
    "decision": ("POST", "/api/v1/cases/{case_id}/decision"),  # a house call decided on a claimed case
    # The decision, then the worker's job it enqueues run here: the matching round and the offer SMS sent
    # to the fake Twilio. Its count less the decision's is the round's.
    "chain": ("POST", "/api/v1/cases/{case_id}/decision"),
}


def _driver(config: dict, count: int, route: str, offset: int = 0) -> None:
    """Make `count` requests to `route` through the app, in this process (for a case route, on the cases
    from `offset` on)."""
    os.environ.update(config["env"])
    from dispatch.app import create_app
    from dispatch.flow import runner
    from simulations.bench_setup import INTAKE_BODY, VISIT_DECISION

    app = create_app()
    services = app.state.services
    # Start-up's objects out of the collector's reach, as in a serving process (`dispatch.runtime`): else a
    # full collection walking them, due in one counted run and not the other, moves the count by millions.
    gc.collect()
    gc.freeze()
    method = ROUTES[route][0]
    cases = iter(config["cases"].get(route, [])[offset : offset + count])
    pick = random.Random(1)
    token = config["tokens"]["consult" if route in config["cases"] else "operator"]
    headers = [
        (b"host", b"cost"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]

    async def call() -> None:
        body = b""
        path = ROUTES[route][1]
        if "{case_id}" in path:
            path = path.format(case_id=next(cases))
            body = json.dumps(VISIT_DECISION).encode()
        elif method == "POST":
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
        if route == "chain" and not runner.drive(services):
            raise RuntimeError(f"the round after {path} sent no offer")

    async def run() -> None:
        for _ in range(count):
            await call()

    asyncio.run(run())


def _instructions(config_path: str, count: int, route: str, offset: int) -> int:
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
        str(offset),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind failed for {route} × {count}: {result.stderr[-2000:]}")
    return int(found.group(1))


def measure(
    database_url: str | None,
    redis_url: str | None,
    low: int = 20,
    high: int = 100,
    routes: Sequence[str] = tuple(ROUTES),
) -> dict:
    """Millions of instructions per request for each route, on a stack set up as the benchmark's."""
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    from simulations.bench_setup import BENCH_PLAN, add_physicians, bench_night, open_cases
    from simulations.stack import start

    running = start(database_url, redis_url)
    try:
        run, night = bench_night(running)
        per_route = 1 + low + high  # the check run, then the two counts
        # The chain's rounds run here, so none of the stack's workers may take them; its cron goes too (the
        # reconciler would drive the cases). Enough physicians on call that every round offers one.
        for process in running.processes[1:]:
            embedded.stop(process)
        add_physicians(running, run.api, per_route + 10, night)
        cases = {route: open_cases(run, per_route) for route in ("decision", "chain") if route in routes}
        for role in ("operator", "consult"):
            run.api(role, "GET", "/api/v1/auth/me")  # logged in, whichever routes are counted
        config = {
            "env": {k: v for k, v in running.env.items() if os.environ.get(k) != v},
            "tokens": {role: run.api.tokens[role] for role in ("operator", "consult")},
            "patients": run.patients[BENCH_PLAN.key],
            "at": night.isoformat(),
            "cases": cases,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(config, f)
        figures = {}
        try:
            # Once without valgrind (a failing request fails here, in seconds); the chain's last, so its round
            # also offers the decision's case and leaves none waiting for the counted rounds.
            for route in sorted(routes, key=lambda r: r == "chain"):
                subprocess.run([sys.executable, "-m", "simulations.cost", f.name, "1", route, "0"], check=True)
            # The chain first, its two counts one after the other: a round offers every waiting case, so it
            # must find only its own (the decision's cases are left waiting, and come after).
            for route in sorted(routes, key=lambda r: r != "chain"):
                with ThreadPoolExecutor(1 if route == "chain" else 2) as pool:  # else one count per core
                    few, many = pool.map(
                        lambda n, o, r=route: _instructions(f.name, n, r, o), (low, high), (1, 1 + low)
                    )
                figures[route] = round((many - few) / (high - low) / 1e6, 2)
        finally:
            os.unlink(f.name)
    finally:
        running.stop()
    if "chain" in figures and "decision" in figures:
        figures["round"] = round(figures["chain"] - figures["decision"], 2)
    return {"minstr_per_request": figures, "requests": [low, high]}


if __name__ == "__main__":
    with open(sys.argv[1]) as config_file:
        _driver(json.load(config_file), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
