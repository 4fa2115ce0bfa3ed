"""Every SMS in and out, by its provider id; statuses only move forward."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime, db_enum


class Direction(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


# Twilio's message statuses, in the order they can follow each other.
STATUS_ORDER = {
    "pending": -2,  # ours: written, not yet handed to the provider
    "held": -2,  # ours: waiting for its number's hourly cap to let it go (`sms.cap`)
    "claimed": -1,  # ours: a worker has claimed it and is handing it over
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "read": 6,
}
FAILED_STATUSES = frozenset({"undelivered", "failed"})
# Handed to the provider, no final status yet: a delivery report is still to come (`sms.delivery`).
AWAITING_REPORT = ("accepted", "queued", "sending", "sent")
_AWAITING = text("status IN ('accepted', 'queued', 'sending', 'sent')")
_UNSENT = text("status IN ('pending', 'claimed')")


class SmsMessage(Base):
    """One SMS. Bodies never hold patient data: offers carry a case reference, area and colour only."""

    __tablename__ = "sms_message"
    __table_args__ = (
        Index("ix_sms_message_phone_created", "phone_e164", "created_at"),
        Index("ix_sms_message_phone_sent", "phone_e164", "sent_at"),  # the hourly cap's count
        Index(
            "ix_sms_message_held",
            "not_before",
            postgresql_where=text("status = 'held'"),
            sqlite_where=text("status = 'held'"),
        ),
        # The reconciler's reads every few seconds: a few rows each, in a table that only grows.
        Index("ix_sms_message_awaiting_report", "sent_at", postgresql_where=_AWAITING, sqlite_where=_AWAITING),
        Index("ix_sms_message_unsent", "updated_at", postgresql_where=_UNSENT, sqlite_where=_UNSENT),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[Direction] = mapped_column(db_enum(Direction, 16))
    phone_e164: Mapped[str] = mapped_column(String(16))  # the other party
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))  # offer, details_link, coordinator_alert, reply ...
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When it was handed to the provider (set as the claim is taken): what the hourly cap per number counts.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Held by the cap: the earliest its number's window lets it go; the reconciler sends it then.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsCapAlert(Base):
    """The coordinator was told that a number reached its hourly SMS cap: once per number per hour."""

    __tablename__ = "sms_cap_alert"
    __table_args__ = (Index("ix_sms_cap_alert_phone_alerted", "phone_e164", "alerted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_in_hour: Mapped[int] = mapped_column()  # how many had gone to it in the hour before
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))  # the held message's, if any


class VoiceCall(Base):
    """One phone call placed to a physician about an offer (one per offer at most), or to the coordinator
    with an alert. What it says is built when Twilio asks for it: a case reference, a town and a colour."""

    __tablename__ = "voice_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))  # offer, coordinator_alert
    phone_e164: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"), unique=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)  # Twilio's CallSid
    # pending → claimed → queued (then Twilio's: ringing, in-progress, completed, no-answer, busy, failed).
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    digits: Mapped[str | None] = mapped_column(String(8))  # the key pressed, once taken
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the gather acted on (once per CallSid)
