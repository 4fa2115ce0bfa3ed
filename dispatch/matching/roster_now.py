"""Who is on the roster right now, as the picker needs it, read once: who is on shift (with their towns and
until when), who holds a case or answers an offer, every active substitute and where each last was. A matching
round that alerts the coordinator for many cases at once (a disaster night, nobody free) reads it once for all
of them, instead of once a case."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.states import ACTIVE_VISIT_STATES
from dispatch.matching.whereabouts import LastVisit, last_visits
from dispatch.offers.models import Offer, OfferState
from dispatch.programme.models import Municipality
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.roster.service import on_call_select

# (id, name, phone, base latitude, base longitude) of an active substitute physician.
PhysicianRow = tuple[int, str, str | None, float | None, float | None]


@dataclass(frozen=True)
class RosterNow:
    shifts: dict[int, tuple[set[int], datetime]]  # on shift: their towns, and until when
    held: dict[int, int]  # physician → the case they hold
    pending: dict[int, int]  # physician → the case whose offer they are answering
    physicians: list[PhysicianRow]
    worked: dict[int, LastVisit]
    town_area: dict[int, int]  # every town's area

    @functools.cached_property
    def _by_town(self) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for physician, (towns, _until) in self.shifts.items():
            for town in towns:
                found.setdefault(town, set()).add(physician)
        return found

    @functools.cached_property
    def _by_area(self) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for town, physicians in self._by_town.items():
            if (area := self.town_area.get(town)) is not None:
                found.setdefault(area, set()).update(physicians)
        return found

    def on_call_for(self, town: int | None, areas: frozenset[int]) -> set[int]:
        """Who is on shift for `town` (everyone on shift, for no known town) or for a town of one of `areas`."""
        if town is None:
            return set(self.shifts)
        return self._by_town.get(town, set()).union(*(self._by_area.get(a, set()) for a in areas))


def roster_now(session: Session, now: datetime) -> RosterNow:
    """The roster at `now`, in five reads."""
    shifts: dict[int, tuple[set[int], datetime]] = {}
    for _shift, _rostered, ends_at, covering, cover_ends, town, holder in session.execute(
        on_call_select(now).add_columns(Physician.id)
    ):
        until = min(ends_at, cover_ends) if covering else ends_at
        towns, latest = shifts.get(holder, (set(), until))
        if town is not None:
            towns.add(town)
        shifts[holder] = (towns, max(latest, until))
    held = {
        physician_id: case_id
        for physician_id, case_id in session.execute(
            select(Case.assigned_physician_id, Case.id).where(Case.state.in_(ACTIVE_VISIT_STATES))
        )
        if physician_id is not None
    }
    pending: dict[int, int] = dict(
        session.execute(
            select(Offer.physician_id, Offer.case_id).where(Offer.state == OfferState.pending)
        ).all()
    )
    physicians: list[PhysicianRow] = [
        (row[0], row[1], row[2], row[3], row[4])
        for row in session.execute(
            select(
                Physician.id,
                Physician.name,
                Physician.phone_e164,
                Physician.base_latitude,
                Physician.base_longitude,
            ).where(Physician.role == PhysicianRole.substitute, Physician.active.is_(True))
        )
    ]
    town_area = dict(session.execute(select(Municipality.id, Municipality.area_id)).all())
    return RosterNow(shifts, held, pending, physicians, last_visits(session, now), town_area)
