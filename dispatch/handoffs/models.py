"""A morning handoff report to one clinic, and the cases it carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime

handoff_case = Table(
    "handoff_case",
    Base.metadata,
    Column("handoff_id", ForeignKey("handoff.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", ForeignKey("case.id"), primary_key=True),
)


class Handoff(Base):
    """申し送り: the night's cases for one clinic, made each morning, acknowledged by the clinic."""

    __tablename__ = "handoff"
    __table_args__ = (UniqueConstraint("clinic_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unacknowledged by noon
