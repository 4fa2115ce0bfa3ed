"""The triage queue and the consulting physician's decision."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.cases.states import CaseState, Disposition, Urgency

# Which JTAS levels sit with which #7119 colour; a pair outside this is almost certainly a slip.
JTAS_BY_URGENCY = {
    Urgency.red: {1, 2},
    Urgency.orange: {2, 3},
    Urgency.yellow: {3, 4},
    Urgency.green: {4, 5},
    Urgency.white: {5},
}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: Disposition
    urgency: Urgency = Field(description="#7119 colour: red, orange, yellow, green, white")
    jtas_level: int = Field(ge=1, le=5, description="JTAS level 1 (resuscitation) to 5 (non-urgent)")
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _jtas_fits_colour(self) -> Decision:
        allowed = JTAS_BY_URGENCY[self.urgency]
        if self.jtas_level not in allowed:
            levels = " or ".join(str(level) for level in sorted(allowed))
            raise ValueError(
                f"jtas_level {self.jtas_level} does not fit urgency {self.urgency.value}; use {levels}"
            )
        return self


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class QueueItem(BaseModel):
    id: int
    reference: str
    state: CaseState
    urgency: Urgency | None
    called_at: datetime
    waiting_s: int
    in_service_hours: bool
    in_contract: bool
    clinic_id: int | None
    municipality_id: int | None
    claimed_by_physician_id: int | None
    claimed_at: datetime | None
    claim_idle: bool
