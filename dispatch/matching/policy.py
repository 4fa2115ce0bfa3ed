"""Who goes where. The service's policy assigns all waiting cases together, least total travel first;
the baselines (nearest-available greedy, round robin) are here for the simulations to compare."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.cases.states import URGENCY_RANK, Urgency
from dispatch.matching.travel import Point, TravelEstimate

INFEASIBLE = 1e9
# What leaving a case without a physician this round costs, by urgency: more than any drive, and a red
# case is never left for a green one.
UNASSIGNED_COST = {
    Urgency.red: 1e7,
    Urgency.orange: 1e6,
    Urgency.yellow: 1e5,
    Urgency.green: 1e4,
    Urgency.white: 1e4,
}


@dataclass(frozen=True)
class WaitingCase:
    case_id: int
    urgency: Urgency
    location: Point
    municipality_id: int | None
    waiting_since: datetime
    excluded: frozenset[int] = field(default_factory=frozenset)  # declined or timed out on this case


@dataclass(frozen=True)
class AvailablePhysician:
    physician_id: int
    location: Point  # base, or where their last visit was
    municipality_ids: frozenset[int]
    last_worked_at: datetime | None  # rest: who worked least recently goes first on a tie


@dataclass(frozen=True)
class Match:
    physician_id: int
    travel_min: float


Policy = Callable[[Sequence[WaitingCase], Sequence[AvailablePhysician], TravelEstimate], dict[int, Match]]


def feasible(case: WaitingCase, physician: AvailablePhysician) -> bool:
    """On call for the case's municipality and not already turned down on it."""
    if physician.physician_id in case.excluded:
        return False
    return case.municipality_id is None or case.municipality_id in physician.municipality_ids


def _rest_rank(physicians: Sequence[AvailablePhysician]) -> dict[int, int]:
    """0 for the most rested (never worked, or longest ago)."""

    def key(p: AvailablePhysician) -> tuple[int, float]:
        return (0, 0.0) if p.last_worked_at is None else (1, p.last_worked_at.timestamp())

    return {p.physician_id: rank for rank, p in enumerate(sorted(physicians, key=key))}


def least_total_travel(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """Assign every waiting case at once so that total travel is least (Hungarian algorithm)."""
    if not cases or not physicians:
        return {}
    rest = _rest_rank(physicians)
    minutes = np.full((len(cases), len(physicians)), INFEASIBLE)
    for i, case in enumerate(cases):
        for j, physician in enumerate(physicians):
            if feasible(case, physician):
                minutes[i, j] = travel(physician.location, case.location)
    # Rest breaks ties only: a thousandth of a minute per rank.
    costs = minutes + np.array([rest[p.physician_id] * 1e-3 for p in physicians])[None, :]
    dummy = np.full((len(cases), len(cases)), INFEASIBLE)
    for i, case in enumerate(cases):
        dummy[i, i] = UNASSIGNED_COST[case.urgency]
    rows, cols = linear_sum_assignment(np.hstack([costs, dummy]))
    result = {}
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        if col < len(physicians) and minutes[row, col] < INFEASIBLE:
            result[cases[row].case_id] = Match(physicians[col].physician_id, float(minutes[row, col]))
    return result


def _by_priority(cases: Sequence[WaitingCase]) -> list[WaitingCase]:
    return sorted(cases, key=lambda c: (URGENCY_RANK[c.urgency], c.waiting_since, c.case_id))


def nearest_available(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """Baseline: most urgent, longest-waiting case first takes its nearest free physician."""
    free = list(physicians)
    result = {}
    for case in _by_priority(cases):
        options = [(travel(p.location, case.location), p) for p in free if feasible(case, p)]
        if options:
            minutes, physician = min(options, key=lambda o: o[0])
            result[case.case_id] = Match(physician.physician_id, minutes)
            free.remove(physician)
    return result


def round_robin(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """Baseline: physicians in a fixed turn order, whatever the distance."""
    free = sorted(physicians, key=lambda p: p.physician_id)
    result = {}
    for case in _by_priority(cases):
        for physician in free:
            if feasible(case, physician):
                result[case.case_id] = Match(physician.physician_id, travel(physician.location, case.location))
                free.remove(physician)
                break
    return result


POLICIES: dict[str, Policy] = {
    "least_total_travel": least_total_travel,
    "nearest_available": nearest_available,
    "round_robin": round_robin,
}
