"""The coordinator told of tonight's coverage gap: once per night (the board shows it until it is filled)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime


class CoverageGapAlert(Base):
    """A night found with a municipality short of physicians on call, and the coordinator alerted."""

    __tablename__ = "coverage_gap_alert"
    __table_args__ = (UniqueConstraint("programme_id", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    night: Mapped[date] = mapped_column(Date)  # the local date the night starts on
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    towns: Mapped[int] = mapped_column(Integer)  # how many municipalities were short when alerted
