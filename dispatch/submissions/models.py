"""A month's figures as submitted to the prefecture: one row per version, never changed afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JsonDocument, UTCDateTime


class MonthSubmission(Base):
    """提出: the monthly report's row for one month (counts only), frozen; a re-submission is a new version."""

    __tablename__ = "month_submission"
    __table_args__ = (UniqueConstraint("programme_id", "month", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in Asia/Tokyo
    version: Mapped[int]  # 1, 2, …; the highest is "the submitted figures"
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    submitted_by_name: Mapped[str] = mapped_column(String(100))  # the display name at the time
    note: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JsonDocument)  # MonthRow.model_dump(mode="json")
