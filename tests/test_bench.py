"""`python -m simulations bench` on a tiny load, by `make drills`: it must start the stack, drive every
measurement and print its last line in the shape the issue fixed (the figures themselves are for
`make bench` on PostgreSQL, not for a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.drill  # half a minute: `make drills`, beside `make bench`


def test_the_benchmark_prints_every_figure_as_one_json_line():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}  # embedded defaults
    command = [sys.executable, "-m", "simulations", "bench", "--intake-seconds", "1", "--cases", "4"]
    command += ["--rate", "10", "--escalations", "2", "--wall-clock", "0"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])

    def percentiles(value: dict) -> bool:
        return set(value) == {"p50", "p99"} and 0 < value["p50"] <= value["p99"]

    intake = figures["intake"]
    assert intake["calls"] > 0 and intake["failed"] == 0 and intake["cases_recorded"] >= intake["calls"]
    assert intake["calls_per_s"] > 0 and 0 < intake["p50"] <= intake["p99"]
    for name in ("decision_to_sms_ms", "reply_to_accept_ms", "escalation_lateness_ms"):
        assert percentiles(figures[name]), (name, figures[name])
    # Where a decision's time to its SMS went: the request, the wait for a worker, the round and the send.
    steps = figures["decision_to_sms_steps_ms"]
    timed = {name: steps[name] for name in ("request", "queue", "round_and_send")}
    assert all(map(percentiles, timed.values())), steps
    assert 0 <= steps["offered_by_an_earlier_job"] < 4  # made by another case's round: counted, not timed
    assert set(figures["floors_ms"]) >= {"redis_rtt", "db_commit", "twilio_http"}
    assert figures["lost_cases"] == 0
    # Figures name what they were measured on: the lock's hash, the commit, Python.
    assert len(figures["measured_on"]["lock_sha256"]) == 12 and figures["measured_on"]["commit"]
