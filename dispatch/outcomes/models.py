"""The outcome of a house call, and the death record for a death at home (医師法 20/21条)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JsonDocument, UTCDateTime, db_enum


class OutcomeCode(StrEnum):
    treated_at_home = "treated_at_home"
    transported_admitted = "transported_admitted"
    death_pronounced = "death_pronounced"  # 看取り
    no_contact = "no_contact"


class CertificateBy(StrEnum):
    substitute = "substitute"  # the visiting substitute physician issues the death certificate
    attending = "attending"  # the attending physician issues it later


class VisitOutcome(Base):
    """One per house call; recorded by the substitute physician (details link) or an operator."""

    __tablename__ = "visit_outcome"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    outcome: Mapped[OutcomeCode] = mapped_column(db_enum(OutcomeCode, 32))
    findings: Mapped[str | None] = mapped_column(Text)
    treatment: Mapped[str | None] = mapped_column(Text)
    medication: Mapped[str | None] = mapped_column(Text)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where a transported_admitted patient went: a hospital on the list, or in words for one that is not.
    destination_hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospital.id"))
    destination_note: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeathRecord(Base):
    """What the law and the family need when a patient dies at home."""

    __tablename__ = "death_record"

    case_id: Mapped[int] = mapped_column(ForeignKey("visit_outcome.case_id"), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the family noticed
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 死亡確認
    confirming_physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"))
    related_to_treated_disease: Mapped[bool] = mapped_column(Boolean)
    certificate_by: Mapped[CertificateBy] = mapped_column(db_enum(CertificateBy, 16))
    police_informed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)


class OutcomeAmendment(Base):
    """A correction of a recorded outcome: the version it replaced and the one it wrote, who, when and why.
    Rows are never updated or deleted, so nothing once recorded is lost (the first row's `before` is the
    original)."""

    __tablename__ = "outcome_amendment"
    __table_args__ = (Index("ix_outcome_amendment_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    amended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amended_by: Mapped[str] = mapped_column(String(100))  # the actor: "user:coord1", "link:physician-3"
    amended_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)
    # The outcome with its death record (or null), times as ISO 8601: see outcomes.service.snapshot.
    before: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    after: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
