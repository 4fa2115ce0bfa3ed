"""A submission over HTTP: counts only, never a patient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = int | float | None


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (Asia/Tokyo); the month must have ended")
    note: str | None = Field(None, max_length=2000, description="e.g. why it is submitted again")


class Difference(BaseModel):
    """One number that is not what was submitted."""

    path: str  # e.g. by_clinic.A診療所.house_calls
    section: str  # totals, by_clinic, by_municipality, call_to_decision, offers_declined, …
    name: str | None  # the clinic or municipality (None for a section's own numbers)
    field: str  # consultations, house_calls, median_min, …
    submitted: Number
    now: Number


class SubmissionOut(BaseModel):
    month: str
    version: int
    submitted_at: datetime
    submitted_by: str  # the submitter's display name at the time
    submitted_by_id: int
    note: str | None
    latest: bool  # the highest version: "the submitted figures"
    changed_since: bool  # the figures now differ from this version's


class SubmissionDetail(SubmissionOut):
    submitted: dict[str, Any]  # the monthly report's row for the month, as frozen
    now: dict[str, Any]  # the same row computed now
    differences: list[Difference]  # every number that changed since; empty when unchanged
    versions: list[SubmissionOut]  # every version of the month, newest first
