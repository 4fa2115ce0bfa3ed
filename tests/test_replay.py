"""A small fiscal year through the whole real stack, by `make drills`: the API under uvicorn, RQ worker
processes, the cron scheduler, Redis, the database and the fake Twilio, driven by `python -m simulations
replay` as operators, consulting physicians and substitute physicians would. Some offers are declined and
some time out; the system's own report must reproduce the table exactly and no case may be left open."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.drill  # half a minute of the real stack: `make drills`, beside `make replay-fy2024`

TABLE = """clinic_label,clinic_kind,enrolled_patients,consultations,house_calls,end_of_life,contract_start
A診療所,clinic,3,4,3,1,2024-04
新しい在宅クリニック,clinic,2,2,3,1,2024-10
"""


def _replay(table: Path, text: str, *options: str) -> subprocess.CompletedProcess[str]:
    """`python -m simulations replay` of the table `text` (written to `table`) for FY2024, on the embedded
    defaults (no DATABASE_URL or REDIS_URL of the caller's)."""
    table.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    command = [sys.executable, "-m", "simulations", "replay", "--table", str(table), "--fiscal-year", "2024"]
    return subprocess.run([*command, *options], env=env, capture_output=True, text=True, timeout=300)


def test_a_small_year_replayed_through_the_real_stack_reproduces_its_table(tmp_path: Path):
    result = _replay(
        tmp_path / "small.csv", TABLE, "--decline-rate", "0.5", "--timeout-rate", "0.5", "--seed", "11"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(csv.DictReader(io.StringIO(result.stdout))) == list(csv.DictReader(io.StringIO(TABLE)))
    summary = re.search(r"offers declined (\d+), timed out (\d+); open cases (\d+)", result.stderr)
    declined, timed_out, still_open = (int(g) for g in summary.groups())
    assert declined > 0 and timed_out > 0 and still_open == 0


TWO_AREAS = (
    "area,clinic_label,clinic_kind,enrolled_patients,consultations,house_calls,end_of_life,contract_start\n"
    "印旛,A診療所,clinic,3,2,3,1,2024-04\n"
    "香取海匝,多古みどり診療所,clinic,2,2,4,1,2024-04\n"
)


def test_two_areas_replayed_in_one_run_reproduce_both_tables_with_cross_area_visits(tmp_path: Path):
    # Every other 48-hour block nobody is on call in 香取海匝: its visits then go to 印旛's physicians.
    result = _replay(tmp_path / "two_areas.csv", TWO_AREAS, "--gap-every", "2", "--seed", "5")
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(csv.DictReader(io.StringIO(result.stdout))) == list(csv.DictReader(io.StringIO(TWO_AREAS)))
    crossed = re.search(
        r"cross-area visits \(physician's area → patient's area\): 印旛 → 香取海匝 (\d+)", result.stderr
    )
    assert crossed and int(crossed.group(1)) > 0, result.stderr[-1000:]
    assert "open cases 0; table reproduced: yes" in result.stderr
