"""Estimated travel time: one replaceable function. Straight-line distance x road factor at an area speed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

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


class Places:
    """Points as arrays, with the sines and cosines of their half angles computed once: the great-circle
    distance between any two of two sets of places is then one square root and one arcsine a pair."""

    def __init__(self, latitude: np.ndarray, longitude: np.ndarray) -> None:
        lat, lon = np.radians(latitude) / 2, np.radians(longitude) / 2
        self.sin_lat, self.cos_lat = np.sin(lat), np.cos(lat)
        self.sin_lon, self.cos_lon = np.sin(lon), np.cos(lon)
        self.cos_full = np.cos(2 * lat)

    def km_to(self, mine: np.ndarray, other: Places, theirs: np.ndarray) -> np.ndarray:
        """`distance_km` from each of these places (positions `mine`) to the paired other (`theirs`)."""
        half_dlat = other.sin_lat[theirs] * self.cos_lat[mine] - other.cos_lat[theirs] * self.sin_lat[mine]
        half_dlon = other.sin_lon[theirs] * self.cos_lon[mine] - other.cos_lon[theirs] * self.sin_lon[mine]
        h = half_dlat**2 + self.cos_full[mine] * other.cos_full[theirs] * half_dlon**2
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


@dataclass(frozen=True)
class StraightLineEstimate:
    """Road distance ~ straight line x `road_factor`, driven at `speed_kmh`, plus time to set off."""

    road_factor: float = 1.35
    speed_kmh: float = 32.0
    setoff_min: float = 5.0

    def __call__(self, origin: Point, destination: Point) -> float:
        return self.setoff_min + distance_km(origin, destination) * self.road_factor / self.speed_kmh * 60
