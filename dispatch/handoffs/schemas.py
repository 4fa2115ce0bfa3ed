"""Handoff reports as clinics and coordinators see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from dispatch.cases.states import CaseEnding, CaseState, Disposition, Urgency
from dispatch.outcomes.models import CertificateBy


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


class HandoffRequest(BaseModel):
    """A clinic's report made now, on the coordinator's word."""

    clinic_id: int = Field(ge=1, le=2_147_483_647)


class HandoffDeath(BaseModel):
    """The death record as the attending physician needs it to carry on (医師法 20/21条)."""

    noticed_at: datetime
    confirmed_at: datetime
    confirming_physician_id: int
    confirming_physician_name: str | None
    related_to_treated_disease: bool
    certificate_by: CertificateBy
    police_informed: bool
    note: str | None


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
    ended_because: CaseEnding | None = None  # a visit decided but not made: why
    visiting_physician_name: str | None = None
    findings: str | None = None
    treatment: str | None = None
    medication: str | None = None  # given at the visit
    visit_arrived_at: datetime | None = None
    visit_ended_at: datetime | None = None
    death: HandoffDeath | None = None


class HandoffDetail(HandoffOut):
    items: list[HandoffCase]
