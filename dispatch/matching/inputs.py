"""What a matching policy sees: the cases waiting, the physicians free, and the match it makes of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dispatch.cases.states import Urgency
from dispatch.matching.travel import Point, StraightLineEstimate


@dataclass(frozen=True)
class WaitingCase:
    case_id: int
    urgency: Urgency
    location: Point
    municipality_id: int | None
    waiting_since: datetime
    excluded: frozenset[int] = field(default_factory=frozenset)  # declined or timed out on this case
    # Its area's travel estimate (None: the policy's `travel`), travel cap (None: none, and no backup) and
    # the neighbouring areas whose on-call physicians may back it up (empty: single-area matching).
    estimate: StraightLineEstimate | None = None
    cap_min: float | None = None
    neighbours: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class AvailablePhysician:
    physician_id: int
    location: Point  # base, or where their last visit was
    municipality_ids: frozenset[int]
    last_worked_at: datetime | None  # rest: who worked least recently goes first on a tie
    area_ids: frozenset[int] = field(default_factory=frozenset)  # the areas of the towns they are on call for


@dataclass(frozen=True)
class Match:
    physician_id: int
    travel_min: float
    from_area_id: int | None = None  # the physician's area, when they back up a neighbouring area's case
