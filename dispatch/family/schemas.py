"""What the board reads of the family call-back tasks, and what the operator sends when one is done."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CallbackTaskOut(BaseModel):
    """A case waiting for a physician past the threshold: call the family back (its reference only)."""

    model_config = ConfigDict(from_attributes=True)

    case_id: int
    reference: str
    waiting_since: datetime = Field(description="when the visit was decided")
    waiting_min: int


class CalledBackIn(BaseModel):
    """The operator called the family back."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(
        None, max_length=500, description="what the family was told, e.g. 手配中とお伝えした"
    )
