"""Who goes where. The service's policy assigns all waiting cases together, each case's drive weighted by its
urgency; `least_total_travel` (the same without the weights) and the baselines (nearest-available greedy, round
robin) are here for the simulations to compare.

Cross-area backup (広域連携): a physician on call for the case's town is its own area's; one on call in a
neighbouring area of the case's area is offered only within the case's area's travel cap, and only when no
physician of its own can go within it. In costs: own within the cap = the drive; own beyond it = the drive +
`BEYOND_CAP_MIN`; a neighbour within it = the drive + the cap (so any own physician within the cap wins, and a
neighbour within the cap beats an own one beyond it); a neighbour beyond it, or any other area: never."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from dispatch.cases.states import URGENCY_RANK, Urgency
from dispatch.matching.costs import BEYOND_CAP_MIN, Columns, pairs
from dispatch.matching.inputs import AvailablePhysician, Match, WaitingCase
from dispatch.matching.travel import TravelEstimate

# What leaving a case without a physician this round costs, by urgency: more than any (weighted) drive, and a
# red case is never left for a green one.
UNASSIGNED_COST = {
    Urgency.red: 1e8,
    Urgency.orange: 1e7,
    Urgency.yellow: 1e6,
    Urgency.green: 1e5,
    Urgency.white: 1e5,
}
# A red case's minute on the road weighs as eight green ones (the service's objective). Kept far below the
# costs above: the heaviest drive, 8 x (a day's drive + BEYOND_CAP_MIN), stays under a green left waiting.
URGENCY_WEIGHT = {
    Urgency.red: 8.0,
    Urgency.orange: 4.0,
    Urgency.yellow: 2.0,
    Urgency.green: 1.0,
    Urgency.white: 1.0,
}
UNWEIGHTED = dict.fromkeys(Urgency, 1.0)


Policy = Callable[[Sequence[WaitingCase], Sequence[AvailablePhysician], TravelEstimate], dict[int, Match]]


def drive_cost(
    case: WaitingCase, physician: AvailablePhysician, minutes: float
) -> tuple[float, int | None] | None:
    """The cost of sending this physician `minutes` away to the case and the area they back it up from (None:
    their own); None when they may not be sent (turned it down, not on call for it, a neighbour beyond the
    cap)."""
    if physician.physician_id in case.excluded:
        return None
    if case.municipality_id is None or case.municipality_id in physician.municipality_ids:
        beyond = case.cap_min is not None and minutes > case.cap_min
        return minutes + (BEYOND_CAP_MIN if beyond else 0.0), None
    backing = case.neighbours & physician.area_ids
    if backing and case.cap_min is not None and minutes <= case.cap_min:
        return minutes + case.cap_min, min(backing)
    return None


@functools.cache
def solver() -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """SciPy's Hungarian algorithm, imported on first use: 50 MB the API, which runs no round, never loads
    (a worker loads it as it starts, `workers.context.warm`)."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment


def assign(
    cases: Sequence[WaitingCase],
    physicians: Sequence[AvailablePhysician],
    travel: TravelEstimate,
    weights: Mapping[Urgency, float],
    prune: bool = True,
) -> dict[int, Match]:
    """One joint assignment of every waiting case (Hungarian algorithm) minimising the sum of each case's drive
    cost times its urgency's weight; a case left unassigned costs UNASSIGNED_COST. `prune`: each case's
    cheapest physicians only (the same result, faster; False for comparing)."""
    if not cases or not physicians:
        return {}
    cols = Columns.of(physicians)
    found = pairs(cases, cols, travel, len(cases) if prune else len(physicians) + 1)
    used, inverse = np.unique(found.col, return_inverse=True)
    n, m = len(cases), len(used)
    matrix = np.full((n, m + n), np.inf)
    weight = np.array([weights[case.urgency] for case in cases])
    matrix[found.row, inverse] = found.cost * weight[found.row] + cols.rest(used)[inverse]
    matrix[np.arange(n), m + np.arange(n)] = [UNASSIGNED_COST[case.urgency] for case in cases]
    which = np.full((n, m), -1, dtype=np.int64)
    which[found.row, inverse] = np.arange(len(found.row))
    result = {}
    for i, k in zip(*(part.tolist() for part in solver()(matrix)), strict=True):
        if k >= m:
            continue
        at = which[i, k]
        area = int(found.from_area[at])
        physician = cols.ids[int(used[k])]
        result[cases[i].case_id] = Match(physician, float(found.minutes[at]), area if area else None)
    return result


def urgency_weighted_travel(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """The service's policy: every waiting case at once, least total drive with each case's minutes weighted by
    its urgency, so a red case is not given the longer drive to save minutes on green ones."""
    return assign(cases, physicians, travel, URGENCY_WEIGHT)


def least_total_travel(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """The former objective: every waiting case at once so that total travel is least, whatever the urgency."""
    return assign(cases, physicians, travel, UNWEIGHTED)


def _by_priority(cases: Sequence[WaitingCase]) -> list[WaitingCase]:
    return sorted(cases, key=lambda c: (URGENCY_RANK[c.urgency], c.waiting_since, c.case_id))


def _options(case: WaitingCase, free: Sequence[AvailablePhysician], travel: TravelEstimate) -> list:
    """(cost, minutes, from_area, physician) for every free physician who may go."""
    estimate = case.estimate or travel
    options = []
    for p in free:
        minutes = estimate(p.location, case.location)
        priced = drive_cost(case, p, minutes)
        if priced is not None:
            options.append((priced[0], minutes, priced[1], p))
    return options


def nearest_available(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """Baseline: most urgent, longest-waiting case first takes its nearest free physician."""
    free = list(physicians)
    result = {}
    for case in _by_priority(cases):
        options = _options(case, free, travel)
        if options:
            _cost, minutes, area, physician = min(options, key=lambda o: o[0])
            result[case.case_id] = Match(physician.physician_id, minutes, area)
            free.remove(physician)
    return result


def round_robin(
    cases: Sequence[WaitingCase], physicians: Sequence[AvailablePhysician], travel: TravelEstimate
) -> dict[int, Match]:
    """Baseline: physicians in a fixed turn order, whatever the distance (a neighbour's when no own one)."""
    free = sorted(physicians, key=lambda p: p.physician_id)
    result = {}
    for case in _by_priority(cases):
        options = _options(case, free, travel)
        if options:
            _cost, minutes, area, physician = min(options, key=lambda o: (o[2] is not None, o[3].physician_id))
            result[case.case_id] = Match(physician.physician_id, minutes, area)
            free.remove(physician)
    return result


SERVICE_POLICY = "urgency_weighted_travel"
POLICIES: dict[str, Policy] = {
    "urgency_weighted_travel": urgency_weighted_travel,
    "least_total_travel": least_total_travel,
    "nearest_available": nearest_available,
    "round_robin": round_robin,
}
