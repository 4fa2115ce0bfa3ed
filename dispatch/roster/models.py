"""Physicians and the substitute physicians' shifts with their coverage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, UTCDateTime, db_enum
from dispatch.programme.models import Municipality


class PhysicianRole(StrEnum):
    attending = "attending"  # 主治医・かかりつけ医
    consulting = "consulting"  # 受電時に往診適否の相談をする医師
    substitute = "substitute"  # 代診医


class NoPhone(LookupError):
    """The roster has no mobile number for the physician: no SMS can reach them."""


class Physician(Base):
    """A physician known to the programme, in one role."""

    __tablename__ = "physician"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[PhysicianRole] = mapped_column(db_enum(PhysicianRole, 16))
    phone_e164: Mapped[str | None] = mapped_column(String(16), unique=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    base_municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    base_latitude: Mapped[float | None] = mapped_column(Float)
    base_longitude: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A reminder SMS before each of their shifts (`flow.shift_reminders`); the physician may turn it off.
    shift_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    shifts: Mapped[list[Shift]] = relationship(back_populates="physician", order_by="Shift.starts_at")

    def sms_phone(self) -> str:
        """The number an SMS to this physician goes to; NoPhone if the roster has none."""
        if self.phone_e164 is None:
            raise NoPhone(f"physician {self.id} has no phone number")
        return self.phone_e164


shift_coverage = Table(
    "shift_coverage",
    Base.metadata,
    Column("shift_id", ForeignKey("shift.id", ondelete="CASCADE"), primary_key=True),
    Column("municipality_id", ForeignKey("municipality.id"), primary_key=True),
)


class Shift(Base):
    """A substitute physician on call from `starts_at` to `ends_at`, for some municipalities."""

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_shift_window", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))

    physician: Mapped[Physician] = relationship(back_populates="shifts")
    coverage: Mapped[list[Municipality]] = relationship(secondary=shift_coverage)

    def covers(self, instant: datetime) -> bool:
        """Whether the shift is running at `instant` (start inclusive, end exclusive)."""
        return self.starts_at <= instant < self.ends_at


class ShiftCover(Base):
    """An override: `covering_physician` takes all or part of a shift, with its coverage area."""

    __tablename__ = "shift_cover"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id", ondelete="CASCADE"), index=True)
    covering_physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))


class CalendarToken(Base):
    """A physician's private calendar feed (`/calendar/{token}.ics`): only the token's SHA-256 is kept."""

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShiftReminder(Base):
    """The reminder SMS for one physician's turn on a shift (from `starts_at`): written once, so sent once."""

    __tablename__ = "shift_reminder"
    __table_args__ = (UniqueConstraint("shift_id", "physician_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id", ondelete="CASCADE"))
    physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sms_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_message.id"))
    reminded_at: Mapped[datetime] = mapped_column(UTCDateTime)
