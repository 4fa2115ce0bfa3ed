"""Clinics and their contracts as the API returns them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from dispatch.clinics.models import ClinicKind


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
