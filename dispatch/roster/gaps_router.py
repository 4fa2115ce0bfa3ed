"""Coverage gaps: where the roster leaves a municipality short in the coming nights, and tonight's alert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.programme.models import Programme
from dispatch.programme.service import ProgrammeNotLoaded, users_programme
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
    night: date
    alerted_at: datetime
    gaps: list[GapOut]  # those still open from now


def _out(gap: gaps.Gap) -> GapOut:
    return GapOut(**{k: v for k, v in gap.__dict__.items() if k != "municipality_id"})


def _programme(request: Request, session: Session, user: User) -> Programme:
    """The programme whose towns are checked: an area coordinator's area's, else the deployment's."""
    try:
        return users_programme(session, user, get_services(request).settings.programme_code)
    except ProgrammeNotLoaded as exc:
        raise HTTPException(503, detail=str(exc)) from None


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
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[GapOut]:
    """Every interval of the service hours, in the nights from `from` to `to` (each from its morning hand-back,
    08:00, to the next), in which a municipality has fewer physicians on call than the programme's minimum."""
    start, end = _day("from", first), _day("to", last)
    programme = _programme(request, session, user)
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
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[GapAlertOut]:
    """Tonight's coverage-gap alert while a gap remains (re-checked on every read); [] once filled."""
    programme = _programme(request, session, user)
    found = gaps.open_alert(session, programme, get_services(request).clock.now())
    if found is None:
        return []
    alert, still_open = found
    return [GapAlertOut(night=alert.night, alerted_at=alert.alerted_at, gaps=[_out(g) for g in still_open])]
