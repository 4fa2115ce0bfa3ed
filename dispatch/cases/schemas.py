"""Intake and case bodies. Validation messages name the field and the problem in plain words."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dispatch.cases.states import CaseEnding, CaseState, Disposition, Urgency
from dispatch.ids import ID_MAX
from dispatch.phones import InvalidPhoneNumber, is_mobile, to_e164
from dispatch.times import time_problem


class CallerRelation(StrEnum):
    family = "family"
    visiting_nurse = "visiting_nurse"
    care_facility = "care_facility"
    patient = "patient"
    care_manager = "care_manager"
    other = "other"


class Consciousness(StrEnum):
    """AVPU, as an operator can tell it on the phone."""

    alert = "alert"
    responds_to_voice = "responds_to_voice"
    responds_to_pain = "responds_to_pain"
    unresponsive = "unresponsive"
    unknown = "unknown"


class Breathing(StrEnum):
    normal = "normal"
    laboured = "laboured"
    irregular = "irregular"
    absent = "absent"
    unknown = "unknown"


class AttendingUnavailable(StrEnum):
    no_answer = "no_answer"
    attending_away = "attending_away"
    attending_asked_for_backup = "attending_asked_for_backup"
    no_night_cover = "no_night_cover"
    other = "other"


class Vitals(BaseModel):
    """Vital signs when the caller can read them; every one is optional."""

    model_config = ConfigDict(extra="forbid")

    temperature_c: float | None = Field(None, ge=30, le=45)
    pulse_bpm: int | None = Field(None, ge=0, le=300)
    systolic_bp: int | None = Field(None, ge=0, le=300)
    diastolic_bp: int | None = Field(None, ge=0, le=250)
    spo2_percent: int | None = Field(None, ge=0, le=100)
    respiratory_rate: int | None = Field(None, ge=0, le=80)


class PatientRef(BaseModel):
    """How the operator identified the patient: exactly one way, or `unidentified`."""

    model_config = ConfigDict(extra="forbid")

    patient_id: int | None = Field(None, ge=1, le=ID_MAX)
    clinic_id: int | None = Field(
        None, ge=1, le=ID_MAX, description="narrows clinic_patient_number to one clinic"
    )
    clinic_patient_number: str | None = Field(None, min_length=1, max_length=32)
    household_phone: str | None = Field(None, max_length=32)
    name_kana: str | None = Field(
        None, min_length=1, max_length=100, description="family and given, in katakana"
    )
    date_of_birth: date | None = None
    unidentified: bool = False
    municipality_id: int | None = Field(None, ge=1, le=ID_MAX, description="where an unidentified patient is")

    @field_validator("household_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise ValueError(f"{exc}; write it as 090-1234-5678 or 043-123-4567") from None

    @field_validator("date_of_birth")
    @classmethod
    def _born_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and not date(1890, 1, 1) <= value <= date.today():
            raise ValueError(f"{value.isoformat()} is not a possible date of birth")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> PatientRef:
        ways = [
            self.patient_id is not None,
            self.clinic_patient_number is not None,
            self.household_phone is not None,
            self.name_kana is not None or self.date_of_birth is not None,
            self.unidentified,
        ]
        if sum(ways) != 1:
            raise ValueError(
                "identify the patient one way: patient_id, clinic_patient_number, household_phone, "
                "name_kana with date_of_birth, or unidentified=true"
            )
        if (self.name_kana is None) != (self.date_of_birth is None):
            raise ValueError("name_kana and date_of_birth go together")
        return self


class IntakeRequest(BaseModel):
    """A call as the operator logs it."""

    model_config = ConfigDict(extra="forbid")

    patient: PatientRef
    called_at: datetime | None = Field(None, description="when the call came in; now if absent")
    caller_name: str | None = Field(None, max_length=100)
    caller_relation: CallerRelation
    callback_phone: str = Field(max_length=32)
    chief_complaint: str = Field(min_length=1, max_length=2000)
    onset: str | None = Field(None, max_length=200, description="e.g. 30分前から")
    consciousness: Consciousness = Consciousness.unknown
    breathing: Breathing = Breathing.unknown
    pain_score: int | None = Field(None, ge=0, le=10)
    vitals: Vitals = Field(default_factory=Vitals)
    attending_unavailable: AttendingUnavailable
    attending_unavailable_note: str | None = Field(None, max_length=500)
    provisional_urgency: Urgency | None = None
    family_updates_consent: bool = Field(
        False, description="the caller agreed to SMS updates (the doctor's arrival time) to the callback number"
    )

    @field_validator("callback_phone")
    @classmethod
    def _callback(cls, value: str) -> str:
        try:
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise ValueError(f"{exc}; write it as 090-1234-5678 or 043-123-4567") from None

    @field_validator("family_updates_consent")
    @classmethod
    def _to_a_mobile(cls, value: bool, info: ValidationInfo) -> bool:
        phone = info.data.get("callback_phone")
        if value and phone is not None and not is_mobile(phone):
            raise ValueError(
                "SMS updates need a mobile callback number (070, 080 or 090); this one is a landline"
            )
        return value

    @field_validator("called_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if problem := time_problem(value):
            raise ValueError(problem)
        return value


class CaseOut(BaseModel):
    """A case as the board lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    state: CaseState
    programme_id: int = Field(description="the programme (and so the medical area) the case belongs to")
    patient_id: int | None
    clinic_id: int | None
    municipality_id: int | None
    called_at: datetime
    in_service_hours: bool
    service_hours_rule_version: int
    in_contract: bool
    provisional_urgency: Urgency | None
    urgency: Urgency | None
    jtas_level: int | None
    disposition: Disposition | None
    triage_physician_id: int | None
    triage_claimed_at: datetime | None
    assigned_physician_id: int | None
    current_offer_id: int | None
    decided_at: datetime | None
    accepted_at: datetime | None
    arrived_at: datetime | None
    coordinator_alerted_at: datetime | None
    alarm: bool = Field(
        description="the coordinator's alarm is live: alerted, and the case still waits for a physician"
    )
    updated_at: datetime
    closed_at: datetime | None
    ended_because: CaseEnding | None = Field(None, description="why the case ended before a visit, if it did")
    visiting_area_id: int | None = Field(
        None,
        description="cross-area backup (広域連携): the area of the accepted physician, when not the case's",
    )


class CaseEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    from_state: CaseState | None
    to_state: CaseState | None
    actor: str
    actor_name: str | None = Field(
        None, description="the person behind the actor: a user's or physician's name"
    )
    reason: str | None
    data: dict[str, Any]


class CaseDetail(CaseOut):
    """A case with what was said on the phone and its whole timeline."""

    caller_name: str | None
    caller_relation: str | None
    callback_phone_e164: str | None
    family_updates_consent: bool = False
    chief_complaint: str | None
    intake: dict[str, Any]
    triage_note: str | None
    timeline: list[CaseEventOut]


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500, description="why the case is cancelled, e.g. 重複")


class EndingRequest(BaseModel):
    """Ending a case before the visit (the family called 119, closed unfilled): the reason is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(
        min_length=1, max_length=500, description="what happened, e.g. 家族が119番通報、救急搬送"
    )


class LinkPatientIn(BaseModel):
    """The patient an unidentified call turned out to be about."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    patient_id: int = Field(ge=1, le=ID_MAX)
    reason: str | None = Field(None, max_length=500, description="how the patient was identified")
