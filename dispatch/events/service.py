"""Catching a console up on the events it missed while disconnected."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import event_payload
from dispatch.cases.models import Case, CaseEvent

MAX_REPLAY = 1000


def events_after(session: Session, last_event_id: int) -> list[dict[str, Any]]:
    """Events with ids above `last_event_id`, oldest first, as live consoles receive them."""
    rows = session.execute(
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.id > last_event_id)
        .order_by(CaseEvent.id)
        .limit(MAX_REPLAY)
    )
    return [event_payload(case, event) for event, case in rows]
