"""The reports' cache of ended months (PostgreSQL): each (programme, month)'s figures, computed on first read
and deleted by triggers (migration 0028) whenever a row they count changes, so a stale month is recomputed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JsonDocument, UTCDateTime


class ReportMonth(Base):
    """One ended month's figures of one programme (`scope` = its id) or of every programme (`scope` = 0)."""

    __tablename__ = "report_month"

    scope: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, Asia/Tokyo
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "tallies" (fiscal year) or "monthly"
    payload: Mapped[Any] = mapped_column(JsonDocument)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportMonthStamp(Base):
    """The version of what a cached month depends on: (programme or 0, month), bumped by the triggers of
    migration 0029 on a change to an ended month; (-1, 'names') and (-1, 'enrolled') for the kinds forgotten
    all at once. A report keeps a month only while its stamps are as they were before it counted."""

    __tablename__ = "report_month_stamp"

    scope: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
