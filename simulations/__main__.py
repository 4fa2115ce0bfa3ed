"""`python -m simulations VERB`: the long drills, each a command of its own (never part of the test suite)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from simulations import fake_twilio_server

app = typer.Typer(help="Simulations and benchmarks.", no_args_is_help=True)
app.command("fake-twilio")(fake_twilio_server.serve)


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


@app.command("bench-round")
def bench_round(
    physicians: int = typer.Option(5_000, min=1, help="physicians on call tonight"),
    waiting: int = typer.Option(200, min=1, help="cases waiting for a physician at once"),
    past_cases: int = typer.Option(200_000, min=0, help="past visits (each physician's whereabouts)"),
    patients: int = typer.Option(50_000, min=1, help="enrolled patients the cases are about"),
    repeats: int = typer.Option(30, min=1, help="rounds timed"),
    database_url: str = typer.Option(
        os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"),
        help="an expendable PostgreSQL database: it is wiped",
    ),
) -> None:
    """Build a disaster night in PostgreSQL (the prefecture's nine areas, physicians on call, cases waiting)
    and time one matching round over it (target: p99 <= 250 ms); the last line is JSON."""
    from simulations.bench_round import run

    figures = run(database_url, physicians, waiting, past_cases, patients, repeats)
    typer.echo(
        f"built {figures['physicians_on_call']:,} physicians on call, "
        f"{figures['waiting_cases']} cases waiting, "
        f"{figures['past_cases']:,} past visits in {figures['build_s']} s"
    )
    parts = ", ".join(f"{name} {ms} ms" for name, ms in figures["parts_ms_p50"].items())
    if "round_cpu_ms" in figures:
        cpu = figures["round_cpu_ms"]
        typer.echo(
            f"CPU a round took (this process and its PostgreSQL backend): "
            f"p50 {cpu['p50']} ms, p99 {cpu['p99']} ms"
        )
    typer.echo(
        f"a round: {figures['offers_per_round']} offers, p50 {figures['round_ms']['p50']} ms, "
        f"p99 {figures['round_ms']['p99']} ms (of which, p50: {parts})"
    )
    typer.echo(json.dumps(figures))


@app.command()
def scale(
    patients: int = typer.Option(1_000_000, min=10, help="enrolled patients"),
    cases: int = typer.Option(10_000_000, min=10, help="past cases, over three fiscal years to last night"),
    physicians: int = typer.Option(5_000, min=1, help="physicians on call tonight, across the areas"),
    waiting: int = typer.Option(200, min=1, help="cases waiting for a physician at once"),
    areas: int = typer.Option(50, min=1, max=99, help="areas, each a programme with ten municipalities"),
    searches: int = typer.Option(200, min=4, help="patient searches timed (kana, phone, chart number)"),
    intakes: int = typer.Option(100, min=1, help="calls logged through the API, timed"),
    rounds: int = typer.Option(20, min=1, help="matching rounds timed (each rolled back)"),
    database_url: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/scale",
        help="an expendable PostgreSQL database: it is wiped",
    ),
    redis_url: str | None = typer.Option(
        None, help="a Redis database index to use (it is flushed); one of its own if absent"
    ),
    reuse: bool = typer.Option(
        False, "--reuse", help="no build: measure the data set an earlier run left (the same sizes given)"
    ),
) -> None:
    """Build a national-size data set and measure search, intake, a matching round, the reports and memory
    with the API and a worker running; the last line is one JSON object with every figure."""
    from simulations.scale import run
    from simulations.scale_build import Sizes

    if not database_url.startswith("postgresql"):
        raise typer.BadParameter("the scale run needs PostgreSQL", param_hint="--database-url")
    sizes = Sizes(patients, cases, physicians, waiting, areas)
    figures = run(database_url, redis_url, sizes, searches, intakes, rounds, reuse, say=typer.echo)
    typer.echo(json.dumps(figures, ensure_ascii=False))


@app.command()
def replay(
    table: Path = typer.Option(
        ...,
        exists=True,
        dir_okay=False,
        help="a table in the reference CSV format; with an `area` column (code or name), several areas",
    ),
    fiscal_year: int = typer.Option(..., help="the fiscal year the table describes, e.g. 2024"),
    database_url: str | None = typer.Option(
        None,
        envvar="DATABASE_URL",
        help="PostgreSQL to use (it is wiped); an SQLite file of its own when absent",
    ),
    redis_url: str | None = typer.Option(
        None, envvar="REDIS_URL", help="Redis to use; one of its own if absent"
    ),
    seed: int = typer.Option(2024, help="random seed for call times and the physicians' answers"),
    decline_rate: float = typer.Option(0.08, min=0, max=0.5, help="share of offers declined"),
    timeout_rate: float = typer.Option(0.04, min=0, max=0.5, help="share of offers left to time out"),
    workers: int = typer.Option(2, min=1, max=8, help="RQ worker processes"),
    gap_every: int = typer.Option(
        3,
        min=0,
        help="with areas: every Nth 48-hour block of each area but the table's first has nobody on call, "
        "so a neighbouring area's physician serves its visits (0: none)",
    ),
    cross_area: bool = typer.Option(
        True, help="with areas: cross-area backup on (CROSS_AREA_BACKUP) for the service"
    ),
) -> None:
    """Drive a fiscal year through the real stack and print the system's own per-clinic table (CSV)."""
    import random
    import sys
    import time

    from rich.console import Console
    from rich.progress import Progress

    from config.settings import Settings
    from simulations import area_replay, areas, plan, stack
    from simulations.bulk import read_table
    from simulations.replay import Replay

    rows = read_table(table)
    try:
        resolved = plan.resolve_areas(rows, areas.prefecture_areas())
    except ValueError as exc:
        raise typer.BadParameter(f"{table}: {exc}", param_hint="--table") from None
    codes = plan.area_codes(resolved)
    calls = plan.calls(resolved, fiscal_year, seed=seed)
    prepared: list[areas.ReplayArea] = []
    on_call: dict[str, int] = {}

    def prepare(url: str) -> None:
        prepared.extend(areas.prepare_database(url, resolved, fiscal_year, Settings().programme_code))

    started = time.monotonic()
    running = stack.start(
        database_url,
        redis_url,
        workers=workers,
        quiet=not os.environ.get("REPLAY_VERBOSE"),
        settings={"CROSS_AREA_BACKUP": str(cross_area).lower()} if codes else None,
        prepare=prepare if codes else None,
    )
    try:
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task("replaying calls", total=len(calls))
            run = Replay(
                running,
                random.Random(seed),
                decline_rate,
                timeout_rate,
                progress=lambda n: progress.update(task, completed=n),
            )
            progress.update(task, description="enrolling patients, rostering physicians")
            if codes:
                on_call = area_replay.set_up(run, prepared, plan.clinics(resolved), fiscal_year, gap_every)
            else:
                run.set_up(plan.clinics(rows), fiscal_year)
            progress.update(task, description="replaying calls")
            run.run(calls)
        still_open = run.open_cases()
        if codes:
            reports = area_replay.counted(run, prepared, fiscal_year, running.database_url, run.now)
            crossed = areas.cross_area_visits(running.database_url)
        else:
            reports, crossed = {None: run.report(fiscal_year)["rows"]}, {}
    finally:
        running.stop()
    lines, matches = area_replay.compare(rows, [r.get(plan.AREA) for r in resolved], reports)
    typer.echo("\n".join(lines))
    if codes:
        names = {a.code: a.name for a in prepared}
        rostered = ", ".join(f"{names[code]} {n}" for code, n in on_call.items())
        gaps = f"; but the first area, one 48-hour block in {gap_every} with nobody" if gap_every else ""
        typer.echo(f"substitute physicians on call: {rostered}{gaps}", err=True)
        pairs = ", ".join(f"{a} → {b} {n}" for (a, b), n in sorted(crossed.items())) or "none"
        typer.echo(
            f"cross-area visits (physician's area → patient's area): {pairs}; offered by hand "
            f"(nobody left to offer automatically) {run.stats['offered_by_hand']}",
            err=True,
        )
    typer.echo(
        f"{len(calls)} calls in {time.monotonic() - started:.0f} s; offers declined "
        f"{run.stats['offers_declined']}, timed out {run.stats['offers_timed_out']}; open cases "
        f"{len(still_open)}; table reproduced: {'yes' if matches else 'NO'}",
        err=True,
    )
    if still_open or not matches:
        sys.exit(1)


@app.command()
def surge(
    table: Path = typer.Option(
        Path("config/reference/two_area_fy2024.csv"),
        exists=True,
        dir_okay=False,
        help="a table with an `area` column: the areas, their clinics and contracts",
    ),
    night: str = typer.Option("2025-01-15", help="the night of the surge (local date)"),
    at: str = typer.Option("22:00", help="the first call's earliest time (local)"),
    calls: int = typer.Option(200, min=1, max=1000, help="calls in the surge, every one a house call"),
    minutes: int = typer.Option(60, min=1, help="the calls come within this many minutes"),
    hit: str | None = typer.Option(None, help="the area the disaster hits (code or name); the table's last"),
    hit_share: float = typer.Option(0.6, min=0, max=1, help="share of the calls in the area hit"),
    roster_scale: int = typer.Option(3, min=1, help="each area's substitutes this many deep (as the model's)"),
    horizon_hours: float = typer.Option(12, min=1, help="the night ends this long after its first call"),
    seed: int = typer.Option(18, help="random seed for the calls and the physicians' answers"),
    decline_rate: float = typer.Option(0.1, min=0, max=0.5, help="share of offers declined (the model's)"),
    database_url: str | None = typer.Option(
        None, envvar="DATABASE_URL", help="PostgreSQL to use (wiped before each night); SQLite when absent"
    ),
    redis_url: str | None = typer.Option(None, envvar="REDIS_URL", help="Redis to use; its own if absent"),
) -> None:
    """A disaster night replayed through the live stack twice, cross-area backup on and off: per urgency
    colour, call → arrival (median, p90, minutes) and the visits left waiting; the cases served across areas."""
    import random
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.progress import Progress

    from config.settings import Settings
    from simulations import areas, plan
    from simulations.bulk import read_table
    from simulations.surge_replay import plan_calls
    from simulations.surge_replay_nights import run_night, side_by_side

    known = areas.prefecture_areas()
    rows = plan.resolve_areas(read_table(table), known)
    codes = plan.area_codes(rows)
    if not codes:
        raise typer.BadParameter(f"{table}: no `area` column", param_hint="--table")
    try:
        target = plan.resolve_areas([{plan.AREA: hit or codes[-1]}], known)[0][plan.AREA]
    except ValueError as exc:
        raise typer.BadParameter(str(exc).removeprefix("line 2: "), param_hint="--hit") from None
    start = datetime.combine(date.fromisoformat(night), time.fromisoformat(at), ZoneInfo("Asia/Tokyo"))
    planned = plan_calls(rows, start, calls, minutes, target, hit_share, random.Random(seed))
    nights = {}
    with Progress(transient=True, console=Console(stderr=True)) as progress:
        for cross_area in (True, False):
            task = progress.add_task(f"cross-area {'on' if cross_area else 'off'}: visits taken", total=calls)
            nights[cross_area] = run_night(
                rows,
                planned,
                roster_scale,
                timedelta(hours=horizon_hours),
                cross_area=cross_area,
                seed=seed,
                decline_rate=decline_rate,
                database_url=database_url,
                redis_url=redis_url,
                default_code=Settings().programme_code,
                progress=lambda n, task=task: progress.update(task, completed=n),
            )
    on_call = ", ".join(f"{code} {n}" for code, n in nights[True]["on_call"].items())
    typer.echo(
        f"{calls} house calls from {start:%Y-%m-%d %H:%M} within {minutes} min, "
        f"{sum(1 for c in planned if c.area == target)} in {target}; physicians on call: {on_call}; "
        f"the night ends {horizon_hours:g} h after the first call; call → arrival in minutes"
    )
    typer.echo("\n".join(side_by_side(nights[True], nights[False])))


@app.command()
def bench(
    database_url: str | None = typer.Option(
        None, envvar="DATABASE_URL", help="PostgreSQL to use (it is wiped)"
    ),
    redis_url: str | None = typer.Option(None, envvar="REDIS_URL", help="Redis to use; its own if absent"),
    intake_seconds: int = typer.Option(10, help="seconds of back-to-back intake for the intake figures"),
    threads: int = typer.Option(8, help="operators logging calls at once (wrk connections)"),
    cases: int = typer.Option(60, help="cases driven from decision to acceptance"),
    rate: float = typer.Option(20.0, help="triage decisions a second for the decision → SMS figure"),
    escalations: int = typer.Option(15, help="offers left to lapse on the shared clock"),
    wall_clock: int = typer.Option(
        12, help="offers left to lapse on the wall clock (production path, a second start); 0 skips it"
    ),
    offer_timeout_s: int = typer.Option(10, help="offer timeout for the wall-clock escalation run"),
    workers: int = typer.Option(2, min=1, max=8, help="RQ worker processes"),
) -> None:
    """Start the stack as replay does and measure it; prints a table, then one JSON line with every figure.

    Intake load comes from `wrk` when it is on PATH (else httpx threads); the API runs as two uvicorn
    processes (`dispatch serve --workers 2`, as in docker-compose)."""
    from simulations import stack
    from simulations.bench import run_bench
    from simulations.chain import escalation_wall_clock

    running = stack.start(database_url, redis_url, workers=workers)
    try:
        figures = run_bench(running, intake_seconds, threads, cases, rate, escalations)
    finally:
        running.stop()
    if wall_clock:
        figures["escalation_wall_clock"] = escalation_wall_clock(
            database_url, redis_url, wall_clock, offer_timeout_s
        )
    for name, value in figures.items():
        typer.echo(f"{name:<24} {value}")
    typer.echo(json.dumps(figures, ensure_ascii=False))


@app.command()
def cost(
    database_url: str | None = typer.Option(
        None, envvar="DATABASE_URL", help="PostgreSQL to use (it is wiped)"
    ),
    redis_url: str | None = typer.Option(None, envvar="REDIS_URL", help="Redis to use; its own if absent"),
    low: int = typer.Option(20, min=1, help="requests in the shorter counted run"),
    high: int = typer.Option(100, min=2, help="requests in the longer counted run"),
    route: list[str] = typer.Option(
        [], help="only these (repeat the option): intake, auth, decision, chain; all by default"
    ),
) -> None:
    """Count the CPU instructions a request costs (valgrind): intake, the bare logged-in floor, a triage
    decision, and the decision with the matching round and offer SMS it sets off; a figure that does not
    move with the machine's load as throughput does. Takes ten minutes or so."""
    from simulations.cost import ROUTES, measure

    if high <= low:
        raise typer.BadParameter("--high must be more than --low", param_hint="--high")
    unknown = sorted(set(route) - set(ROUTES))
    if unknown:
        known = ", ".join(ROUTES)
        raise typer.BadParameter(f"unknown route {unknown[0]!r}; one of {known}", param_hint="--route")
    figures = measure(database_url, redis_url, low, high, route or tuple(ROUTES))
    for route, millions in figures["minstr_per_request"].items():
        typer.echo(f"{route:<8} {millions} M instructions a request")
    typer.echo(json.dumps(figures))


@app.command()
def model(
    table: Path = typer.Option(
        Path("config/reference/model_project_fy2024.csv"),
        exists=True,
        dir_okay=False,
        help="a table in the reference CSV format (the calibration: yearly counts per clinic)",
    ),
    fiscal_year: int = typer.Option(2024, help="the fiscal year the table describes"),
    physicians: int = typer.Option(3, min=1, help="substitute physicians on shift"),
    rate: float = typer.Option(
        1.0, min=0.1, help="multiply the arrival rate, e.g. 3 for three times the calls"
    ),
    seeds: int = typer.Option(20, min=1, help="simulated years per policy (nights, with --surge)"),
    chart: Path = typer.Option(Path("model_arrival.png"), help="PNG of the call-to-arrival distributions"),
    voice: bool = typer.Option(
        False, "--voice", help="compare call → acceptance with and without the voice call (physicians asleep)"
    ),
    surge: bool = typer.Option(
        False,
        "--surge",
        help="a disaster night: 200 calls in an hour across 印旛 and 香取海匝, with their rosters",
    ),
    calls: int = typer.Option(200, min=1, help="with --surge: the calls in the hour"),
    roster_scale: int = typer.Option(3, min=1, help="with --surge: each area's demo roster, this many deep"),
    round_every: float = typer.Option(
        0.0,
        min=0.0,
        help="with --surge: a round every this many minutes instead of on every event (0: on every event, "
        "as the service runs them), so that several physicians and colours meet in one round",
    ),
) -> None:
    """Simulate the fiscal year's nights and holidays (SimPy) under each matching policy and print per policy:
    minutes from call to acceptance and to arrival (median, p90), utilisation and cases waiting over 60 min.
    With --voice: call → acceptance with SMS only and with SMS then a call, as a Markdown table. With --surge:
    a disaster night, per urgency colour, call → arrival under the former and the urgency-weighted objective,
    each with single-area matching and with cross-area backup."""
    if surge:
        from simulations import surge as surge_model

        result = surge_model.compare(calls, roster_scale, seeds, round_every)
        typer.echo("\n".join(surge_model.table(result, calls, roster_scale, round_every)))
        return
    if voice:
        from simulations import voice as voice_model
        from simulations.bulk import read_table as read_rows

        typer.echo(
            f"FY{fiscal_year}, {physicians} physicians on shift, rate x{rate:g}, {seeds} seeds, "
            "minutes from the family's call to a physician's yes"
        )
        result = voice_model.compare(read_rows(table), fiscal_year, physicians, rate, seeds)
        typer.echo("\n".join(voice_model.table(result)))
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress

    from simulations import model as sim
    from simulations.bulk import read_table

    rows = read_table(table)
    runs = {}
    with Progress(transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("simulating years", total=seeds * len(sim.POLICIES))
        for name in sim.POLICIES:
            runs[name] = []
            for seed in range(seeds):
                runs[name].append(sim.run_year(rows, fiscal_year, name, physicians, rate, seed))
                progress.advance(task)
    typer.echo(
        f"FY{fiscal_year}, {physicians} physicians on shift, rate x{rate:g}, {seeds} seeds "
        "(minutes; percentiles per year, then the mean)"
    )
    typer.echo(
        f"{'policy':<20} {'accept med':>10} {'accept p90':>10} {'arrive med':>10} {'arrive p90':>10} "
        f"{'util %':>7} {'>60 min/yr':>10}"
    )
    for name, policy_runs in runs.items():
        f = sim.summarise(policy_runs)
        typer.echo(
            f"{name:<20} {f['accept_median']:>10.1f} {f['accept_p90']:>10.1f} {f['arrival_median']:>10.1f} "
            f"{f['arrival_p90']:>10.1f} {f['utilisation'] * 100:>7.1f} {f['waited_over_60']:>10.1f}"
        )
    table_counts = sim.table_counts(rows)
    simulated = sim.mean_counts(runs[sim.SERVICE_POLICY])
    typer.echo(f"yearly counts, simulated mean / table (the rate x{rate:g} applies to the simulation)")
    typer.echo(f"{'clinic':<14} {'consultations':>15} {'house calls':>15} {'end of life':>15}")
    for label, expected in table_counts.items():
        got = simulated.get(label, dict.fromkeys(sim.KINDS, 0.0))
        cells = " ".join(f"{f'{got[k]:.1f} / {expected[k]}':>15}" for k in sim.KINDS)
        typer.echo(f"{label:<14} {cells}")
    totals = " ".join(
        f"{f'{sum(c[k] for c in simulated.values()):.1f} / {sum(c[k] for c in table_counts.values())}':>15}"
        for k in sim.KINDS
    )
    typer.echo(f"{'total':<14} {totals}")
    figure, axes = plt.subplots(figsize=(8, 5))
    for name, policy_runs in runs.items():
        values = np.sort(np.concatenate([r.to_arrival for r in policy_runs] or [np.zeros(0)]))
        if len(values):
            axes.step(values, np.arange(1, len(values) + 1) / len(values), where="post", label=name)
    axes.axvline(sim.WAIT_LIMIT_MIN, color="grey", linestyle=":", linewidth=1)
    axes.set_xlabel("minutes from call to arrival")
    axes.set_ylabel("share of house calls")
    axes.set_title(f"FY{fiscal_year}: {physicians} physicians, rate x{rate:g}, {seeds} seeds")
    axes.legend()
    figure.tight_layout()
    figure.savefig(chart, dpi=100)
    plt.close(figure)
    typer.echo(f"chart: {chart}")


@app.command()
def roster(
    table: Path = typer.Option(
        Path("config/reference/model_project_fy2024.csv"),
        exists=True,
        dir_okay=False,
        help="a table in the reference CSV format",
    ),
    fiscal_year: int = typer.Option(2024, help="the fiscal year the table describes"),
    target_p90: float = typer.Option(60.0, help="p90 minutes from call to arrival to meet"),
    max_physicians: int = typer.Option(8, min=1, help="the most physicians per shift to try"),
    rate: float = typer.Option(1.0, min=0.1, help="multiply the arrival rate"),
    seeds: int = typer.Option(20, min=1, help="simulated years per physician count"),
) -> None:
    """Find the fewest physicians per shift whose mean p90 call-to-arrival, under the service's policy,
    meets the target; prints the p90 for each count tried."""
    from simulations import model as sim
    from simulations.bulk import read_table

    rows = read_table(table)
    typer.echo(
        f"policy {sim.SERVICE_POLICY}, FY{fiscal_year}, rate x{rate:g}, target p90 <= {target_p90:g} min"
    )
    for physicians in range(1, max_physicians + 1):
        runs = [sim.run_year(rows, fiscal_year, sim.SERVICE_POLICY, physicians, rate, s) for s in range(seeds)]
        p90 = sim.summarise(runs)["arrival_p90"]
        met = p90 <= target_p90
        typer.echo(
            f"{physicians} physicians: p90 call-to-arrival {p90:.1f} min{'  meets target' if met else ''}"
        )
        if met:
            typer.echo(f"fewest physicians per shift: {physicians}")
            return
    typer.echo(f"no count up to {max_physicians} meets the target")
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
