"""Shifts and covers as the API takes and returns them (no phone numbers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.ids import ID_MAX
from dispatch.roster.models import ContactPreference, RotationKind, SwapKind, SwapState

# The most municipalities a shift or rotation may cover: more than a programme can have (千葉県 has 54).
TOWNS_MAX = 100


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
        min_length=1, max_length=TOWNS_MAX, description="municipality ids the physician covers"
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


class SwapIn(BaseModel):
    """A request to give away or trade a shift."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    shift_id: int = Field(ge=1, le=ID_MAX)
    kind: SwapKind
    offered_shift_id: int | None = Field(
        None, ge=1, le=ID_MAX, description="trade: the colleague's shift wanted in return (default: left open)"
    )
    note: str | None = Field(None, max_length=200)


class SwapTakeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_exchange_shift_id: int | None = Field(
        None, ge=1, le=ID_MAX, description="trade: the taker's shift the asker covers in return"
    )


class SwapShift(BaseModel):
    id: int
    physician_id: int
    physician_name: str
    starts_at: datetime
    ends_at: datetime
    coverage: list[str]


class SwapOut(BaseModel):
    id: int
    kind: SwapKind
    state: SwapState
    shift: SwapShift
    asker_id: int
    asker_name: str
    offered_shift: SwapShift | None
    taker_id: int | None
    taker_name: str | None
    exchange_shift: SwapShift | None
    note: str | None
    asked_at: datetime
    taken_at: datetime | None
    decided_at: datetime | None


class SwapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    swaps_need_approval: bool


# --- rotations (issue 17) -----------------------------------------------------------------------------------


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    kind: RotationKind = Field(
        description="weekly: every week; alternate_weeks: every other week from starts_on's week; "
        "weekly_turn: week N from starts_on's week goes to physician_ids[N mod len]"
    )
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        min_length=1, max_length=7, description="0 = Monday .. 6 = Sunday: the nights the rotation covers"
    )
    physician_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, max_length=60, description="substitute physicians, in turn order"
    )
    coverage: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, max_length=TOWNS_MAX, description="municipality ids the rotation's shifts cover"
    )
    starts_on: date = Field(description="first day; also the anchor of alternate weeks and turns")
    ends_on: date | None = None


class RotationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: RotationKind
    weekdays: list[int]
    physician_ids: list[int]
    coverage: list[int]
    starts_on: date
    ends_on: date | None
    active: bool


class MonthGeneratedOut(BaseModel):
    month: str
    created: int
    replaced: int
    kept: int
    skipped: int


class MonthPublishedOut(BaseModel):
    month: str
    published: int


class RosterShiftOut(ShiftOut):
    """A shift in a month's roster, with where it came from and whether it is live."""

    day: date  # the local date its window belongs to
    rotation_id: int | None
    generated: bool
    published: bool
    overridden: bool
    removed: bool


class ShiftOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    physician_id: int | None = Field(None, ge=1, le=ID_MAX, description="give the shift to this physician")
    removed: bool = Field(False, description="true: take the shift off the roster")

    @model_validator(mode="after")
    def one_change(self) -> ShiftOverrideIn:
        if (self.physician_id is None) == (not self.removed):
            raise ValueError("send either physician_id or removed: true")
        return self
