"""Users, each with exactly one role, and their login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, UTCDateTime, db_enum


class Role(StrEnum):
    operator = "operator"
    consulting_physician = "consulting_physician"
    substitute_physician = "substitute_physician"
    coordinator = "coordinator"
    clinic_admin = "clinic_admin"
    prefecture_analyst = "prefecture_analyst"
    admin = "admin"


class User(Base):
    """A person who logs in; individually authenticated, one role."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role != 'clinic_admin' OR clinic_id IS NOT NULL", name="clinic_admin_has_clinic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(db_enum(Role, 32))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"))
    physician_id: Mapped[int | None] = mapped_column(ForeignKey("physician.id"))
    # An area coordinator's medical area: they see and act on that area's cases only. Null: every area.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("medical_area.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    sessions: Mapped[list[UserSession]] = relationship(back_populates="user")


class UserSession(Base):
    """A login: only the SHA-256 of its bearer token is stored. A login by someone who must enrol a second
    factor and has none yet may do only that (and see who they are, and log out) until they do."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolment_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship(back_populates="sessions")
