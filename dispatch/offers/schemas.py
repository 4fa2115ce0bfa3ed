"""Offers as the dispatch view shows them, and the coordinator's hand moves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch.ids import ID_MAX
from dispatch.offers.models import OfferState


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    physician_id: int
    attempt: int
    state: OfferState
    manual: bool
    estimated_travel_min: int | None
    from_area_id: int | None = Field(
        None, description="cross-area backup (広域連携): the physician's area, when it is not the case's"
    )
    created_at: datetime
    sms_sent_at: datetime | None
    deadline_at: datetime
    responded_at: datetime | None


# A hand move on a case someone holds names whom it relieves: of two coordinators at once, one wins.
ReplacesPhysician = Annotated[
    int | None,
    Field(
        ge=1,
        le=ID_MAX,
        description="the physician you saw holding the case, to relieve (unset: you saw it unassigned); "
        "if another holds it now, the answer is 409 naming them",
    ),
]


class ManualOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    physician_id: int = Field(ge=1, le=ID_MAX)
    replaces_physician_id: ReplacesPhysician = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    physician_id: int = Field(ge=1, le=ID_MAX)
    reason: str = Field(min_length=1, max_length=500, description="e.g. 電話で依頼し承諾を得た")
    replaces_physician_id: ReplacesPhysician = None


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Literal["en_route", "arrived", "completed"]
