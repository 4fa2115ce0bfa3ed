"""The replayed surge's two nights, cross-area backup on and off, each on a fresh stack, and their figures
side by side."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.programme.periods import fiscal_year_of
from simulations import areas, stack
from simulations.areas import ReplayArea
from simulations.replay import Replay
from simulations.surge import URGENCIES, Surge, SurgeCall


def arrival_figures(cases: list[dict]) -> dict[str, dict]:
    """Per urgency colour, of the cases decided for a visit: how many, call → arrival (median, p90, in
    minutes, of those reached) and how many no physician had taken by the end."""
    figures = {}
    for colour, _, disposition, _ in URGENCIES:
        if not disposition.startswith("visit"):
            continue
        visits = [c for c in cases if c["urgency"] == colour and (c["disposition"] or "").startswith("visit")]
        minutes = sorted(
            (datetime.fromisoformat(c["arrived_at"]) - datetime.fromisoformat(c["called_at"])).total_seconds()
            / 60
            for c in visits
            if c["arrived_at"]
        )
        p90 = statistics.quantiles(minutes, n=10, method="inclusive")[-1] if len(minutes) > 1 else None
        figures[colour] = {
            "visits": len(visits),
            "median": statistics.median(minutes) if minutes else None,
            "p90": p90 if p90 is not None else (minutes[0] if minutes else None),
            "waiting": sum(1 for c in visits if not c["accepted_at"]),
        }
    return figures


def run_night(
    rows: list[dict[str, str]],
    calls: list[SurgeCall],
    on_call: dict[str, int],
    horizon: timedelta,
    *,
    cross_area: bool,
    seed: int,
    decline_rate: float,
    database_url: str | None,
    redis_url: str | None,
    default_code: str,
    workers: int = 2,
    progress: Callable[[int], None] = lambda n: None,
) -> dict:
    """One night on a fresh stack (cross-area backup on or off): per colour, call → arrival and how many
    were left waiting; how many cases physicians of another area took; how long it took."""
    started = time.monotonic()
    prepared: list[ReplayArea] = []
    year = fiscal_year_of(calls[0].at.astimezone(ZoneInfo("Asia/Tokyo")).date())

    def prepare(url: str) -> None:
        prepared.extend(areas.prepare_database(url, rows, year, default_code))

    running = stack.start(
        database_url,
        redis_url,
        workers=workers,
        quiet=not os.environ.get("REPLAY_VERBOSE"),
        settings={"CROSS_AREA_BACKUP": str(cross_area).lower()},
        prepare=prepare,
    )
    try:
        night = Surge(Replay(running, random.Random(seed), 0, 0), prepared, random.Random(seed), decline_rate)
        night.set_up(rows, calls, on_call)
        night.drive(calls[0].at + horizon, progress)
        cases = night.run.api("admin", "GET", "/api/v1/cases", params={"limit": 1000}).json()
        crossed = areas.cross_area_visits(running.database_url)
    finally:
        running.stop()
    return {
        "colours": arrival_figures(cases),
        "cross_area": crossed,
        "declined": night.night.declined,
        "seconds": time.monotonic() - started,
    }


def side_by_side(on: dict, off: dict) -> list[str]:
    """The two nights' figures as a text table."""

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [
        f"{'':<8}{'':>7}  {'cross-area backup on':^26}  {'off (each area alone)':^26}",
        f"{'colour':<8}{'visits':>7}  " + f"{'median':>8}{'p90':>8}{'waiting':>10}  " * 2,
    ]
    for colour, a in on["colours"].items():
        b = off["colours"][colour]
        lines.append(
            f"{colour:<8}{a['visits']:>7}  {cell(a['median']):>8}{cell(a['p90']):>8}{a['waiting']:>10}  "
            f"{cell(b['median']):>8}{cell(b['p90']):>8}{b['waiting']:>10}"
        )
    for name, key in (("left waiting", "waiting"), ("visits", "visits")):
        lines.append(
            f"{name + ' (all)':<24}{sum(c[key] for c in on['colours'].values()):>10}"
            f"{sum(c[key] for c in off['colours'].values()):>28}"
        )
    for label, night in (("on", on), ("off", off)):
        pairs = ", ".join(f"{a} → {b} {n}" for (a, b), n in sorted(night["cross_area"].items())) or "none"
        lines.append(
            f"cross-area {label}: served across areas {sum(night['cross_area'].values())} ({pairs}); "
            f"offers declined {night['declined']}; {night['seconds']:.0f} s"
        )
    return lines
