"""Hospitals (在宅療養後方支援病院 and others) and, per night, how many of their backup beds are free."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime


class Hospital(Base):
    """A hospital a home patient may be transported to, with the beds it keeps for them (在宅療養支援病床)."""

    __tablename__ = "hospital"
    __table_args__ = (
        UniqueConstraint("programme_id", "name"),
        CheckConstraint("backup_beds >= 0", name="backup_beds_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    name: Mapped[str] = mapped_column(String(100))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    night_phone: Mapped[str | None] = mapped_column(String(16))  # the night desk, E.164
    backup_support: Mapped[bool] = mapped_column(Boolean, default=False)  # 在宅療養後方支援病院
    backup_beds: Mapped[int] = mapped_column(Integer, default=0)  # beds held for home patients at night
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BedReport(Base):
    """How many backup beds were free on a night, as someone marked it; the latest of a night wins."""

    __tablename__ = "backup_bed_report"
    __table_args__ = (
        CheckConstraint("free >= 0", name="free_not_negative"),
        Index("ix_backup_bed_report_hospital_night", "hospital_id", "night"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospital.id", ondelete="CASCADE"))
    night: Mapped[date] = mapped_column(Date)  # the local date the night starts on
    free: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))
    reported_by: Mapped[str] = mapped_column(String(100))  # "user:coordinator", or a case's transport
    reported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
