"""The coordinator's picker as the API gives it: physician phones, never patient data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from dispatch.cases.states import CaseState
from dispatch.matching.picker import Status, StopReason


class OfferingStoppedOut(BaseModel):
    """Why automatic offering stopped for the case (or, while it goes on, why the coordinator was alerted)."""

    reason_code: StopReason
    detail: str = Field(description="in Japanese, e.g. 当番の代診医がいません（印西市）")
    municipality: str | None = None
    count: int | None = Field(None, description="physicians concerned, or the limit of offers")


class CandidateOut(BaseModel):
    physician_id: int
    name: str
    phone_e164: str | None
    phone: str | None = Field(description="national format, e.g. 090-1111-0101")
    on_shift: bool
    covers_town: bool = Field(description="on shift for the case's municipality")
    shift_until: datetime | None
    travel_min: int | None = Field(description="estimated minutes to the patient by car")
    status: Status
    other_case_id: int | None
    other_case_reference: str | None
    area: str | None = Field(
        None, description="on call in a neighbouring area (cross-area backup, 広域連携): its name, e.g. 印旛"
    )


class CandidatesOut(BaseModel):
    case_id: int
    reference: str
    state: CaseState
    alarm: bool
    municipality: str | None
    offering_stopped: OfferingStoppedOut | None
    physicians: list[CandidateOut]
