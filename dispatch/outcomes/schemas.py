"""What the substitute physician (or an operator) records after a visit."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dispatch.ids import ID_MAX
from dispatch.outcomes.models import CertificateBy, OutcomeCode
from dispatch.times import check_time


class DeathIn(BaseModel):
    """The death record (医師法 20/21条)."""

    model_config = ConfigDict(extra="forbid")

    noticed_at: datetime = Field(description="when the family or carer noticed")
    confirmed_at: datetime = Field(description="死亡確認 by the visiting physician")
    related_to_treated_disease: bool
    certificate_by: CertificateBy = Field(description="who issues the death certificate")
    police_informed: bool
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> DeathIn:
        check_time("noticed_at", self.noticed_at)
        check_time("confirmed_at", self.confirmed_at)
        if self.confirmed_at < self.noticed_at:
            raise ValueError("confirmed_at: cannot be before noticed_at")
        return self


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: OutcomeCode
    findings: str | None = Field(None, max_length=4000)
    treatment: str | None = Field(None, max_length=4000)
    medication: str | None = Field(None, max_length=2000)
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    ended_at: datetime | None = None
    death: DeathIn | None = None
    destination_hospital_id: int | None = Field(
        None, ge=1, le=ID_MAX, description="transported_admitted: where to"
    )
    destination_note: str | None = Field(
        None, max_length=200, description="a hospital not on the list, in words"
    )

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeIn:
        for name in ("departed_at", "arrived_at", "ended_at"):
            check_time(name, getattr(self, name))
        times = [(n, getattr(self, n)) for n in ("departed_at", "arrived_at", "ended_at") if getattr(self, n)]
        for (a, ta), (b, tb) in itertools.pairwise(times):
            if tb < ta:
                raise ValueError(f"{b}: cannot be before {a}")
        if self.outcome is OutcomeCode.death_pronounced and self.death is None:
            raise ValueError("death: a death pronounced at home needs the death record")
        if self.outcome is not OutcomeCode.death_pronounced and self.death is not None:
            raise ValueError("death: only for the outcome death_pronounced")
        return self

    @model_validator(mode="after")
    def _destination_given(self) -> OutcomeIn:
        return self._destination()

    def _destination(self) -> OutcomeIn:
        """A transport names where it went (a listed hospital or in words); nothing else may."""
        transported = self.outcome is OutcomeCode.transported_admitted
        given = self.destination_hospital_id is not None or bool(
            self.destination_note and self.destination_note.strip()
        )
        if transported and not given:
            raise ValueError(
                "destination_hospital_id: a transport needs its destination (a hospital on the list, "
                "or destination_note)"
            )
        if not transported and (self.destination_hospital_id is not None or self.destination_note):
            raise ValueError("destination_hospital_id: only for the outcome transported_admitted")
        return self


class OutcomeOut(OutcomeIn):
    model_config = ConfigDict(extra="ignore")

    case_id: int
    recorded_by: str
    recorded_at: datetime
    destination_hospital_name: str | None = None

    def _destination(self) -> OutcomeOut:
        return self  # an outcome recorded before destinations were asked for is still read


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class OutcomeCorrectionIn(OutcomeIn):
    """An outcome recorded by an operator; when it corrects one already recorded, why (default 訂正)."""

    reason: Reason | None = Field(None, description="why a recorded outcome is corrected (default 訂正)")


class AmendmentIn(OutcomeIn):
    """The whole corrected outcome (with the death record, or none) and why it is corrected."""

    reason: Reason = Field(description="why the recorded outcome is corrected, e.g. 死亡確認時刻の記載誤り")


class AmendmentOut(BaseModel):
    """One kept version: the outcome and death record before and after, times as ISO 8601."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    amended_at: datetime
    amended_by: str
    amended_by_user_id: int | None
    amended_by_name: str | None = None
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
