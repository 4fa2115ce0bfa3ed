"""`python -m simulations VERB`: the long drills, each a command of its own (never part of the test suite)."""

from __future__ import annotations

import json
import os

import typer

app = typer.Typer(help="Simulations and benchmarks.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Simulations and benchmarks: long drills that print their figures."""


@app.command("bench-reports")
def bench_reports(
    cases: int = typer.Option(1_000_000, help="how many cases to build"),
    database_url: str = typer.Option(
        os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
        help="an expendable PostgreSQL database: it is wiped",
    ),
) -> None:
    """Build a million cases in PostgreSQL and time the fiscal-year report (target: under 1 s)."""
    from simulations.bench_reports import run

    figures = run(database_url, cases)
    typer.echo(f"built {figures['cases']:,} cases in {figures['build_s']} s")
    typer.echo(
        f"FY2024 per-clinic report: first {figures['fy_report_first_s']} s, "
        f"median of 5 {figures['fy_report_median_s']} s"
    )
    typer.echo(json.dumps(figures))


if __name__ == "__main__":
    app()
