"""Physicians and the substitute physicians' shifts with their coverage."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, JsonDocument, UTCDateTime, db_enum
from dispatch.programme.models import Municipality


class PhysicianRole(StrEnum):
    attending = "attending"  # 主治医・かかりつけ医
    consulting = "consulting"  # 受電時に往診適否の相談をする医師
    substitute = "substitute"  # 代診医


class ContactPreference(StrEnum):
    """How an offer reaches the physician: SMS alone, or SMS and then a call while it goes unanswered."""

    sms_only = "sms_only"
    sms_then_call = "sms_then_call"


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
    contact: Mapped[ContactPreference] = mapped_column(
        db_enum(ContactPreference, 16, name="contact"),
        default=ContactPreference.sms_then_call,
        server_default=ContactPreference.sms_then_call.value,
    )
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
    # A shift made from a rotation: its rotation, the local date its window belongs to, whether it is live
    # yet (hand-made shifts are), whether the coordinator changed it by hand (a re-generate keeps it), and
    # whether it was taken off the roster (kept, so a re-generate does not bring it back; never live).
    rotation_id: Mapped[int | None] = mapped_column(ForeignKey("rotation.id", ondelete="SET NULL"))
    rotation_day: Mapped[date | None] = mapped_column(Date, index=True)
    generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    overridden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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


class SwapKind(StrEnum):
    give_away = "give_away"  # the asker gives the shift away
    trade = "trade"  # the taker gives one of theirs in return


class SwapState(StrEnum):
    open = "open"  # asked, waiting for a colleague
    taken = "taken"  # a colleague took it; waiting for the coordinator's approval
    approved = "approved"  # applied: the taker covers the shift (and, in a trade, the asker theirs)
    rejected = "rejected"  # the coordinator refused it
    cancelled = "cancelled"  # the asker withdrew it before approval


class ShiftSwap(Base):
    """A physician's request to give away or trade a shift, and what became of it. An approved swap is
    written as covers (`ShiftCover`, noted with the swap's number): the roster keeps who was rostered."""

    __tablename__ = "shift_swap"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SwapKind] = mapped_column(db_enum(SwapKind, 16))
    state: Mapped[SwapState] = mapped_column(db_enum(SwapState, 16))
    asker_id: Mapped[int] = mapped_column(ForeignKey("physician.id"))
    # A trade may name the colleague's shift wanted in return, or leave it to whoever takes it.
    offered_shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"))
    taker_id: Mapped[int | None] = mapped_column(ForeignKey("physician.id"))
    exchange_shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    shift: Mapped[Shift] = relationship(foreign_keys=[shift_id])
    asker: Mapped[Physician] = relationship(foreign_keys=[asker_id])
    taker: Mapped[Physician | None] = relationship(foreign_keys=[taker_id])
    exchange_shift: Mapped[Shift | None] = relationship(foreign_keys=[exchange_shift_id])


class RotationKind(StrEnum):
    weekly = "weekly"  # on the given weekdays, every week (e.g. every Monday night)
    alternate_weeks = "alternate_weeks"  # on the given weekdays, every other week from `starts_on`'s week
    weekly_turn = "weekly_turn"  # week N from `starts_on`'s week goes to physician N mod len


rotation_coverage = Table(
    "rotation_coverage",
    Base.metadata,
    Column("rotation_id", ForeignKey("rotation.id", ondelete="CASCADE"), primary_key=True),
    Column("municipality_id", ForeignKey("municipality.id"), primary_key=True),
)


class Rotation(Base):
    """A recurring pattern of on-call nights over the service hours, from which a month's shifts are made."""

    __tablename__ = "rotation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[RotationKind] = mapped_column(db_enum(RotationKind, 16))
    weekdays: Mapped[list[Any]] = mapped_column(JsonDocument)  # 0 = Monday .. 6 = Sunday
    physician_ids: Mapped[list[Any]] = mapped_column(JsonDocument)  # in turn order
    starts_on: Mapped[date] = mapped_column(Date)  # also the anchor of alternate weeks and turns
    ends_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    coverage: Mapped[list[Municipality]] = relationship(secondary=rotation_coverage)


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
