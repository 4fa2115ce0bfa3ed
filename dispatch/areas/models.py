"""保健所 (health-centre areas) and 地区医師会 (district medical associations) inside a medical area."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class HealthCentre(Base):
    """A health-centre area (保健所管内), e.g. 習志野; one or more per medical area."""

    __tablename__ = "health_centre"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("medical_area.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)


class MedicalAssociation(Base):
    """A district medical association (地区医師会) and the home-care resources the prefecture counts in it."""

    __tablename__ = "medical_association"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    health_centre_id: Mapped[int] = mapped_column(ForeignKey("health_centre.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # 機能強化型在支病, 機能強化型在支診, 在宅療養後方支援病院, 機能強化型訪問看護ST (the prefecture's table).
    enhanced_support_hospitals: Mapped[int] = mapped_column(Integer, default=0)
    enhanced_support_clinics: Mapped[int] = mapped_column(Integer, default=0)
    backup_hospitals: Mapped[int] = mapped_column(Integer, default=0)
    enhanced_visiting_nurse_stations: Mapped[int] = mapped_column(Integer, default=0)
