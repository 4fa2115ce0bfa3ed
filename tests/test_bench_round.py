"""`python -m simulations bench-round` at a tiny size, on a database of its own: it builds the night, every
waiting case gets its offer in each round, and the last line carries the figures (their values are for the
full size, not for a test)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from simulations.__main__ import app


def test_a_small_bench_round_offers_every_waiting_case_and_prints_its_figures(scratch_database_url):
    if not scratch_database_url.startswith("postgresql"):
        pytest.skip("the round benchmark builds its night with PostgreSQL's set-based SQL")
    arguments = ["bench-round", "--physicians", "60", "--waiting", "6", "--past-cases", "300"]
    arguments += ["--patients", "200", "--repeats", "3", "--database-url", scratch_database_url]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["waiting_cases"] == 6 and figures["offers_per_round"] == 6
    assert 0 < figures["round_ms"]["p50"] <= figures["round_ms"]["p99"]
    assert set(figures["parts_ms_p50"]) == {"waiting", "physicians", "policy"}
