"""The SimPy model of a fiscal year (simulations/model.py) and its `model` and `roster` verbs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulations import model
from simulations.__main__ import app
from simulations.bulk import read_table

ROOT = Path(__file__).resolve().parent.parent
FY2024 = ROOT / "config/reference/model_project_fy2024.csv"
FY2023 = ROOT / "config/reference/model_project_fy2023.csv"
SEEDS = 30


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_table(FY2024)


@pytest.mark.parametrize("table, year", [(FY2024, 2024), (FY2023, 2023)])
def test_simulated_yearly_counts_match_the_table(table: Path, year: int) -> None:
    rows = read_table(table)
    runs = [model.run_year(rows, year, seed=seed) for seed in range(SEEDS)]
    simulated, expected = model.mean_counts(runs), model.table_counts(rows)
    for label, counts in expected.items():
        for kind, count in counts.items():
            got = simulated.get(label, {}).get(kind, 0.0)
            if count == 0:
                assert got == 0, (label, kind)
            elif count >= 50:
                assert got == pytest.approx(count, rel=0.05), (label, kind)
    for kind in model.KINDS:
        total = sum(c[kind] for c in expected.values())
        got = sum(c[kind] for c in simulated.values())
        assert got == pytest.approx(total, rel=0.05, abs=0.5), kind
    for run in runs:
        for counts in run.counts.values():
            assert counts["end_of_life"] <= counts["house_calls"]


def test_arrivals_stay_inside_the_service_hours(rows) -> None:
    weights, _ = model.service_hours(2024)
    calls = model.plan_calls(rows, 2024, model.np.random.default_rng(1))
    assert calls
    assert all(weights[int(call.at // 60)] > 0 for call in calls)


def test_service_policy_beats_round_robin_on_a_surge(rows) -> None:
    def median_arrival(policy: str) -> float:
        runs = [model.run_year(rows, 2024, policy, physicians=3, surge=3.0, seed=s) for s in range(5)]
        return model.summarise(runs)["arrival_median"]

    assert median_arrival(model.SERVICE_POLICY) <= median_arrival("round_robin")


def test_a_surge_raises_waits(rows) -> None:
    normal = [model.run_year(rows, 2024, physicians=2, seed=s) for s in range(5)]
    surge = [model.run_year(rows, 2024, physicians=2, surge=3.0, seed=s) for s in range(5)]
    assert model.summarise(surge)["arrival_p90"] > model.summarise(normal)["arrival_p90"]
    assert sum(r.waited_over_60 for r in surge) > sum(r.waited_over_60 for r in normal)
    assert model.summarise(surge)["utilisation"] > model.summarise(normal)["utilisation"]


def test_model_verb_prints_figures_and_writes_a_chart(tmp_path: Path) -> None:
    chart = tmp_path / "arrival.png"
    result = CliRunner().invoke(app, ["model", "--table", str(FY2024), "--seeds", "2", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    for name in model.POLICIES:
        assert name in result.output
    assert "arrive p90" in result.output and "D病院" in result.output and "total" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roster_verb_finds_the_fewest_physicians() -> None:
    result = CliRunner().invoke(
        app, ["roster", "--table", str(FY2024), "--seeds", "2", "--target-p90", "90", "--max-physicians", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "1 physicians: p90 call-to-arrival" in result.output
    assert "fewest physicians per shift:" in result.output


def test_verbs_have_help() -> None:
    for verb in ("model", "roster"):
        result = CliRunner().invoke(app, [verb, "--help"])
        assert result.exit_code == 0
        assert "--seeds" in result.output
