"""Catching a console up on the events it missed while disconnected."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.scope import area_programmes, in_area
from dispatch.cases.lifecycle import event_payload
from dispatch.cases.models import Case, CaseEvent

MAX_REPLAY = 1000


def events_after(session: Session, last_event_id: int, area_id: int | None = None) -> list[dict[str, Any]]:
    """Events with ids above `last_event_id`, oldest first, as live consoles receive them (of one area's
    cases only, for an area coordinator)."""
    query = select(CaseEvent, Case).join(Case, Case.id == CaseEvent.case_id).where(CaseEvent.id > last_event_id)
    rows = session.execute(in_area(query, area_id, Case.programme_id).order_by(CaseEvent.id).limit(MAX_REPLAY))
    return [event_payload(case, event) for event, case in rows]


def area_programme_ids(session: Session, area_id: int) -> frozenset[int]:
    """The programmes whose cases an area coordinator's stream carries."""
    return frozenset(session.scalars(area_programmes(area_id)))
