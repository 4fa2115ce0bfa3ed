"""A discrete-event model (SimPy) of a fiscal year's nights and holidays: calls arrive per clinic at the
reference table's rates, are triaged, and house calls are matched to the physicians on shift by a policy
from `dispatch.matching.policy`. One run of a year takes a fraction of a second.

Time inside the model is minutes from local midnight at the start of the fiscal year (Asia/Tokyo has no
daylight saving, so local hours are plain offsets)."""

from __future__ import annotations

import random
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import simpy

from dispatch.cases.states import Urgency
from dispatch.matching.policy import POLICIES, AvailablePhysician, WaitingCase
from dispatch.matching.travel import Point, StraightLineEstimate
from dispatch.programme.periods import fiscal_year_days, month_start
from dispatch.programme.service_hours import in_service_hours
from dispatch.seed.reference import load_programme_data

TIMEZONE = "Asia/Tokyo"
SERVICE_POLICY = "urgency_weighted_travel"
KINDS = ("consultations", "house_calls", "end_of_life")

# Relative call rate by local hour of the day (within the service hours only): busy evenings, a quiet
# small hours, a morning bump as families wake, moderate daytime on holidays.
HOUR_PROFILE = (
    0.8, 0.6, 0.5, 0.45, 0.45, 0.55, 0.8, 1.0,  # 00-07
    0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,  # 08-15 (holidays and Saturday afternoons)
    1.0, 1.1, 1.4, 1.6, 1.6, 1.5, 1.3, 1.0,  # 16-23
)  # fmt: skip

# Durations in minutes.
TRIAGE_MIN = (5.0, 20.0)  # uniform: operator log + consulting physician's decision
ACCEPT_MIN = (1.0, 5.0)  # uniform: from the offer SMS to the reply
DECLINE_RATE = 0.1  # share of offers declined or left to time out
OFFER_TIMEOUT_MIN = {Urgency.red: 3.0, Urgency.orange: 3.0}  # else 5 (DESIGN.md §2 Escalation)
OFFER_TIMEOUT_OTHER_MIN = 5.0
VISIT_MIN = (25.0, 60.0)  # uniform
END_OF_LIFE_VISIT_MIN = (45.0, 90.0)
URGENCY_WEIGHTS = {Urgency.red: 0.15, Urgency.orange: 0.35, Urgency.yellow: 0.4, Urgency.green: 0.1}
JITTER_DEG = 0.02  # ~2 km around the municipality's reference point
WAIT_LIMIT_MIN = 60.0


@dataclass
class RunMetrics:
    policy: str
    physicians: int
    counts: dict[str, dict[str, int]]  # clinic label -> kind -> count
    to_acceptance: list[float] = field(default_factory=list)  # minutes from call to acceptance
    accept_hours: list[int] = field(default_factory=list)  # the local hour of each of those calls
    to_arrival: list[float] = field(default_factory=list)  # minutes from call to arrival
    busy_minutes: float = 0.0
    shift_minutes: float = 0.0
    waited_over_60: int = 0

    @property
    def utilisation(self) -> float:
        return self.busy_minutes / self.shift_minutes if self.shift_minutes else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


@dataclass(frozen=True)
class Area:
    towns: dict[int, Point]  # municipality id (its code as an int) -> reference point
    clinic_town: dict[str, int]  # clinic label -> municipality id
    bases: list[int]  # substitutes' bases, in the demo roster's order
    travel: StraightLineEstimate
    rule: dict


@cache
def load_area(programme: str = "inba") -> Area:
    data = load_programme_data(programme)
    towns = {int(m["code"]): Point(m["latitude"], m["longitude"]) for m in data["municipalities"]}
    clinic_town = {c["label"]: int(c["municipality"]) for c in data.get("clinics", [])}
    bases = [int(p["base"]) for p in data["demo"]["physicians"] if p.get("role") == "substitute"]
    area = data["area"]
    travel = StraightLineEstimate(road_factor=area["road_factor"], speed_kmh=area["travel_speed_kmh"])
    return Area(towns, clinic_town, bases or sorted(towns), travel, data["service_hours_rules"][0])


def town_for(label: str, area: Area) -> int:
    """The clinic's municipality, or one chosen by a fixed mapping of its label."""
    if label in area.clinic_town:
        return area.clinic_town[label]
    ids = sorted(area.towns)
    return ids[zlib.crc32(label.encode()) % len(ids)]


@cache
def service_hours(fiscal_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Per hour of the fiscal year: the call weight (0 outside the service hours) and the hour's date
    ordinal, so a clinic's contract start can be cut in."""
    first, last = fiscal_year_days(fiscal_year)
    rule = load_area().rule
    tz = ZoneInfo(TIMEZONE)
    start = datetime.combine(first, datetime.min.time(), tz)
    hours = ((last - first).days + 1) * 24
    weights = np.zeros(hours)
    days = np.zeros(hours, dtype=np.int64)
    for h in range(hours):
        instant = start + timedelta(hours=h)
        days[h] = instant.date().toordinal()
        if in_service_hours(instant, rule, TIMEZONE):
            weights[h] = HOUR_PROFILE[h % 24]
    return weights, days


def fy_start(fiscal_year: int) -> datetime:
    return datetime.combine(fiscal_year_days(fiscal_year)[0], datetime.min.time(), ZoneInfo(TIMEZONE))


@dataclass
class Call:
    case_id: int
    clinic: str
    kind: str  # "consultation" | "house_call" | "end_of_life"
    at: float  # minutes from the start of the fiscal year
    location: Point
    town: int
    urgency: Urgency


def plan_calls(
    rows: Sequence[dict[str, str]], fiscal_year: int, rng: np.random.Generator, rate: float = 1.0
) -> list[Call]:
    """Poisson arrivals per clinic and kind: over the clinic's service hours from max(contract start,
    FY start) to FY end, N ~ Poisson(count x rate) calls placed by the time-of-night profile."""
    weights, days = service_hours(fiscal_year)
    area = load_area()
    first = fiscal_year_days(fiscal_year)[0]
    calls: list[Call] = []
    for row in rows:
        label = row["clinic_label"]
        start = max(month_start(row["contract_start"]), first) if row.get("contract_start") else first
        w = np.where(days >= date.toordinal(start), weights, 0.0)
        if w.sum() == 0:
            continue
        p = w / w.sum()
        consultations = int(row.get("consultations") or 0)
        house_calls = int(row.get("house_calls") or 0)
        end_of_life = int(row.get("end_of_life") or 0)
        n_cons = rng.poisson(consultations * rate)
        n_house = rng.poisson(house_calls * rate)
        eol_share = end_of_life / house_calls if house_calls else 0.0
        n_eol = rng.binomial(n_house, min(eol_share, 1.0))
        kinds = ["consultation"] * n_cons + ["end_of_life"] * n_eol + ["house_call"] * (n_house - n_eol)
        if not kinds:
            continue
        slots = rng.choice(len(p), size=len(kinds), p=p)
        times = (slots + rng.random(len(kinds))) * 60.0
        town = town_for(label, area)
        centre = area.towns[town]
        jitter = rng.uniform(-JITTER_DEG, JITTER_DEG, size=(len(kinds), 2))
        urgencies = rng.choice(len(URGENCY_WEIGHTS), size=len(kinds), p=list(URGENCY_WEIGHTS.values()))
        levels = list(URGENCY_WEIGHTS)
        for kind, t, (dlat, dlon), u in zip(kinds, times, jitter, urgencies, strict=True):
            point = Point(centre.latitude + float(dlat), centre.longitude + float(dlon))
            urgency = Urgency.yellow if kind == "end_of_life" else levels[int(u)]
            calls.append(Call(0, label, kind, float(t), point, town, urgency))
    calls.sort(key=lambda c: c.at)
    for n, call in enumerate(calls, start=1):
        call.case_id = n
    return calls


@dataclass
class _Physician:
    physician_id: int
    base: Point
    last_worked_at: datetime | None = None


class _Model:
    def __init__(self, calls: list[Call], policy: str, physicians: int, fiscal_year: int, seed: int):
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        self.policy = POLICIES[policy]
        self.area = load_area()
        self.t0 = fy_start(fiscal_year)
        self.calls = calls
        self.staff = {
            n: _Physician(n, self.area.towns[self.area.bases[(n - 1) % len(self.area.bases)]])
            for n in range(1, physicians + 1)
        }
        self.free: dict[int, _Physician] = dict(self.staff)
        self.waiting: dict[int, tuple[Call, frozenset[int]]] = {}
        self.all_towns = frozenset(self.area.towns)
        weights, _ = service_hours(fiscal_year)
        self.metrics = RunMetrics(
            policy, physicians, {}, shift_minutes=float((weights > 0).sum()) * 60 * physicians
        )

    def when(self, minutes: float) -> datetime:
        return self.t0 + timedelta(minutes=minutes)

    def count(self, call: Call, kind: str) -> None:
        per_clinic = self.metrics.counts.setdefault(call.clinic, dict.fromkeys(KINDS, 0))
        per_clinic[kind] += 1

    def arrivals(self):
        for call in self.calls:
            yield self.env.timeout(max(0.0, call.at - self.env.now))
            self.env.process(self.handle(call))

    def handle(self, call: Call):
        yield self.env.timeout(self.rng.uniform(*TRIAGE_MIN))
        if call.kind == "consultation":
            self.count(call, "consultations")
            return
        self.waiting[call.case_id] = (call, frozenset())
        self.dispatch()

    def dispatch(self) -> None:
        """Offer every waiting case at once to the free physicians, by the policy."""
        if not self.waiting or not self.free:
            return
        cases = []
        for call, excluded in self.waiting.values():
            if excluded >= set(self.staff):  # everyone turned it down: offering goes on from the top
                excluded = frozenset()
                self.waiting[call.case_id] = (call, excluded)
            cases.append(
                WaitingCase(call.case_id, call.urgency, call.location, call.town, self.when(call.at), excluded)
            )
        available = [
            AvailablePhysician(p.physician_id, p.base, self.all_towns, p.last_worked_at)
            for p in self.free.values()
        ]
        for case_id, match in self.policy(cases, available, self.area.travel).items():
            call, excluded = self.waiting.pop(case_id)
            physician = self.free.pop(match.physician_id)
            self.env.process(self.offer(call, excluded, physician, match.travel_min))

    def offer(self, call: Call, excluded: frozenset[int], physician: _Physician, travel_min: float):
        env = self.env
        if self.rng.random() < DECLINE_RATE:
            yield env.timeout(OFFER_TIMEOUT_MIN.get(call.urgency, OFFER_TIMEOUT_OTHER_MIN))
            self.free[physician.physician_id] = physician
            self.waiting[call.case_id] = (call, excluded | {physician.physician_id})
            self.dispatch()
            return
        yield env.timeout(self.rng.uniform(*ACCEPT_MIN))
        yield from self.visit(call, physician, travel_min)

    def visit(self, call: Call, physician: _Physician, travel_min: float):
        """The offer accepted now: the physician drives out, visits, drives back, and is free again."""
        env = self.env
        accepted = env.now
        self.metrics.to_acceptance.append(accepted - call.at)
        self.metrics.accept_hours.append(self.when(call.at).hour)
        yield env.timeout(travel_min)
        waited = env.now - call.at
        self.metrics.to_arrival.append(waited)
        self.metrics.waited_over_60 += waited > WAIT_LIMIT_MIN
        visit = END_OF_LIFE_VISIT_MIN if call.kind == "end_of_life" else VISIT_MIN
        yield env.timeout(self.rng.uniform(*visit))
        self.count(call, "house_calls")
        if call.kind == "end_of_life":
            self.count(call, "end_of_life")
        yield env.timeout(self.area.travel(call.location, physician.base))  # back to base
        self.metrics.busy_minutes += env.now - accepted
        physician.last_worked_at = self.when(env.now)
        self.free[physician.physician_id] = physician
        self.dispatch()

    def run(self) -> RunMetrics:
        self.env.process(self.arrivals())
        self.env.run()
        return self.metrics


def run_year(
    rows: Sequence[dict[str, str]],
    fiscal_year: int,
    policy: str = SERVICE_POLICY,
    physicians: int = 3,
    rate: float = 1.0,
    seed: int = 0,
) -> RunMetrics:
    """One simulated fiscal year. The calls depend on the seed only, so policies see the same nights."""
    calls = plan_calls(rows, fiscal_year, np.random.default_rng(seed), rate)
    return _Model(calls, policy, physicians, fiscal_year, seed).run()


def table_counts(rows: Sequence[dict[str, str]]) -> dict[str, dict[str, int]]:
    return {r["clinic_label"]: {k: int(r.get(k) or 0) for k in KINDS} for r in rows}


def mean_counts(runs: Sequence[RunMetrics]) -> dict[str, dict[str, float]]:
    labels = {label for run in runs for label in run.counts}
    return {
        label: {k: sum(run.counts.get(label, {}).get(k, 0) for run in runs) / len(runs) for k in KINDS}
        for label in labels
    }


def summarise(runs: Sequence[RunMetrics]) -> dict[str, float]:
    """Figures averaged over runs (percentiles per run, then the mean)."""

    def mean(values: list[float]) -> float:
        values = [v for v in values if v == v]
        return statistics.fmean(values) if values else float("nan")

    return {
        "accept_median": mean([percentile(r.to_acceptance, 50) for r in runs]),
        "accept_p90": mean([percentile(r.to_acceptance, 90) for r in runs]),
        "arrival_median": mean([percentile(r.to_arrival, 50) for r in runs]),
        "arrival_p90": mean([percentile(r.to_arrival, 90) for r in runs]),
        "utilisation": mean([r.utilisation for r in runs]),
        "waited_over_60": mean([float(r.waited_over_60) for r in runs]),
    }
