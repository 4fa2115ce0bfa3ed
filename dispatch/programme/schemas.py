"""Response bodies describing the programme."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class MunicipalityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    latitude: float
    longitude: float


class FiscalYearOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    label: str
    counts_consultations: bool


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
    municipalities: list[MunicipalityOut]
    fiscal_years: list[FiscalYearOut]
    service_hours_rule: ServiceHoursRuleOut
    in_service_hours_now: bool
