"""Clinics under contract and the periods of their contracts."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, db_enum


class ClinicKind(StrEnum):
    clinic = "clinic"  # 診療所・クリニック
    hospital = "hospital"  # 病院


class Clinic(Base):
    """A medical institution whose home-care patients the programme backs up."""

    __tablename__ = "clinic"
    __table_args__ = (UniqueConstraint("programme_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    label: Mapped[str] = mapped_column(String(64))  # the name shown in the prefecture's table
    kind: Mapped[ClinicKind] = mapped_column(db_enum(ClinicKind, 16))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    # Handoff reports are announced to this number each morning.
    handoff_phone: Mapped[str | None] = mapped_column(String(16))
    # The seed marks clinics that started house calls thanks to the programme.
    newly_started_house_calls: Mapped[bool] = mapped_column(Boolean, default=False)

    contract_periods: Mapped[list[ContractPeriod]] = relationship(
        back_populates="clinic", order_by="ContractPeriod.start_month"
    )


class ContractPeriod(Base):
    """A stretch of months in which the clinic's patients are covered; starts on a month's first day."""

    __tablename__ = "contract_period"
    __table_args__ = (
        CheckConstraint("end_month IS NULL OR end_month >= start_month", name="ends_after_start"),
        UniqueConstraint("clinic_id", "start_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    start_month: Mapped[date] = mapped_column(Date)
    end_month: Mapped[date | None] = mapped_column(Date)  # last covered month, inclusive

    clinic: Mapped[Clinic] = relationship(back_populates="contract_periods")


def contract_covers(start_month: date, end_month: date | None, day: date) -> bool:
    """Whether `day` falls inside a contract from `start_month` to `end_month` (inclusive, or open)."""
    if day < start_month:
        return False
    if end_month is None:
        return True
    return (day.year, day.month) <= (end_month.year, end_month.month)
