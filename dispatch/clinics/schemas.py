"""Clinics and their contracts as the API returns them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from dispatch.clinics.models import ClinicKind
from dispatch.ids import ID_MAX


class ContractPeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    start_month: date
    end_month: date | None


class ClinicOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    kind: ClinicKind
    municipality_id: int | None
    newly_started_house_calls: bool
    contract_periods: list[ContractPeriodOut]


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    end_month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="last covered month, YYYY-MM")


class ClinicIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=64)
    kind: ClinicKind
    municipality_id: int | None = Field(None, ge=1, le=ID_MAX)
    handoff_phone: str | None = Field(None, max_length=32)
    newly_started_house_calls: bool = False
    contract_periods: list[ContractIn] = Field(default_factory=list)
