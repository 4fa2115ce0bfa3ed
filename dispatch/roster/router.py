"""Who is on call."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow
from dispatch.auth.models import Role
from dispatch.deps import db_session, get_services
from dispatch.roster import service
from dispatch.roster.schemas import ShiftOut

router = APIRouter(prefix="/api/v1", tags=["roster"])


@router.get(
    "/roster/shifts",
    response_model=list[ShiftOut],
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
def on_call(
    request: Request,
    at: datetime | None = Query(None, description="an ISO 8601 time with offset; now when absent"),
    session: Session = Depends(db_session),
) -> list[ShiftOut]:
    """Substitute physicians' shifts running at a given time."""
    when = at or get_services(request).clock.now()
    if when.tzinfo is None:
        raise HTTPException(422, detail="at: give a time zone offset, e.g. 2025-01-01T03:00:00+09:00")
    return [
        ShiftOut(
            id=s.id,
            physician_id=s.physician_id,
            physician_name=s.physician.name,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            coverage=[m.name for m in s.coverage],
        )
        for s in service.shifts_at(session, when)
    ]
