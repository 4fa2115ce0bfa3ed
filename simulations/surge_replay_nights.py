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
from simulations import areas, model, stack
from simulations.areas import ReplayArea
from simulations.replay import Replay
from simulations.surge_replay import TRIAGED, Surge, SurgeCall

VISITS = {disposition for disposition, _ in TRIAGED.values()}


def arrival_figures(cases: list[dict]) -> dict[str, dict]:
    """Per urgency colour, of the house calls: how many, call → arrival (median, p90, in minutes, of those
    reached), the share reached within the hour, and how many no physician had taken by the end."""
    figures = {}
    for colour in TRIAGED:
        visits = [c for c in cases if c["urgency"] == colour.value and c["disposition"] in VISITS]
        minutes = sorted(
            (datetime.fromisoformat(c["arrived_at"]) - datetime.fromisoformat(c["called_at"])).total_seconds()
            / 60
            for c in visits
            if c["arrived_at"]
        )
        figures[colour.value] = {
            "visits": len(visits),
            "median": statistics.median(minutes) if minutes else None,
            "p90": statistics.quantiles(minutes, n=10, method="inclusive")[-1] if len(minutes) > 1 else None,
            "within_hour": sum(m <= model.WAIT_LIMIT_MIN for m in minutes) / len(visits) if visits else None,
            "waiting": sum(1 for c in visits if not c["accepted_at"]),
        }
    return figures


def run_night(
    rows: list[dict[str, str]],
    calls: list[SurgeCall],
    roster_scale: int,
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
        on_call = night.set_up(rows, calls, roster_scale)
        night.drive(calls[0].at + horizon, progress)
        cases = night.run.api("admin", "GET", "/api/v1/cases", params={"limit": 1000}).json()
        crossed = areas.cross_area_visits(running.database_url)
    finally:
        running.stop()
    return {
        "colours": arrival_figures(cases),
        "on_call": on_call,
        "cross_area": crossed,
        "declined": night.night.declined,
        "seconds": time.monotonic() - started,
    }


def side_by_side(on: dict, off: dict) -> list[str]:
    """The two nights' figures as a text table."""

    def cell(value: float | None, percent: bool = False) -> str:
        return "-" if value is None else f"{value:.0%}" if percent else f"{value:.0f}"

    def half(c: dict) -> str:
        return f"{cell(c['median']):>7}{cell(c['p90']):>6}{cell(c['within_hour'], True):>7}{c['waiting']:>8}"

    lines = [
        f"{'':<14}{'cross-area backup on':^28}  {'off (each area alone)':^28}",
        f"{'colour':<7}{'visits':>7}" + f"{'median':>7}{'p90':>6}{'≤60':>7}{'waiting':>8}  " * 2,
    ]
    for colour, a in on["colours"].items():
        lines.append(f"{colour:<7}{a['visits']:>7}{half(a)}  {half(off['colours'][colour])}")
    for label, night in (("on", on), ("off", off)):
        pairs = ", ".join(f"{a} → {b} {n}" for (a, b), n in sorted(night["cross_area"].items())) or "none"
        waiting = sum(c["waiting"] for c in night["colours"].values())
        lines.append(
            f"cross-area {label}: served across areas {sum(night['cross_area'].values())} ({pairs}); left "
            f"waiting {waiting}; offers declined {night['declined']}; {night['seconds'] / 60:.1f} min"
        )
    return lines
