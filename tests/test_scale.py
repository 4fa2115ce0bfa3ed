"""`python -m simulations scale` at a tiny size: it builds its data set in a PostgreSQL database of its own,
measures with the API and a worker running, and prints its last line in the shape issue 18 fixed. The
figures themselves are for `make scale` at the national size, not for a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SIZES = {"patients": 2000, "cases": 20_000, "physicians_on_call": 50, "waiting_cases": 20}
INTAKES = 10


@pytest.fixture
def scale_database() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the scale run builds its data set in PostgreSQL (set TEST_DATABASE_URL)")
    own = make_url(url)
    return own.set(database=f"{own.database}_scale").render_as_string(hide_password=False)


def test_a_tiny_scale_run_prints_every_figure_and_builds_what_it_says(scale_database, redis_url):
    command = [sys.executable, "-m", "simulations", "scale", "--database-url", scale_database]
    command += ["--redis-url", redis_url, "--patients", "2000", "--cases", "20000", "--physicians", "50"]
    command += [
        "--waiting",
        "20",
        "--areas",
        "5",
        "--searches",
        "40",
        "--intakes",
        str(INTAKES),
        "--rounds",
        "5",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])

    assert {key: figures[key] for key in SIZES} == SIZES
    for name in ("search_ms", "intake_ms", "matching_round_ms"):
        assert set(figures[name]) == {"p50", "p99"} and 0 < figures[name]["p50"] <= figures[name]["p99"], name
    for kind in ("kana", "phone", "chart"):
        assert 0 < figures["search_by_kind_ms"][kind]["p50"] <= figures["search_by_kind_ms"][kind]["p99"]
    for name in ("fy_report_s", "monthly_report_s", "api_rss_mb", "worker_rss_mb", "build_s"):
        assert figures[name] > 0, name
    assert 0 <= figures["warm_s"] <= figures["build_s"]  # the reports' cache warmed as part of the build
    assert figures["offers_per_round"] == SIZES["waiting_cases"]  # every waiting case found a physician

    engine = create_engine(scale_database)
    with engine.connect() as conn:
        past, enrolled, logged, offered, fy_calls = conn.execute(
            text(
                """
                SELECT (SELECT count(*) FROM "case" WHERE closed_at IS NOT NULL),
                    (SELECT count(DISTINCT patient_id) FROM enrolment),
                    (SELECT count(*) FROM "case" WHERE state = 'triage_pending'),
                    (SELECT count(*) FROM "case" WHERE triage_note = 'scale:waiting' AND state = 'offered'),
                    (SELECT count(*) FROM "case"
                        WHERE called_at >= make_timestamptz(:year, 4, 1, 0, 0, 0, 'Asia/Tokyo')
                        AND called_at < make_timestamptz(:year + 1, 4, 1, 0, 0, 0, 'Asia/Tokyo'))
                """
            ),
            {"year": figures["report_fiscal_year"]},
        ).one()
    engine.dispose()
    assert (past, enrolled) == (SIZES["cases"], SIZES["patients"])
    assert logged >= INTAKES  # the calls logged through the API (and the few untimed ones before them)
    assert offered == SIZES["waiting_cases"]  # the worker's own round offered every waiting case at the end
    assert fy_calls > SIZES["cases"] // 4  # three fiscal years of calls: the year reported holds its share
