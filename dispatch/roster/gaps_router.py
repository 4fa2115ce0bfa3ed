"""Coverage gaps: where the roster leaves a municipality short in the coming nights, and tonight's alert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.scope import UnknownArea, area_id_of, in_area, in_users_area
from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.programme.choice import AREA_HELP, asked_programme
from dispatch.programme.models import Programme
from dispatch.roster import gaps

router = APIRouter(prefix="/api/v1", tags=["roster"])
GAP_READERS = (Role.coordinator, Role.admin, Role.operator)
# The board and the dispatch page show tonight's alert: whoever opens them.
ALERT_READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)
DEFAULT_NIGHTS = 14
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # a roster's plausible nights


class GapOut(BaseModel):
    municipality_code: str
    municipality: str
    start: datetime  # Asia/Tokyo
    end: datetime
    on_call: int
    minimum: int
    night: date  # the local date the night starts on


class GapAlertOut(BaseModel):
    area: str  # the medical area's code (each area's coordinator is alerted of their own)
    area_name: str
    night: date
    alerted_at: datetime
    gaps: list[GapOut]  # those still open from now


def _out(gap: gaps.Gap) -> GapOut:
    return GapOut(**{k: v for k, v in gap.__dict__.items() if k != "municipality_id"})


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, detail=f"{name}: write a date as YYYY-MM-DD, e.g. 2025-01-15") from None
    if not EARLIEST <= day <= LATEST:
        raise HTTPException(422, detail=f"{name}: give a date from {EARLIEST} to {LATEST}")
    return day


@router.get("/roster/gaps", response_model=list[GapOut], dependencies=[allow(*GAP_READERS)])
def list_gaps(
    request: Request,
    first: str | None = Query(
        None, alias="from", max_length=10, description="the first night, YYYY-MM-DD (default: tonight)"
    ),
    last: str | None = Query(
        None, alias="to", max_length=10, description="the last night, YYYY-MM-DD (default: 13 nights later)"
    ),
    area: str | None = Query(None, max_length=32, description=AREA_HELP),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[GapOut]:
    """Every interval of the service hours, in the nights from `from` to `to` (each from its morning hand-back,
    08:00, to the next), in which a municipality has fewer physicians on call than the programme's minimum."""
    start, end = _day("from", first), _day("to", last)
    programme = asked_programme(request, session, user, area)
    if start is None:
        now = get_services(request).clock.now()
        start = gaps.night_of(gaps.rules_of(session, programme.id), now, programme.timezone)
    end = end or start + timedelta(days=DEFAULT_NIGHTS - 1)
    if end < start:
        raise HTTPException(422, detail="to: must not be before from")
    if (end - start).days + 1 > gaps.MAX_NIGHTS:
        raise HTTPException(422, detail=f"to: ask for at most {gaps.MAX_NIGHTS} nights from `from`")
    return [_out(g) for g in gaps.gaps_for_nights(session, programme, start, end)]


@router.get("/roster/gap-alerts", response_model=list[GapAlertOut], dependencies=[allow(*ALERT_READERS)])
def open_gap_alerts(
    request: Request,
    area: str | None = Query(None, max_length=32, description="only this medical area's, e.g. katori-kaiso"),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[GapAlertOut]:
    """Tonight's coverage-gap alerts while a gap remains (re-checked on every read), one per area; [] once
    filled. An area coordinator sees their area's only, whatever the filter."""
    try:
        area_id = area_id_of(session, area) if area else None
    except UnknownArea:
        raise HTTPException(422, detail=f"area: no medical area {area!r}") from None
    query = in_area(in_users_area(select(Programme), user, Programme.id), area_id, Programme.id)
    now = get_services(request).clock.now()
    alerts = []
    for programme in session.scalars(query.order_by(Programme.id)):
        found = gaps.open_alert(session, programme, now)
        if found is not None:
            alert, still_open = found
            alerts.append(
                GapAlertOut(
                    area=programme.area.code,
                    area_name=programme.area.name,
                    night=alert.night,
                    alerted_at=alert.alerted_at,
                    gaps=[_out(g) for g in still_open],
                )
            )
    return alerts
