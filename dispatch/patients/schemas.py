"""The care profile shown before a triage decision."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class EnrolmentOut(BaseModel):
    clinic_id: int
    clinic_label: str
    clinic_patient_number: str
    attending_physician: str | None
    enrolled_on: date
    ended_on: date | None
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
    clinic_id: int
    clinic_label: str
    clinic_patient_number: str
    municipality: str
