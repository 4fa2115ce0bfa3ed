"""The programme as the console needs it: area, municipalities, its reportable fiscal years, hours."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import authenticated
from dispatch.deps import db_session, get_services
from dispatch.programme import service
from dispatch.programme.periods import fiscal_year_of
from dispatch.programme.schemas import ProgrammeOut

router = APIRouter(prefix="/api/v1", tags=["programme"])


@router.get("/programme", response_model=ProgrammeOut, dependencies=[authenticated()])
def read_programme(request: Request, session: Session = Depends(db_session)) -> ProgrammeOut:
    """The programme in force, and whether it is night/holiday hours right now."""
    services = get_services(request)
    try:
        programme = service.get_programme(session, services.settings.programme_code)
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
        municipalities=programme.area.municipalities,
        fiscal_years=programme.fiscal_years,
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        reportable_years=service.reportable_years(session, programme, now),
        current_fiscal_year=fiscal_year_of(service.local_today(programme, now)),
        service_hours_rule=rule,
        in_service_hours_now=now_in_hours,
    )
