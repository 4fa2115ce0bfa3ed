"""The prefecture's reports over HTTP: JSON, CSV (Excel-ready) or XLSX. Counts only, never a patient."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.programme.periods import fiscal_year_of, month_start
from dispatch.programme.service import YearNotReportable, check_reportable, get_programme
from dispatch.reports import formats, service
from dispatch.reports.schemas import ClinicReport, MonthlyReport

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


@router.get("/clinics", response_model=ClinicReport, dependencies=[allow(*REPORT_READERS)])
def clinics_report(
    request: Request,
    fiscal_year: int = Query(..., ge=2019, le=2100, description="2024 = 令和6年度 (2024-04 .. 2025-03)"),
    format: Format = Query("json"),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
):
    """The prefecture's table: per clinic 契約患者数, 医療相談, 往診, 看取り, 契約時期, with 合計, and the calls
    left out of it by reason (`excluded`). Any year from the programme's start to today."""
    services = get_services(request)
    programme = get_programme(session, services.settings.programme_code)
    try:
        check_reportable(programme, fiscal_year, services.clock.now())
    except YearNotReportable as exc:
        raise HTTPException(422, detail=f"fiscal_year: {exc}") from None
    report = service.clinic_report(session, programme, fiscal_year, _scope(user), now=services.clock.now())
    if format == "csv":
        return _file(
            formats.to_csv(formats.clinic_rows_ja(report) + formats.excluded_rows_ja(report)),
            "text/csv; charset=utf-8",
            f"clinics_fy{fiscal_year}.csv",
        )
    if format == "xlsx":
        return _file(formats.to_xlsx(report, None), XLSX, f"clinics_fy{fiscal_year}.xlsx")
    return report


@router.get("/monthly", response_model=MonthlyReport, dependencies=[allow(*REPORT_READERS)])
def monthly_report(
    request: Request,
    from_month: str = Query(..., alias="from", pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
    to_month: str = Query(..., alias="to", pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
    format: Format = Query("json"),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
):
    """Per month: counts by clinic and municipality, response times (median, 90th percentile), declines,
    timeouts and coordinator alerts."""
    try:
        first, last = month_start(from_month), month_start(to_month)
    except ValueError as exc:
        raise HTTPException(422, detail=f"from/to: {exc}") from None
    if last < first or (last.year - first.year) * 12 + last.month - first.month >= 60:
        raise HTTPException(422, detail="to: must be on or after `from`, and at most five years later")
    programme = get_programme(session, get_services(request).settings.programme_code)
    report = service.monthly_report(session, programme, first, last, _scope(user))
    if format == "csv":
        return _file(
            formats.to_csv(formats.monthly_rows_ja(report)),
            "text/csv; charset=utf-8",
            f"monthly_{from_month}_{to_month}.csv",
        )
    if format == "xlsx":
        year = fiscal_year_of(date(first.year, first.month, 1))
        clinics = service.clinic_report(
            session, programme, year, _scope(user), now=get_services(request).clock.now()
        )
        return _file(formats.to_xlsx(clinics, report), XLSX, f"monthly_{from_month}_{to_month}.xlsx")
    return report
