"""Handoff reports as clinics and coordinators see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from dispatch.cases.states import CaseState, Disposition, Urgency


class HandoffOut(BaseModel):
    id: int
    clinic_id: int
    clinic_label: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    flagged_at: datetime | None
    cases: int


class HandoffCase(BaseModel):
    id: int
    reference: str
    called_at: datetime
    state: CaseState
    disposition: Disposition | None
    urgency: Urgency | None
    patient_id: int | None
    patient_name: str | None = None  # the attending physician must know whose night it was
    clinic_patient_number: str | None = None  # the clinic's own chart number
    chief_complaint: str | None
    triage_note: str | None
    outcome: str | None


class HandoffDetail(HandoffOut):
    items: list[HandoffCase]
