"""The prefecture's reports over HTTP: JSON, CSV (Excel-ready) or XLSX, for an area, a 保健所, a district
medical association or the prefecture. Counts only, never a patient."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.ids import ID_MAX
from dispatch.programme.periods import asked_month, fiscal_year_of
from dispatch.programme.service import YearNotReportable, check_reportable
from dispatch.reports import area_formats, formats, service, units, workbook
from dispatch.reports.fiscal import unit_report
from dispatch.reports.schemas import MonthlyReport, UnitReport, UnitsIndex
from dispatch.reports.units import Unit

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
REPORT_READERS = (Role.prefecture_analyst, Role.coordinator, Role.admin, Role.clinic_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _scope(user: User) -> int | None:
    """A clinic admin's reports hold their own clinic only."""
    return user.clinic_id if user.role is Role.clinic_admin else None


def report_unit(
    request: Request,
    area: str | None = Query(None, max_length=32, description="an area's code, e.g. inba, katori-kaiso"),
    health_centre: int | None = Query(None, ge=1, le=ID_MAX, description="a 保健所's id (see /reports/units)"),
    association: int | None = Query(None, ge=1, le=ID_MAX, description="a district medical association's id"),
    scope: Literal["prefecture"] | None = Query(None, description="prefecture: every area, with subtotals"),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Unit:
    """The unit asked for (none: the reader's default), once the reader may read it."""
    asked = {"area": area, "health_centre": health_centre, "association": association, "scope": scope}
    given = [name for name, value in asked.items() if value is not None]
    if len(given) > 1:
        raise HTTPException(422, detail=f"{'/'.join(given)}: ask for one unit at a time")
    code = get_services(request).settings.programme_code
    try:
        if not given:
            return units.default_unit(session, user, code)
        unit = units.resolve(
            session,
            default_code=code,
            area=area,
            health_centre=health_centre,
            association=association,
            prefecture=scope == "prefecture",
        )
        units.check_access(session, user, unit)
    except units.UnitNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except units.UnitForbidden as exc:
        raise HTTPException(403, detail=str(exc)) from None
    return unit


def _slug(unit: Unit) -> str:
    ref = unit.ref
    return {"area": f"{ref.code}", "prefecture": "prefecture"}.get(ref.kind, f"{ref.kind}-{ref.id}")


def _reportable(request: Request, unit: Unit, year: int) -> Unit:
    """The unit with the programmes that report `year` (422 naming fiscal_year when none does)."""
    now = get_services(request).clock.now()
    if unit.ref.kind == "area":
        try:
            check_reportable(unit.programmes[0], year, now)
        except YearNotReportable as exc:
            raise HTTPException(422, detail=f"fiscal_year: {exc}") from None
        return unit
    kept = units.reporting(unit, year, now)
    if kept is None:
        raise HTTPException(422, detail=f"fiscal_year: {year}: no programme of {unit.ref.name} reports it")
    return kept


@router.get("/units", response_model=UnitsIndex, dependencies=[allow(*REPORT_READERS)])
def report_units(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> UnitsIndex:
    """The units the reader may ask a report for: areas → 保健所 → district medical associations (with the ids
    the report routes take), the prefecture when allowed, and what a report without a unit shows."""
    return units.index(session, user, get_services(request).settings.programme_code)


@router.get("/clinics", response_model=UnitReport, dependencies=[allow(*REPORT_READERS)])
def clinics_report(
    request: Request,
    fiscal_year: int = Query(..., ge=2019, le=2100, description="2024 = 令和6年度 (2024-04 .. 2025-03)"),
    format: Format = Query("json"),
    unit: Unit = Depends(report_unit),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
):
    """The prefecture's table: per clinic 契約患者数, 医療相談, 往診, 看取り, 契約時期, with 合計 (and per-area
    小計 in `areas`), the calls left out of it by reason (`excluded`), and cross-area house calls both ways
    (`cross_area`). Any year from the programme's start to today."""
    unit = _reportable(request, unit, fiscal_year)
    now = get_services(request).clock.now()
    report = unit_report(session, unit, fiscal_year, _scope(user), now=now)
    session.commit()  # the ended months counted afresh, kept for the next report
    default = (
        unit.ref.kind == "area" and unit.programmes[0].code == get_services(request).settings.programme_code
    )
    name = f"clinics_fy{fiscal_year}" + ("" if default else f"_{_slug(unit)}")
    if format == "csv":
        return _file(formats.to_csv(area_formats.csv_rows(report)), "text/csv; charset=utf-8", f"{name}.csv")
    if format == "xlsx":
        return _file(workbook.to_xlsx(report, None), XLSX, f"{name}.xlsx")
    return report


@router.get("/monthly", response_model=MonthlyReport, dependencies=[allow(*REPORT_READERS)])
def monthly_report(
    request: Request,
    from_month: str = Query(..., alias="from", pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
    to_month: str = Query(..., alias="to", pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
    format: Format = Query("json"),
    unit: Unit = Depends(report_unit),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
):
    """Per month: counts by clinic and municipality, response times (median, 90th percentile), declines,
    timeouts and coordinator alerts, for the unit's calls."""
    try:
        first = asked_month(from_month)
    except ValueError as exc:
        raise HTTPException(422, detail=f"from: {exc}") from None
    try:
        last = asked_month(to_month)
    except ValueError as exc:
        raise HTTPException(422, detail=f"to: {exc}") from None
    if last < first or (last.year - first.year) * 12 + last.month - first.month >= 60:
        raise HTTPException(422, detail="to: must be on or after `from`, and at most five years later")
    report = service.unit_monthly_report(session, unit, first, last, _scope(user))
    session.commit()  # the ended months counted afresh, kept for the next report
    name = f"monthly_{from_month}_{to_month}"
    if format == "csv":
        return _file(formats.to_csv(formats.monthly_rows_ja(report)), "text/csv; charset=utf-8", f"{name}.csv")
    if format == "xlsx":
        year = fiscal_year_of(date(first.year, first.month, 1))
        now = get_services(request).clock.now()
        clinics = unit_report(session, unit, year, _scope(user), now=now)
        session.commit()
        return _file(workbook.to_xlsx(clinics, report), XLSX, f"{name}.xlsx")
    return report
