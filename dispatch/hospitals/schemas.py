"""Hospitals and tonight's backup beds as the API takes and returns them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.ids import ID_MAX


class HospitalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    municipality_id: int | None = Field(None, ge=1, le=ID_MAX)
    night_phone: str | None = Field(None, max_length=32, description="the night desk, e.g. 043-123-4567")
    backup_support: bool = Field(False, description="在宅療養後方支援病院")
    backup_beds: int = Field(0, ge=0, le=99, description="beds held for home patients at night")
    active: bool = True


class HospitalChange(BaseModel):
    """An edit: only the fields sent change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    municipality_id: int | None = Field(None, ge=1, le=ID_MAX)
    night_phone: str | None = Field(None, max_length=32)
    backup_support: bool | None = None
    backup_beds: int | None = Field(None, ge=0, le=99)
    active: bool | None = None


class HospitalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    municipality_id: int | None
    night_phone: str | None
    backup_support: bool
    backup_beds: int
    active: bool


class BedsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    free: int = Field(ge=0, le=99, description="backup beds free tonight")
    note: str | None = Field(None, max_length=200, description="e.g. 個室のみ; never patient data")


class BedReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    night: date
    free: int
    note: str | None
    reported_by: str
    reported_at: datetime


class TonightOut(HospitalOut):
    """A hospital with tonight's free backup beds; `free` is null when nobody has marked them tonight."""

    night: date
    free: int | None
    note: str | None
    updated_at: datetime | None
    updated_by: str | None
