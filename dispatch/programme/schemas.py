"""Response bodies describing the programme."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class MunicipalityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    latitude: float
    longitude: float
    area_id: int


class AreaProgrammeOut(BaseModel):
    """A medical area served on this deployment, and its programme."""

    area_id: int
    area_code: str
    area: str  # 印旛
    programme: str  # the programme's code
    travel_cap_min: int


class FiscalYearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    label: str
    counts_consultations: bool


class ReportableYearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int  # 2026 = 令和8年度 = 2026-04-01..2027-03-31
    label: str
    counts_consultations: bool
    current: bool  # the year today (Asia/Tokyo) falls in


class ServiceHoursRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    effective_from: datetime
    definition: dict[str, Any]


class ProgrammeOut(BaseModel):
    code: str
    name: str
    prefecture: str
    timezone: str
    area: str
    # Every town of every area served here (a call may come from any of them), each with its area.
    municipalities: list[MunicipalityOut]
    areas: list[AreaProgrammeOut]  # the areas served here (広域連携), the default programme's first
    fiscal_years: list[FiscalYearOut]  # the years with a row of their own (an operator, a counting rule)
    starts_on: date
    ends_on: date | None
    reportable_years: list[ReportableYearOut]  # every year from the start to today, oldest first
    current_fiscal_year: int
    service_hours_rule: ServiceHoursRuleOut
    in_service_hours_now: bool


class ServiceHoursOut(BaseModel):
    """Whether a call at `at` falls in the programme's night/holiday hours, by which rule version."""

    at: datetime
    in_service_hours: bool
    rule_version: int
    label: str  # 時間内（夜間・休日） / 時間外
