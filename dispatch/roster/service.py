"""Reading the roster."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.roster.models import Physician, Shift


def shifts_at(session: Session, at: datetime) -> list[Shift]:
    """Shifts of active physicians running at `at`."""
    query = (
        select(Shift)
        .join(Physician)
        .where(Shift.starts_at <= at, Shift.ends_at > at, Physician.active.is_(True))
        .options(selectinload(Shift.coverage), selectinload(Shift.physician))
        .order_by(Shift.starts_at, Shift.id)
    )
    return list(session.scalars(query))
