"""Home-care patients, their care profile, and their enrolment under a clinic's contract."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from dispatch.db import Base, JsonDocument, UTCDateTime, db_enum
from dispatch.patients.kana import name_key
from dispatch.programme.models import Municipality


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class EndReason(StrEnum):
    """Why an enrolment ended."""

    deceased = "deceased"
    admitted = "admitted"
    moved = "moved"
    withdrawn = "withdrawn"
    contract_ended = "contract_ended"


def _name_key_of_row(context: Any) -> str:
    """The search key of a row inserted without one (a Core INSERT: the bulk loads, the tests' rows)."""
    row = context.get_current_parameters()
    return name_key(row.get("family_name_kana"), row.get("given_name_kana"))


class Patient(Base):
    """A person cared for at home. Sensitive personal information: every read is audited."""

    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_date_of_birth", "date_of_birth"),  # searched alone, or beside a kana prefix
        # Searched by prefix (LIKE 'インバ%'): PostgreSQL uses a text_pattern_ops index whatever the collation.
        # With the id, the first matches by id come from the index alone (patients.service.search).
        Index(
            "ix_patient_name_kana_key_id",
            "name_kana_key",
            "id",
            postgresql_ops={"name_kana_key": "text_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_name: Mapped[str] = mapped_column(String(50))
    given_name: Mapped[str] = mapped_column(String(50))
    family_name_kana: Mapped[str] = mapped_column(String(50))
    given_name_kana: Mapped[str] = mapped_column(String(50))
    # Family and given kana folded (dispatch/patients/kana.py), kept in step with them on every write.
    name_kana_key: Mapped[str] = mapped_column(String(100), default=_name_key_of_row)
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(db_enum(Sex, 8), default=Sex.unknown)
    household_phone_e164: Mapped[str | None] = mapped_column(String(16), index=True)
    address: Mapped[str] = mapped_column(String(200))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    # Care profile, shown to the consulting physician before a decision.
    diagnoses: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    # {"dnar": true, "wishes": "自宅での看取りを希望", "discussed_on": "2024-05-01"}
    acp: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    devices: Mapped[list[str]] = mapped_column(JsonDocument, default=list)  # e.g. 在宅酸素, 胃ろう
    # {"name": ..., "relation": ..., "phone": ...}
    key_person: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)

    municipality: Mapped[Municipality] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="patient", order_by="Enrolment.enrolled_on"
    )

    @validates("family_name_kana", "given_name_kana")
    def _keep_name_key(self, field: str, value: str) -> str:
        family = value if field == "family_name_kana" else self.family_name_kana
        given = value if field == "given_name_kana" else self.given_name_kana
        self.name_kana_key = name_key(family, given)
        return value


class Enrolment(Base):
    """A patient registered under a clinic's contract, with their consent."""

    __tablename__ = "enrolment"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= enrolled_on", name="ends_after_start"),
        CheckConstraint(
            "(ended_on IS NULL AND ended_at IS NULL AND end_reason IS NULL)"
            " OR (ended_on IS NOT NULL AND ended_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ending_complete",
        ),
        CheckConstraint(
            "NOT consent_given OR (consent_at IS NOT NULL AND consent_by IS NOT NULL)",
            name="consent_recorded",
        ),
        Index("ix_enrolment_clinic_number", "clinic_id", "clinic_patient_number", unique=True),
        # A search by chart number names no clinic (the caller reads it off the clinic's card).
        Index("ix_enrolment_clinic_patient_number", "clinic_patient_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: the care profile, a call's coverage and the kana search all reach enrolments by patient.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    clinic_patient_number: Mapped[str] = mapped_column(String(32))  # the clinic's own chart number
    attending_physician_id: Mapped[int | None] = mapped_column(ForeignKey("physician.id"))
    enrolled_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)  # the last covered local day
    # The instant from which calls are no longer covered: local midnight after `ended_on`, or the
    # confirmed time of death for a death at home.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[EndReason | None] = mapped_column(db_enum(EndReason, 16, "enrolment_end_reason"))
    ended_by_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))  # whose death record
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_by: Mapped[str | None] = mapped_column(String(100))  # the patient, or who consented for them

    patient: Mapped[Patient] = relationship(back_populates="enrolments")
