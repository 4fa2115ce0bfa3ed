"""An offer of one case to one substitute physician, with the deadline that lives in the database."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime, db_enum


class OfferState(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    timed_out = "timed_out"
    failed = "failed"  # the SMS could not be delivered
    withdrawn = "withdrawn"  # the case was cancelled, or the coordinator assigned someone


REFUSED_SQL = "state IN ('declined', 'timed_out')"


class Offer(Base):
    """A case offered to one physician until `deadline_at`; one pending offer per case and per physician."""

    __tablename__ = "offer"
    __table_args__ = (
        Index(
            "uq_offer_one_pending_per_case",
            "case_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index(
            "uq_offer_one_pending_per_physician",
            "physician_id",
            unique=True,
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_offer_state_deadline", "state", "deadline_at"),
        # The monthly report's declines and timeouts (a tenth of the offers), read alone (migration 0028).
        Index(
            "ix_offer_refused_case_id",
            "case_id",
            "state",
            postgresql_where=text(REFUSED_SQL),
            sqlite_where=text(REFUSED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physician.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for the case's first offer
    state: Mapped[OfferState] = mapped_column(db_enum(OfferState, 16))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)  # made by the coordinator by hand
    estimated_travel_min: Mapped[int | None] = mapped_column(Integer)
    # Cross-area backup (広域連携): the physician's area, when the offer crosses from it into the case's.
    from_area_id: Mapped[int | None] = mapped_column(ForeignKey("medical_area.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sms_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Still unanswered then (and the physician takes calls): we call them (`flow.calls`); the sweep drives it.
    call_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Signed into the details link (`offers.links`): the coordinator's revocation moves it on, ending every
    # link made before.
    link_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
