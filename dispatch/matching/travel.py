"""Estimated travel time: one replaceable function. Straight-line distance x road factor at an area speed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


class TravelEstimate(Protocol):
    def __call__(self, origin: Point, destination: Point) -> float:
        """Minutes by car from `origin` to `destination`."""
        ...


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class StraightLineEstimate:
    """Road distance ~ straight line x `road_factor`, driven at `speed_kmh`, plus time to set off."""

    road_factor: float = 1.35
    speed_kmh: float = 32.0
    setoff_min: float = 5.0

    def __call__(self, origin: Point, destination: Point) -> float:
        return self.setoff_min + distance_km(origin, destination) * self.road_factor / self.speed_kmh * 60
