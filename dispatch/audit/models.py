"""The append-only audit log of every read of patient data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JsonDocument, UTCDateTime


class AuditEntry(Base):
    """Who did what to which patient's record, and when. Rows are never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))  # e.g. patient.read, care_profile.read
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # SHA-256 hex: the entry before it (dispatch/audit/chain.py; the first names none), and this entry.
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row (id 1): the newest entry's id and hash; each append locks it, so the chain never forks."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
