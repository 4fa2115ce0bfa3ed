"""Shifts and covers as the API takes and returns them (no phone numbers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dispatch.ids import ID_MAX
from dispatch.roster.models import ContactPreference


class ShiftOut(BaseModel):
    id: int
    physician_id: int
    physician_name: str
    starts_at: datetime
    ends_at: datetime
    coverage: list[str]


class OnCallOut(BaseModel):
    physician_id: int
    physician_name: str
    shift_id: int
    municipality_ids: list[int]
    until: datetime
    covering_for: int | None


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    physician_id: int = Field(ge=1, le=ID_MAX)
    starts_at: datetime
    ends_at: datetime
    coverage: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, description="municipality ids the physician covers"
    )


class CoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    covering_physician_id: int = Field(ge=1, le=ID_MAX)
    starts_at: datetime | None = Field(None, description="default: the shift's start")
    ends_at: datetime | None = Field(None, description="default: the shift's end")
    note: str | None = Field(None, max_length=200)


class CoverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shift_id: int
    covering_physician_id: int
    starts_at: datetime
    ends_at: datetime
    note: str | None


class PhysicianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    base_municipality_id: int | None
    contact: ContactPreference  # sms_only, or sms_then_call (an unanswered offer SMS is followed by a call)
