"""A disaster night (`python -m simulations model --surge`): 200 calls in one hour across two neighbouring
areas, 印旛 and 香取海匝 (the demo's two, each with its own roster, travel estimate and 60-minute cap), every
call a house call. The same calls run under the former objective (least total travel) and the service's
(urgency-weighted), each with single-area matching and with cross-area backup; per urgency colour, minutes
from the call to the physician's arrival, and the cases nobody reached.

The physicians are the demo rosters' substitutes, each `roster_scale` deep (a disaster night calls everyone
in), based at their town's reference point; after a visit a physician sets off from that patient. Triage,
answers, declines and visit lengths are the yearly model's (simulations/model.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import numpy as np
import simpy

from dispatch.cases.states import Urgency
from dispatch.matching.policy import POLICIES, AvailablePhysician, WaitingCase
from dispatch.matching.travel import Point, StraightLineEstimate
from dispatch.seed.prefecture import load_prefecture_data
from dispatch.seed.reference import load_programme_data
from simulations import model

AREAS = ("inba", "katori-kaiso")
# The coast is struck hardest: three calls in five come from 香取海匝.
CALL_SHARE = {"katori-kaiso": 0.6, "inba": 0.4}
OBJECTIVES = ("least_total_travel", "urgency_weighted_travel")
COLOURS = (Urgency.red, Urgency.orange, Urgency.yellow, Urgency.green)
NIGHT = datetime(2025, 1, 15, 22, 0)  # the hour the calls come in (naive: the model's own time)
HORIZON_MIN = 48 * 60  # timed rounds stop here: longer than any surge takes to clear


@dataclass(frozen=True)
class Area:
    area_id: int
    name: str
    towns: dict[int, Point]
    estimate: StraightLineEstimate
    cap_min: float
    neighbours: frozenset[int]


@dataclass(frozen=True)
class Night:
    areas: dict[str, Area]
    town_area: dict[int, int]
    roster: list[tuple[Point, frozenset[int]]]  # each physician's base and the towns they are on call for


@cache
def load_night(roster_scale: int) -> Night:
    """The two areas from the prefecture's tables and their demo rosters, `roster_scale` deep."""
    data = load_prefecture_data("chiba")
    ids = {spec["code"]: n for n, spec in enumerate(data["areas"], start=1)}
    by_name = {spec["name"]: spec["code"] for spec in data["areas"]}
    towns: dict[str, dict[int, Point]] = {}
    for row in data["municipalities"]:
        code = by_name[row["medical_area"]]
        towns.setdefault(code, {})[int(row["code"])] = Point(float(row["latitude"]), float(row["longitude"]))
    areas = {}
    for spec in data["areas"]:
        if spec["code"] in AREAS:
            areas[spec["code"]] = Area(
                ids[spec["code"]],
                spec["name"],
                towns[spec["code"]],
                StraightLineEstimate(spec["road_factor"], spec["travel_speed_kmh"]),
                float(spec.get("travel_cap_min", data.get("default_travel_cap_min", 60))),
                frozenset(ids[n] for n in spec.get("neighbours", []) if n in AREAS),
            )
    town_area = {town: area.area_id for area in areas.values() for town in area.towns}
    everywhere = {town: point for area in areas.values() for town, point in area.towns.items()}
    roster = []
    for code in AREAS:
        for spec in load_programme_data(code)["demo"]["physicians"]:
            if spec.get("role") == "substitute":
                base = everywhere[int(spec["base"])]
                roster += [(base, frozenset(int(t) for t in spec["coverage"]))] * roster_scale
    return Night(areas, town_area, roster)


@dataclass
class Call:
    case_id: int
    at: float  # minutes from the first call's hour
    area: Area
    town: int
    location: Point
    urgency: Urgency


def plan_night(night: Night, calls: int, rng: np.random.Generator) -> list[Call]:
    """`calls` calls spread over one hour, by area share, over each area's towns, jittered."""
    codes = list(CALL_SHARE)
    levels = list(model.URGENCY_WEIGHTS)
    result = []
    for n in range(calls):
        area = night.areas[codes[int(rng.choice(len(codes), p=list(CALL_SHARE.values())))]]
        town = sorted(area.towns)[int(rng.integers(len(area.towns)))]
        dlat, dlon = rng.uniform(-model.JITTER_DEG, model.JITTER_DEG, size=2)
        point = Point(area.towns[town].latitude + float(dlat), area.towns[town].longitude + float(dlon))
        urgency = levels[int(rng.choice(len(levels), p=list(model.URGENCY_WEIGHTS.values())))]
        result.append(Call(n + 1, float(rng.uniform(0, 60)), area, town, point, urgency))
    return sorted(result, key=lambda c: c.at)


@dataclass
class _Physician:
    physician_id: int
    location: Point
    towns: frozenset[int]
    areas: frozenset[int]
    last_worked_at: datetime | None = None


@dataclass
class SurgeRun:
    arrivals: dict[Urgency, list[float]] = field(default_factory=lambda: {u: [] for u in COLOURS})
    unreached: dict[Urgency, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))


class _Surge:
    def __init__(
        self,
        night: Night,
        calls: list[Call],
        policy: str,
        cross_area: bool,
        seed: int,
        round_every: float = 0.0,
    ) -> None:
        self.env = simpy.Environment()
        self.round_every = round_every
        self.rng = random.Random(seed)
        self.policy = POLICIES[policy]
        self.cross_area = cross_area
        self.calls = calls
        self.free = {
            n: _Physician(n, base, towns, frozenset(night.town_area[t] for t in towns))
            for n, (base, towns) in enumerate(night.roster, start=1)
        }
        self.everyone = frozenset(self.free)
        self.waiting: dict[int, tuple[Call, frozenset[int]]] = {}
        self.run_metrics = SurgeRun()

    def when(self, minutes: float) -> datetime:
        return NIGHT + timedelta(minutes=minutes)

    def arrivals(self):
        for call in self.calls:
            yield self.env.timeout(max(0.0, call.at - self.env.now))
            self.env.process(self.handle(call))

    def handle(self, call: Call):
        yield self.env.timeout(self.rng.uniform(*model.TRIAGE_MIN))
        self.waiting[call.case_id] = (call, frozenset())
        self.dispatch()

    def dispatch(self, tick: bool = False) -> None:
        """A round, as the service runs one on every event (or, with `round_every`, only on its ticks): every
        waiting case at once, by the policy, each by its own area's estimate and cap."""
        if not self.waiting or not self.free or (self.round_every and not tick):
            return
        cases = []
        for call, excluded in list(self.waiting.values()):
            if excluded >= self.everyone:  # everyone turned it down: offering goes on from the top
                excluded = frozenset()
                self.waiting[call.case_id] = (call, excluded)
            area = call.area
            neighbours = area.neighbours if self.cross_area else frozenset()
            when = self.when(call.at)
            cases.append(
                WaitingCase(
                    call.case_id,
                    call.urgency,
                    call.location,
                    call.town,
                    when,
                    excluded,
                    estimate=area.estimate,
                    cap_min=area.cap_min,
                    neighbours=neighbours,
                )
            )
        available = [
            AvailablePhysician(p.physician_id, p.location, p.towns, p.last_worked_at, p.areas)
            for p in self.free.values()
        ]
        for case_id, match in self.policy(cases, available, StraightLineEstimate()).items():
            call, excluded = self.waiting.pop(case_id)
            physician = self.free.pop(match.physician_id)
            self.env.process(self.offer(call, excluded, physician, match.travel_min))

    def offer(self, call: Call, excluded: frozenset[int], physician: _Physician, travel_min: float):
        if self.rng.random() < model.DECLINE_RATE:
            timeout = model.OFFER_TIMEOUT_MIN.get(call.urgency, model.OFFER_TIMEOUT_OTHER_MIN)
            yield self.env.timeout(timeout)
            self.free[physician.physician_id] = physician
            self.waiting[call.case_id] = (call, excluded | {physician.physician_id})
            self.dispatch()
            return
        yield self.env.timeout(self.rng.uniform(*model.ACCEPT_MIN) + travel_min)
        self.run_metrics.arrivals[call.urgency].append(self.env.now - call.at)
        yield self.env.timeout(self.rng.uniform(*model.VISIT_MIN))
        physician.location = call.location  # the next drive starts at this patient's door
        physician.last_worked_at = self.when(self.env.now)
        self.free[physician.physician_id] = physician
        self.dispatch()

    def ticks(self):
        """A round every `round_every` minutes until the surge is long over."""
        while self.env.now < HORIZON_MIN:
            yield self.env.timeout(self.round_every)
            self.dispatch(tick=True)

    def run(self) -> SurgeRun:
        self.env.process(self.arrivals())
        if self.round_every:
            self.env.process(self.ticks())
        self.env.run()
        for call, _excluded in self.waiting.values():  # nobody on call may go to them
            self.run_metrics.unreached[call.urgency] += 1
        return self.run_metrics


def run_night(
    policy: str, cross_area: bool, seed: int, calls: int = 200, roster_scale: int = 3, round_every: float = 0.0
) -> SurgeRun:
    """One disaster night; the calls depend on the seed only, so every variant meets the same night."""
    night = load_night(roster_scale)
    planned = plan_night(night, calls, np.random.default_rng(seed))
    return _Surge(night, planned, policy, cross_area, seed, round_every).run()


@dataclass(frozen=True)
class Variant:
    objective: str
    cross_area: bool
    arrivals: dict[Urgency, list[float]]  # pooled over the nights
    unreached: dict[Urgency, int]  # summed over the nights
    nights: int


def compare(
    calls: int = 200, roster_scale: int = 3, seeds: int = 10, round_every: float = 0.0
) -> list[Variant]:
    """Each objective with single-area matching and with cross-area backup, over the same `seeds` nights."""
    result = []
    for cross_area in (False, True):
        for objective in OBJECTIVES:
            runs = [run_night(objective, cross_area, n, calls, roster_scale, round_every) for n in range(seeds)]
            arrivals = {u: [m for r in runs for m in r.arrivals[u]] for u in COLOURS}
            unreached = {u: sum(r.unreached[u] for r in runs) for u in COLOURS}
            result.append(Variant(objective, cross_area, arrivals, unreached, seeds))
    return result


def within_hour(variant: Variant, urgency: Urgency) -> float:
    """The share of the colour's calls reached within the hour (a call nobody reached counts as not)."""
    arrivals = variant.arrivals[urgency]
    total = len(arrivals) + variant.unreached[urgency]
    return sum(m <= model.WAIT_LIMIT_MIN for m in arrivals) / total if total else float("nan")


def table(
    result: list[Variant], calls: int = 200, roster_scale: int = 3, round_every: float = 0.0
) -> list[str]:
    """The comparison as a Markdown table: per colour, median / p90 minutes from call to arrival and the share
    reached within the hour; then the calls nobody could reach, per night."""
    night = load_night(roster_scale)
    names = "、".join(night.areas[code].name for code in AREAS)
    nights = result[0].nights if result else 0
    lines = [
        f"A disaster night: {calls} calls in an hour across {names}, their demo rosters {roster_scale} deep "
        f"({len(night.roster)} physicians), {nights} nights, "
        + (f"a round every {round_every:g} min. " if round_every else "a round on every event. ")
        + "Per colour: minutes from call to arrival, "
        "median / p90, and the share of the colour's calls reached within 60 min.",
        "",
        "| objective | matching | " + " | ".join(u.value for u in COLOURS) + " | not reached / night |",
        "| --- | --- | " + " | ".join("---:" for _ in COLOURS) + " | ---: |",
    ]
    for v in result:
        cells = []
        for u in COLOURS:
            values = v.arrivals[u]
            times = (
                f"{model.percentile(values, 50):.0f} / {model.percentile(values, 90):.0f}" if values else "—"
            )
            cells.append(f"{times} · {within_hour(v, u):.0%}")
        lost = sum(v.unreached.values()) / max(v.nights, 1)
        matching = "cross-area backup" if v.cross_area else "single-area"
        lines.append(f"| {v.objective} | {matching} | " + " | ".join(cells) + f" | {lost:.1f} |")
    return lines
