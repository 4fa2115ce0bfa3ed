"""The SimPy model of a fiscal year (simulations/model.py) and its `model` and `roster` verbs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatch.cases.states import Urgency
from simulations import model, surge
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


def test_service_policy_beats_round_robin_at_three_times_the_rate(rows) -> None:
    def median_arrival(policy: str) -> float:
        runs = [model.run_year(rows, 2024, policy, physicians=3, rate=3.0, seed=s) for s in range(5)]
        return model.summarise(runs)["arrival_median"]

    assert median_arrival(model.SERVICE_POLICY) <= median_arrival("round_robin")


def test_a_higher_rate_raises_waits(rows) -> None:
    normal = [model.run_year(rows, 2024, physicians=2, seed=s) for s in range(5)]
    busy = [model.run_year(rows, 2024, physicians=2, rate=3.0, seed=s) for s in range(5)]
    assert model.summarise(busy)["arrival_p90"] > model.summarise(normal)["arrival_p90"]
    assert sum(r.waited_over_60 for r in busy) > sum(r.waited_over_60 for r in normal)
    assert model.summarise(busy)["utilisation"] > model.summarise(normal)["utilisation"]


def test_model_verb_prints_figures_and_writes_a_chart(tmp_path: Path) -> None:
    chart = tmp_path / "arrival.png"
    result = CliRunner().invoke(app, ["model", "--table", str(FY2024), "--seeds", "2", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    for name in model.POLICIES:
        assert name in result.output
    assert "arrive p90" in result.output and "D病院" in result.output and "total" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def disaster() -> dict[tuple[str, bool], surge.Variant]:
    """A small disaster night (60 calls in the hour, the demo rosters two deep), three nights."""
    return {(v.objective, v.cross_area): v for v in surge.compare(calls=60, roster_scale=2, seeds=3)}


def test_on_a_disaster_night_red_cases_arrive_no_later_under_the_urgency_weighted_objective(disaster) -> None:
    for cross_area in (False, True):
        weighted = disaster[("urgency_weighted_travel", cross_area)].arrivals[Urgency.red]
        former = disaster[("least_total_travel", cross_area)].arrivals[Urgency.red]
        assert weighted and model.percentile(weighted, 50) <= model.percentile(former, 50)
        # Reds are served before the others: their median arrival is the earliest of the colours.
        others = disaster[("urgency_weighted_travel", cross_area)].arrivals
        assert model.percentile(weighted, 50) < model.percentile(others[Urgency.green], 50)


def test_cross_area_backup_reaches_the_calls_single_area_matching_leaves_waiting(disaster) -> None:
    # 香取海匝's one rostered physician covers four of its seven towns: alone, its calls from 銚子, 旭 and 匝瑳
    # are never reached; with 印旛's physicians backing it up, every call is.
    single = disaster[("urgency_weighted_travel", False)]
    backed = disaster[("urgency_weighted_travel", True)]
    assert sum(single.unreached.values()) > 0
    assert sum(backed.unreached.values()) == 0
    assert sum(map(len, backed.arrivals.values())) == 60 * 3
    assert sum(map(len, backed.arrivals.values())) > sum(map(len, single.arrivals.values()))


def test_model_surge_prints_the_table_per_colour_for_both_objectives_and_both_matchings() -> None:
    arguments = ["model", "--surge", "--calls", "30", "--seeds", "1", "--roster-scale", "1"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].split(" | ")[2:6] == ["red", "orange", "yellow", "green"]
    labels = {tuple(cell.strip() for cell in row.strip("| ").split(" | ")[:2]) for row in rows[1:]}
    assert labels == {
        (objective, matching)
        for objective in ("least_total_travel", "urgency_weighted_travel")
        for matching in ("single-area", "cross-area backup")
    }
    assert "30 calls in an hour across 印旛、香取海匝" in result.output


def test_timed_rounds_reach_every_call_and_say_so() -> None:
    # Rounds every 5 min instead of on every event: calls wait for the next tick, but with backup every one of
    # them is still reached, and the table says how rounds were run.
    from simulations.surge import run_night

    timed = run_night("urgency_weighted_travel", True, seed=0, calls=30, roster_scale=1, round_every=5.0)
    assert sum(timed.unreached.values()) == 0
    assert sum(map(len, timed.arrivals.values())) == 30
    arguments = ["model", "--surge", "--calls", "30", "--seeds", "1", "--roster-scale", "1"]
    result = CliRunner().invoke(app, [*arguments, "--round-every", "5"])
    assert result.exit_code == 0, result.output
    assert "a round every 5 min" in result.output


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
        assert "--seeds" in result.output and "--rate" in result.output
