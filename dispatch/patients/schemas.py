"""The care profile shown before a triage decision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.ids import ID_MAX
from dispatch.patients.models import EndReason, Sex
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.times import time_problem


class EnrolmentOut(BaseModel):
    id: int
    clinic_id: int
    clinic_label: str
    clinic_patient_number: str
    attending_physician: str | None
    enrolled_on: date
    ended_on: date | None  # the last covered day
    ended_at: datetime | None  # calls from this instant are not covered
    end_reason: EndReason | None
    ended_by_case_id: int | None  # the case whose death record ended it
    consent_given: bool


class CareProfileOut(BaseModel):
    id: int
    name: str
    name_kana: str
    date_of_birth: date
    sex: str
    address: str
    municipality: str
    diagnoses: list[str]
    acp: dict[str, Any]
    devices: list[str]
    key_person: dict[str, Any]
    enrolments: list[EnrolmentOut]


class PatientMatch(BaseModel):
    """One candidate for the patient a caller describes."""

    id: int
    name: str
    name_kana: str
    date_of_birth: date
    sex: Sex
    clinic_id: int
    clinic_label: str
    clinic_patient_number: str
    municipality: str
    enrolment_id: int
    ended_on: date | None  # set when this enrolment has ended
    end_reason: EndReason | None


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clinic_id: int = Field(ge=1, le=ID_MAX)
    clinic_patient_number: str = Field(min_length=1, max_length=32)
    attending_physician_id: int | None = Field(None, ge=1, le=ID_MAX)
    enrolled_on: date
    consent_given: bool
    consent_at: datetime | None = None
    consent_by: str | None = Field(None, max_length=100, description="the patient, or who consented for them")


class PatientIn(BaseModel):
    """A patient enrolled under a clinic's contract, with their care profile."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    family_name: str = Field(min_length=1, max_length=50)
    given_name: str = Field(min_length=1, max_length=50)
    family_name_kana: str = Field(min_length=1, max_length=50)
    given_name_kana: str = Field(min_length=1, max_length=50)
    date_of_birth: date
    sex: Sex = Sex.unknown
    household_phone: str | None = Field(None, max_length=32)
    address: str = Field(min_length=1, max_length=200)
    municipality_id: int = Field(ge=1, le=ID_MAX)
    latitude: float | None = Field(None, ge=20, le=46)
    longitude: float | None = Field(None, ge=122, le=154)
    diagnoses: list[str] = Field(default_factory=list, max_length=50)
    acp: dict[str, Any] = Field(default_factory=dict)
    devices: list[str] = Field(default_factory=list, max_length=50)
    key_person: dict[str, Any] = Field(default_factory=dict)
    enrolment: EnrolmentIn

    @model_validator(mode="after")
    def _consent(self) -> PatientIn:
        e = self.enrolment
        if e.consent_given and (e.consent_at is None or not e.consent_by):
            raise ValueError("enrolment.consent_at and consent_by: say when and by whom consent was given")
        if e.consent_at is not None and (problem := time_problem(e.consent_at)):
            raise ValueError(f"enrolment.consent_at: {problem}")
        if not date(1890, 1, 1) <= self.date_of_birth <= date.today():
            raise ValueError(f"date_of_birth: {self.date_of_birth.isoformat()} is not a possible date of birth")
        return self


class PatientCreated(BaseModel):
    id: int
    enrolment_id: int


class PatientSearch(BaseModel):
    """What the caller said; at least one of these."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clinic_patient_number: str | None = Field(None, min_length=1, max_length=32)
    household_phone: str | None = Field(None, max_length=32, description="e.g. 043-123-4567")
    name_kana: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="kana (katakana, hiragana or half-width; spaces ignored); a prefix is enough",
    )
    date_of_birth: date | None = None

    @model_validator(mode="after")
    def _something(self) -> PatientSearch:
        if not any((self.clinic_patient_number, self.household_phone, self.name_kana, self.date_of_birth)):
            raise ValueError(
                "give clinic_patient_number, household_phone, name_kana or date_of_birth to search by"
            )
        if self.household_phone:
            try:
                self.household_phone = to_e164(self.household_phone)
            except InvalidPhoneNumber as exc:
                raise ValueError(f"household_phone: {exc}") from None
        return self


class EndingIn(BaseModel):
    """The enrolment's last covered day and why it ended."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ended_on: date = Field(description="the last covered day (local); calls after it are out of contract")
    reason: EndReason
    note: str | None = Field(None, max_length=500)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500, description="why the ending is undone, e.g. 入力誤り")


class EnrolmentState(BaseModel):
    """An enrolment after it was ended or reopened."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    clinic_id: int
    enrolled_on: date
    ended_on: date | None
    ended_at: datetime | None
    end_reason: EndReason | None
    ended_by_case_id: int | None
