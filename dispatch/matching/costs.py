"""What each (waiting case, free physician) pair a round may choose would cost (numpy, no loop over pairs):
the tiers of cross-area backup (`policy.drive_cost` says them for one pair) and, per case, only its
cheapest physicians, as many as there are cases (an exact assignment needs no more: of a case's `keep`
cheapest, the other cases can take at most `keep - 1`). The tiers are filled cheapest first (own within the
cap, then neighbours within it, then own beyond it) and stop once `keep` are found; what lies within the cap
is looked for only inside the cap's latitude band, so a case measures the physicians near it, not the
country's."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
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
BAND = 1e6  # more than any cost: sorting by row x BAND + cost sorts by row, then cost
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class _Group:
    """Some of the physicians (those on call for a town, or in an area), in order of latitude."""

    columns: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def box(self, lat: np.ndarray, lon: np.ndarray, km: float) -> np.ndarray:
        """Those inside the box around all these points that holds everyone within `km` of one of them."""
        if not math.isfinite(km):
            return self.columns
        band = km / KM_PER_DEGREE * 1.001
        south, north = float(lat.min()) - band, float(lat.max()) + band
        lo, hi = np.searchsorted(self.lat, [south, north])
        widest = band / math.cos(math.radians(min(max(abs(south), abs(north)), 89.0)))
        lon_here = self.lon[lo:hi]
        inside = (lon_here >= float(lon.min()) - widest) & (lon_here <= float(lon.max()) + widest)
        return self.columns[lo:hi][inside]


@dataclass(frozen=True)
class Membership:
    """Which physicians (positions) hold which keys (towns, or areas), as two parallel flat arrays."""

    keys: np.ndarray
    owners: np.ndarray

    @classmethod
    def of(cls, sets: Sequence[Collection[int]]) -> Membership:
        keys = np.fromiter((k for ks in sets for k in ks), dtype=np.int64)
        return cls(keys, np.repeat(np.arange(len(sets), dtype=np.int64), [len(ks) for ks in sets]))

    def mapped(self, mapping: dict[int, int]) -> Membership:
        """The same owners holding each key's image under `mapping` (keys it lacks dropped), once each."""
        distinct = np.unique(self.keys)
        image = np.array([mapping.get(int(k), -1) for k in distinct], dtype=np.int64)
        if not len(distinct):
            return self
        mapped = image[np.searchsorted(distinct, self.keys)]
        known = mapped >= 0
        width = int(mapped.max()) + 1 if known.any() else 1
        pairs = np.unique(self.owners[known] * width + mapped[known])
        return Membership(pairs % width, pairs // width)

    def of_owner(self, j: int) -> frozenset[int]:
        return frozenset(self.keys[self.owners == j].tolist())

    def groups(self) -> dict[int, np.ndarray]:
        """For each key, the owners holding it."""
        if not len(self.keys):
            return {}
        order = np.argsort(self.keys, kind="stable")
        keys, owners = self.keys[order], self.owners[order]
        values, starts = np.unique(keys, return_index=True)
        return dict(zip(values.tolist(), np.split(owners, starts[1:]), strict=True))


class Columns(Sequence[AvailablePhysician]):
    """The free physicians as arrays (and, read one by one, as `AvailablePhysician`s), with which of them each
    town and each area has on call. A round builds it straight from its rows, never making the objects."""

    def __init__(
        self,
        ids: list[int],
        lat: list[float],
        lon: list[float],
        worked: list[datetime | None],
        towns: Membership,
        areas: Membership,
    ) -> None:
        self.ids, self.worked_at, self.towns, self.areas = ids, worked, towns, areas
        self.lat = np.array(lat, dtype=float)
        self.lon = np.array(lon, dtype=float)
        self.places = Places(self.lat, self.lon)
        self.position = {physician_id: j for j, physician_id in enumerate(ids)}
        self.worked = np.array([w.timestamp() if w else -np.inf for w in worked], dtype=float)
        self._by_town = towns.groups()
        self._by_area = areas.groups()
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
            Membership.of([p.municipality_ids for p in physicians]),
            Membership.of([p.area_ids for p in physicians]),
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
            self.ids[j], self.location(j), self.towns.of_owner(j), self.worked_at[j], self.areas.of_owner(j)
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


@dataclass
class Pairs:
    """The pairs kept, as parallel arrays: the case's and the physician's positions, the cost, the minutes,
    and the area the physician backs the case up from (0: the case's own)."""

    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray
    minutes: np.ndarray
    from_area: np.ndarray


class _Cases:
    """The waiting cases as arrays: where each is, its area's estimate and cap, and how far the cap reaches in
    a straight line (infinite: no cap, or an estimate that is not a straight line)."""

    def __init__(self, cases: Sequence[WaitingCase], travel: TravelEstimate) -> None:
        self.cases = cases
        self.estimates = [case.estimate or travel for case in cases]
        self.lat = np.array([case.location.latitude for case in cases], dtype=float)
        self.lon = np.array([case.location.longitude for case in cases], dtype=float)
        self.cap = np.array([math.inf if c.cap_min is None else c.cap_min for c in cases], dtype=float)
        straight = [e for e in self.estimates if isinstance(e, StraightLineEstimate)]
        self.straight = len(straight) == len(cases)
        if self.straight:
            self.places = Places(self.lat, self.lon)
            self.setoff = np.array([e.setoff_min for e in straight])
            self.per_km = np.array([e.road_factor / e.speed_kmh * 60 for e in straight])
            self.reach = np.maximum(self.cap - self.setoff, 0.0) / self.per_km
        else:
            self.reach = np.full(len(cases), math.inf)

    def minutes(self, cols: Columns, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Minutes from each pair's physician to its case, by the case's own area's estimate."""
        if self.straight:
            return self.setoff[row] + cols.places.km_to(col, self.places, row) * self.per_km[row]
        return np.array(  # a test's own estimate: pair by pair
            [
                self.estimates[i](cols.location(j), self.cases[i].location)
                for i, j in zip(row, col, strict=True)
            ],
            dtype=float,
        )


def _grouped(keys: list[int | None], rows: Sequence[int]) -> dict[int | None, np.ndarray]:
    """The rows by their key (a town, an area)."""
    groups: dict[int | None, list[int]] = {}
    for i in rows:
        groups.setdefault(keys[i], []).append(i)
    return {key: np.array(found, dtype=np.int64) for key, found in groups.items()}


def pairs(cases: Sequence[WaitingCase], cols: Columns, travel: TravelEstimate, keep: int) -> Pairs:
    """Every pair that may be offered with its cost, each case's `keep` cheapest only (and any within a rest
    tie of the last of them): own physicians within the cap for every case, then, for the cases still short
    of `keep`, neighbours within the cap, then own physicians beyond it. Grouped by town and by area, so the
    work is a few array operations per town, not per case."""
    n, m = len(cases), len(cols)
    cs = _Cases(cases, travel)
    towns = [case.municipality_id for case in cases]
    turned_down = np.zeros((n, m), dtype=bool)
    for i, case in enumerate(cases):
        turned_down[i, [cols.position[p] for p in case.excluded if p in cols.position]] = True
    taken = turned_down.copy()  # not to be measured again for the row in a later tier
    found: list[tuple[np.ndarray, ...]] = []

    def add(row: np.ndarray, col: np.ndarray, within: bool, extra: np.ndarray | float, area: int) -> None:
        minutes = cs.minutes(cols, row, col)
        ok = minutes <= cs.cap[row] if within else minutes > cs.cap[row]
        row, col, minutes = row[ok], col[ok], minutes[ok]
        cost = minutes + (extra[ok] if isinstance(extra, np.ndarray) else extra)
        found.append((row, col, cost, minutes, np.full(len(row), area, dtype=np.int64)))

    def short() -> list[int]:
        counts = np.bincount(np.concatenate([f[0] for f in found]), minlength=n) if found else np.zeros(n)
        return [i for i in range(n) if counts[i] < keep and math.isfinite(cs.cap[i])]

    own_groups = {town: cols.group("town", town) for town in set(towns)}
    for town, rows in _grouped(towns, range(n)).items():
        group = own_groups[town]
        near = group.box(cs.lat[rows], cs.lon[rows], float(cs.reach[rows].max()))
        row, col = np.repeat(rows, len(near)), np.tile(near, len(rows))
        fresh = ~taken[row, col]
        add(row[fresh], col[fresh], True, 0.0, 0)
        taken[np.ix_(rows, group.columns)] = True  # on call for the case's town: its own, never a backup
    backed = [i for i in short() if cases[i].neighbours]
    for area in sorted(set().union(*(cases[i].neighbours for i in backed))):
        rows = np.array([i for i in backed if area in cases[i].neighbours], dtype=np.int64)
        near = cols.group("area", area).box(cs.lat[rows], cs.lon[rows], float(cs.reach[rows].max()))
        row, col = np.repeat(rows, len(near)), np.tile(near, len(rows))
        row, col = row[~taken[row, col]], col[~taken[row, col]]
        taken[row, col] = True  # on call in two neighbours: backs up from the first
        add(row, col, True, cs.cap[row], area)
    for town, rows in _grouped(towns, short()).items():
        columns = own_groups[town].columns
        row, col = np.repeat(rows, len(columns)), np.tile(columns, len(rows))
        fresh = ~turned_down[row, col]
        add(row[fresh], col[fresh], False, BEYOND_CAP_MIN, 0)
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, np.zeros(0), np.zeros(0), empty)
    every = Pairs(*(np.concatenate(part) for part in zip(*found, strict=True)))
    return _cheapest(every, n, keep)


def _cheapest(found: Pairs, n: int, keep: int) -> Pairs:
    """Each row's `keep` cheapest pairs, and any within a rest tie of the last (rest may still choose)."""
    if not len(found.row):
        return found
    order = np.argsort(found.row * BAND + np.minimum(found.cost, BAND - 1), kind="stable")
    row, cost = found.row[order], found.cost[order]
    starts = np.searchsorted(row, np.arange(n))
    counts = np.bincount(row, minlength=n)
    last = np.where(counts > keep, starts + keep - 1, 0)
    limit = np.where(counts > keep, cost[last], np.inf) + REST_TIE_MIN
    kept = order[cost <= limit[row]]
    return Pairs(found.row[kept], found.col[kept], found.cost[kept], found.minutes[kept], found.from_area[kept])
