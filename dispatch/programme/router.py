"""The programme as the console needs it: area, municipalities, its reportable fiscal years, hours."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, authenticated, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.programme import service
from dispatch.programme.choice import AreaHidden, UnknownArea, chosen_programme, town_programme
from dispatch.programme.periods import fiscal_year_of
from dispatch.programme.schemas import ProgrammeOut, ServiceHoursOut
from dispatch.times import time_problem

router = APIRouter(prefix="/api/v1", tags=["programme"])


@router.get("/programme", response_model=ProgrammeOut, dependencies=[authenticated()])
def read_programme(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> ProgrammeOut:
    """The programme in force (an area coordinator's area's), and whether it is night/holiday hours now."""
    services = get_services(request)
    try:
        programme = service.users_programme(session, user, services.settings.programme_code)
    except service.ProgrammeNotLoaded as exc:
        raise HTTPException(503, detail=str(exc)) from None
    now = services.clock.now()
    now_in_hours, rule = service.judge_service_hours(session, programme, now)
    return ProgrammeOut(
        code=programme.code,
        name=programme.name,
        prefecture=programme.prefecture,
        timezone=programme.timezone,
        area=programme.area.name,
        municipalities=service.served_municipalities(session),
        areas=service.served_areas(session, programme),
        fiscal_years=programme.fiscal_years,
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        reportable_years=service.reportable_years(session, programme, now),
        current_fiscal_year=fiscal_year_of(service.local_today(programme, now)),
        service_hours_rule=rule,
        in_service_hours_now=now_in_hours,
    )


HOURS_READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)
HOURS_LABELS = {True: "時間内（夜間・休日）", False: "時間外"}


@router.get("/programme/service-hours", response_model=ServiceHoursOut, dependencies=[allow(*HOURS_READERS)])
def read_service_hours(
    request: Request,
    at: datetime | None = None,
    area: str | None = Query(None, max_length=32, description="judge by this medical area's rule, e.g. inba"),
    municipality: str | None = Query(
        None, max_length=8, description="judge by the rule of the area this town lies in, by its code (12347)"
    ),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> ServiceHoursOut:
    """Whether a call at `at` (now if absent; e.g. a call logged late) is in night/holiday hours, by the rule of
    the area asked for (`area`, or a town's `municipality`); else the user's area's (an area coordinator's),
    else the centre's."""
    if problem := time_problem(at):
        raise HTTPException(422, detail=f"at: {problem}")
    if area is not None and municipality is not None:
        raise HTTPException(422, detail="area/municipality: name one or the other")
    services = get_services(request)
    at = at or services.clock.now()
    try:
        code = _hours_programme(session, user, services.settings.programme_code, area, municipality)
        in_hours, rule = services.reference.programme(session, code).judge_service_hours(at)
    except service.ProgrammeNotLoaded as exc:
        raise HTTPException(503, detail=str(exc)) from None
    except LookupError:
        raise HTTPException(422, detail="at: no service-hours rule was in force at this time") from None
    return ServiceHoursOut(
        at=at, in_service_hours=in_hours, rule_version=rule.version, label=HOURS_LABELS[in_hours]
    )


def _hours_programme(
    session: Session, user: User, default_code: str, area: str | None, municipality: str | None
) -> str:
    """The code of the programme whose rule judges: 422 naming the field for an unknown area or town, or one
    no programme serves yet."""
    field, value = ("municipality", municipality) if municipality is not None else ("area", area)
    try:
        if municipality is not None:
            return town_programme(session, municipality).code
        return chosen_programme(session, user, default_code, area).code
    except UnknownArea:
        raise HTTPException(
            422, detail=f"{field}: no {'municipality' if municipality else 'medical area'} {value!r}"
        ) from None
    except AreaHidden:
        raise HTTPException(404, detail=f"area: no area {area!r} that you may see") from None
    except service.ProgrammeNotLoaded:
        if value is None:
            raise
        raise HTTPException(422, detail=f"{field}: no programme serves {value!r} yet") from None
