"""A case (one call about one patient) and its append-only timeline of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, ForeignKey, Index, Integer, String, Text, false, text, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.cases.states import (
    ACTIVE_VISIT_STATES,
    AWAITING_PHYSICIAN,
    CaseEnding,
    CaseState,
    Disposition,
    Urgency,
)
from dispatch.db import Base, JsonDocument, UTCDateTime, db_enum

_ACTIVE_VISIT_SQL = "state IN (" + ", ".join(f"'{s.value}'" for s in sorted(ACTIVE_VISIT_STATES)) + ")"


# What the reports read of a call, held in their index: a month counted without the table (migration 0028).
REPORT_COLUMNS = [
    "id",
    "clinic_id",
    "municipality_id",
    "visiting_area_id",
    "patient_id",
    "state",
    "disposition",
    "in_service_hours",
    "in_contract",
    "decided_at",
    "accepted_at",
    "arrived_at",
]


class Case(Base):
    """One call to the centre and everything that follows from it."""

    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_state_called_at", "state", "called_at"),
        Index("ix_case_clinic_called_at", "clinic_id", "called_at"),
        # The reports read a programme's months from this index alone (PostgreSQL: what they count is included).
        Index("ix_case_programme_called_at", "programme_id", "called_at", postgresql_include=REPORT_COLUMNS),
        # A substitute physician holds at most one active case at a time.
        Index(
            "uq_case_one_active_visit_per_physician",
            "assigned_physician_id",
            unique=True,
            postgresql_where=text(_ACTIVE_VISIT_SQL),
            sqlite_where=text(_ACTIVE_VISIT_SQL),
        ),
        # The day's arrivals, read by every matching round for each physician's whereabouts and rest.
        # Partial: a case gets its entry at arrival, so intake's inserts do not pay for it.
        Index(
            "ix_case_arrived_at",
            "arrived_at",
            postgresql_where=text("arrived_at IS NOT NULL"),
            sqlite_where=text("arrived_at IS NOT NULL"),
        ),
        # The house calls an area's physicians made in other areas (広域連携), for that area's report: few rows.
        Index(
            "ix_case_visiting_area_called_at",
            "visiting_area_id",
            "called_at",
            postgresql_where=text("visiting_area_id IS NOT NULL"),
            sqlite_where=text("visiting_area_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    state: Mapped[CaseState] = mapped_column(db_enum(CaseState, 32))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    # Who the call is about; unidentified callers leave these empty.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))

    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    in_service_hours: Mapped[bool] = mapped_column(Boolean)
    service_hours_rule_version: Mapped[int] = mapped_column(Integer)
    # False when the patient's enrolment or the clinic's contract did not cover the call date:
    # the call is still logged and handled, and counts in neither consultations nor house calls.
    in_contract: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    # Intake, as the operator heard it.
    caller_name: Mapped[str | None] = mapped_column(String(100))
    caller_relation: Mapped[str | None] = mapped_column(String(50))
    callback_phone_e164: Mapped[str | None] = mapped_column(String(16))
    # The caller agreed to SMS updates (the doctor's arrival time) to the callback number: `dispatch.family`.
    family_updates_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The arrival time last told to the family (the delay sweep's mark), and when the operator called them
    # back about a case left waiting (the board's task done; cleared when a physician accepts).
    family_eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    family_called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chief_complaint: Mapped[str | None] = mapped_column(Text)
    intake: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # The operator's (or the intake rules') first guess; orders the triage queue until a decision.
    provisional_urgency: Mapped[Urgency | None] = mapped_column(db_enum(Urgency, 8, "provisional_urgency"))

    # Triage, as the consulting physician decided.
    triage_physician_id: Mapped[int | None] = mapped_column(ForeignKey("physician.id"))
    triage_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposition: Mapped[Disposition | None] = mapped_column(db_enum(Disposition, 40))
    urgency: Mapped[Urgency | None] = mapped_column(db_enum(Urgency, 8))
    jtas_level: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triage_note: Mapped[str | None] = mapped_column(Text)

    # Dispatch: the escalation policy is frozen on the case when it is logged.
    escalation_policy: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    assigned_physician_id: Mapped[int | None] = mapped_column(ForeignKey("physician.id"))
    # Cross-area backup (広域連携): the area the accepted physician was called in from, when not the case's.
    visiting_area_id: Mapped[int | None] = mapped_column(ForeignKey("medical_area.id"))
    # The fencing token: only work for this offer may move the case.
    current_offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id", use_alter=True))
    # When matching last ran for this case, and when the coordinator was alerted about it waiting: cleared when
    # a physician takes the case (`offers.service.accept`), so a case left waiting again is alerted afresh.
    last_matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    coordinator_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a case ended before a visit (the family called 119, closed unfilled, cancelled): `flow.endings`.
    ended_because: Mapped[CaseEnding | None] = mapped_column(db_enum(CaseEnding, 32, "ended_because"))

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", viewonly=True
    )

    # Optimistic concurrency: two writers of the same case cannot both win. (Not a ClassVar: the declarative
    # base declares `__mapper_args__` as an attribute, and mypy refuses a ClassVar over it.)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @hybrid_property
    def alarm(self) -> bool:
        """The coordinator's alarm is live: alerted about the case, which still waits for a physician (the
        one rule for the board, the tab title, the case page and the API; also a SQL expression)."""
        return self.coordinator_alerted_at is not None and self.state in AWAITING_PHYSICIAN

    @alarm.inplace.expression
    @classmethod
    def _alarm_expression(cls) -> ColumnElement[bool]:
        return cls.coordinator_alerted_at.is_not(None) & cls.state.in_(AWAITING_PHYSICIAN)

    @property
    def reference(self) -> str:
        """The short reference used on the phone and in SMS, e.g. K412."""
        return f"K{self.id}"


class CaseEvent(Base):
    """One entry of a case's timeline: who, when, from which state to which, and why."""

    __tablename__ = "case_event"
    __table_args__ = (
        Index("ix_case_event_case_id_id", "case_id", "id"),
        # The monthly report's coordinator alerts, one event in a hundred (migration 0028).
        Index(
            "ix_case_event_alert_case_id",
            "case_id",
            postgresql_where=text("kind = 'alert.coordinator'"),
            sqlite_where=text("kind = 'alert.coordinator'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(48))  # transition, note, sms.sent, alert.coordinator ...
    from_state: Mapped[CaseState | None] = mapped_column(db_enum(CaseState, 32, "from_state"))
    to_state: Mapped[CaseState | None] = mapped_column(db_enum(CaseState, 32, "to_state"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(100))  # "user:op1" or "system:reconciler"
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class IntakeKey(Base):
    """An `Idempotency-Key` seen on intake: a retried POST returns the case it first made."""

    __tablename__ = "intake_key"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    request_sha256: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
