"""What each (waiting case, free physician) pair a round may choose would cost (numpy, no loop over pairs):
the tiers of cross-area backup (`policy.drive_cost` says them for one pair) and, per case, only its
cheapest physicians, as many as there are cases (an exact assignment needs no more: of a case's `keep`
cheapest, the other cases can take at most `keep - 1`). The tiers are filled cheapest first (own within the
cap, then neighbours within it, then own beyond it) and stop once `keep` are found; what lies within the cap
is looked for only inside the cap's latitude band, so a case measures the physicians near it, not the
country's."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

import numpy as np

from dispatch.matching.inputs import AvailablePhysician, WaitingCase
from dispatch.matching.travel import EARTH_RADIUS_KM, Places, Point, StraightLineEstimate, TravelEstimate

# An own physician beyond the cap is offered only when no neighbour within it can go: more than any cap.
BEYOND_CAP_MIN = 1_000.0
# Rest breaks ties only: at most this many minutes between the most and the least rested.
REST_TIE_MIN = 0.01
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class _Group:
    """Some of the physicians (those on call for a town, or in an area), in order of latitude."""

    columns: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def near(self, point: Point, km: float) -> np.ndarray:
        """Positions of those inside a box `km` around `point` (a superset of those within `km`)."""
        band = km / KM_PER_DEGREE * 1.001
        lo, hi = np.searchsorted(self.lat, [point.latitude - band, point.latitude + band])
        widest = math.cos(math.radians(min(abs(point.latitude) + band, 89.0)))
        inside = np.abs(self.lon[lo:hi] - point.longitude) <= band / widest
        return self.columns[lo:hi][inside]


class Columns(Sequence[AvailablePhysician]):
    """The free physicians as arrays (and, read one by one, as `AvailablePhysician`s), with which of them each
    town and each area has on call. A round builds it straight from its rows, never making the objects."""

    def __init__(
        self,
        ids: list[int],
        lat: list[float],
        lon: list[float],
        worked: list[datetime | None],
        towns: Sequence[Collection[int]],
        areas: Sequence[Collection[int]],
    ) -> None:
        self.ids, self.worked_at, self.towns, self.areas = ids, worked, towns, areas
        self.lat = np.array(lat, dtype=float)
        self.lon = np.array(lon, dtype=float)
        self.places = Places(self.lat, self.lon)
        self.position = {physician_id: j for j, physician_id in enumerate(ids)}
        self.worked = np.array([w.timestamp() if w else -np.inf for w in worked], dtype=float)
        self._by_town = _members(towns)
        self._by_area = _members(areas)
        self._groups: dict[tuple[str, int | None], _Group] = {}

    @classmethod
    def of(cls, physicians: Sequence[AvailablePhysician]) -> Columns:
        """The arrays of these physicians (itself, when it is one already)."""
        if isinstance(physicians, Columns):
            return physicians
        return cls(
            [p.physician_id for p in physicians],
            [p.location.latitude for p in physicians],
            [p.location.longitude for p in physicians],
            [p.last_worked_at for p in physicians],
            [p.municipality_ids for p in physicians],
            [p.area_ids for p in physicians],
        )

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, j: int) -> AvailablePhysician: ...

    @overload
    def __getitem__(self, j: slice) -> Sequence[AvailablePhysician]: ...

    def __getitem__(self, j: int | slice) -> AvailablePhysician | Sequence[AvailablePhysician]:
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        return AvailablePhysician(
            self.ids[j],
            Point(float(self.lat[j]), float(self.lon[j])),
            frozenset(self.towns[j]),
            self.worked_at[j],
            frozenset(self.areas[j]),
        )

    def location(self, j: int) -> Point:
        return Point(float(self.lat[j]), float(self.lon[j]))

    def group(self, kind: str, key: int | None) -> _Group:
        """Those on call for a town (`kind` "town"; None: everyone) or in an area, by latitude; made once."""
        if (kind, key) not in self._groups:
            if key is None:
                columns = np.arange(len(self.ids), dtype=np.int64)
            else:
                members = self._by_town if kind == "town" else self._by_area
                columns = members.get(key, np.zeros(0, dtype=np.int64))
            columns = columns[np.argsort(self.lat[columns], kind="stable")]
            self._groups[(kind, key)] = _Group(columns, self.lat[columns], self.lon[columns])
        return self._groups[(kind, key)]

    def rest(self, columns: np.ndarray) -> np.ndarray:
        """Per column, a fraction of REST_TIE_MIN: 0 for the most rested (never worked, or longest ago)."""
        rank = np.empty(len(columns), dtype=float)
        rank[np.argsort(self.worked[columns], kind="stable")] = np.arange(len(columns))
        return rank * (REST_TIE_MIN / max(len(columns), 1))


def _members(keys: Sequence[Collection[int]]) -> dict[int, np.ndarray]:
    """For each key (a town, an area), the positions whose set holds it."""
    flat = np.fromiter((k for ks in keys for k in ks), dtype=np.int64)
    if not len(flat):
        return {}
    positions = np.repeat(np.arange(len(keys), dtype=np.int64), [len(ks) for ks in keys])
    order = np.argsort(flat, kind="stable")
    flat, positions = flat[order], positions[order]
    values, starts = np.unique(flat, return_index=True)
    return dict(zip(values.tolist(), np.split(positions, starts[1:]), strict=True))


@dataclass
class Pairs:
    """The pairs kept, as parallel arrays: the case's and the physician's positions, the cost, the minutes,
    and the area the physician backs the case up from (0: the case's own)."""

    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray
    minutes: np.ndarray
    from_area: np.ndarray


Minutes = Callable[[np.ndarray], np.ndarray]


def _measure(case: WaitingCase, cols: Columns, travel: TravelEstimate) -> tuple[Minutes, float]:
    """Minutes from given physicians to the case by its area's estimate, and the straight-line km its cap
    allows (infinite: no cap, or an estimate that is not a straight line)."""
    estimate = case.estimate or travel
    if not isinstance(estimate, StraightLineEstimate):  # a test's own estimate: physician by physician
        return (
            lambda js: np.array([estimate(cols.location(j), case.location) for j in js], dtype=float),
            math.inf,
        )
    here = Places(np.array([case.location.latitude]), np.array([case.location.longitude]))
    per_km = estimate.road_factor / estimate.speed_kmh * 60
    reach = math.inf if case.cap_min is None else max(case.cap_min - estimate.setoff_min, 0.0) / per_km
    zero = np.zeros(1, dtype=np.int64)
    return (
        lambda js: estimate.setoff_min + cols.places.km_to(js, here, np.broadcast_to(zero, js.shape)) * per_km,
        reach,
    )


def _row(case: WaitingCase, cols: Columns, travel: TravelEstimate, keep: int) -> tuple[np.ndarray, ...]:
    """One case's candidates: (columns, cost, minutes, from_area), its cheapest tiers first until `keep`."""
    minutes_to, reach = _measure(case, cols, travel)
    gone = np.array([cols.position[p] for p in case.excluded if p in cols.position], dtype=np.int64)
    cap = math.inf if case.cap_min is None else case.cap_min
    own = cols.group("town", case.municipality_id)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(columns: np.ndarray, extra: float, area: int, within: bool) -> int:
        columns = columns[~np.isin(columns, gone)] if len(gone) else columns
        minutes = minutes_to(columns)
        ok = minutes <= cap if within else minutes > cap
        columns, minutes = columns[ok], minutes[ok]
        found.append((columns, minutes + extra, minutes, np.full(len(columns), area, dtype=np.int64)))
        return len(columns)

    count = add(own.near(case.location, reach) if math.isfinite(reach) else own.columns, 0.0, 0, True)
    if count < keep and case.neighbours and math.isfinite(cap):
        taken = own.columns  # on call for the case's town: its own, never a backup
        for area in sorted(case.neighbours):
            near = cols.group("area", area).near(case.location, reach)
            near = near[~np.isin(near, taken)]
            taken = np.concatenate([taken, near])  # on call in two neighbours: backs up from the first
            count += add(near, cap, area, True)
    if count < keep and math.isfinite(cap):
        count += add(own.columns, BEYOND_CAP_MIN, 0, False)
    columns, cost, minutes, areas = (np.concatenate(part) for part in zip(*found, strict=True))
    if len(columns) > keep:
        # The `keep` cheapest, and any within a rest tie of the last of them (rest may still choose).
        best = np.flatnonzero(cost <= np.partition(cost, keep - 1)[keep - 1] + REST_TIE_MIN)
        columns, cost, minutes, areas = columns[best], cost[best], minutes[best], areas[best]
    return columns, cost, minutes, areas


def pairs(cases: Sequence[WaitingCase], cols: Columns, travel: TravelEstimate, keep: int) -> Pairs:
    """Every pair that may be offered with its cost, each case's `keep` cheapest only (and any within a rest
    tie of the last of them)."""
    rows = [_row(case, cols, travel, keep) for case in cases]
    columns, cost, minutes, areas = (np.concatenate(part) for part in zip(*rows, strict=True))
    row = np.repeat(np.arange(len(cases), dtype=np.int64), [len(r[0]) for r in rows])
    return Pairs(row, columns, cost, minutes, areas)
