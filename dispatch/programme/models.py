"""The programme a prefecture funds, its medical area, municipalities and service-hours rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Integer, String, Table, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, JsonDocument, UTCDateTime

# Which areas back each other up (広域連携). Kept both ways: (A, B) and (B, A).
area_neighbour = Table(
    "medical_area_neighbour",
    Base.metadata,
    Column("area_id", ForeignKey("medical_area.id"), primary_key=True),
    Column("neighbour_id", ForeignKey("medical_area.id"), primary_key=True),
)


class MedicalArea(Base):
    """A secondary medical area (二次医療圏), e.g. 印旛."""

    __tablename__ = "medical_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    prefecture: Mapped[str] = mapped_column(String(16))
    # Travel-time estimate parameters: straight line x road factor at this speed.
    road_factor: Mapped[float] = mapped_column(Float, default=1.3)
    travel_speed_kmh: Mapped[float] = mapped_column(Float, default=35.0)
    # The longest estimated drive a physician is offered before a neighbouring area's nearer one is.
    travel_cap_min: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # The prefecture's figure: how many of the area's municipalities have a coordination hub (拠点).
    municipalities_with_hub: Mapped[int | None] = mapped_column(Integer)
    # The order the prefecture lists its areas in (its tables' order).
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    municipalities: Mapped[list[Municipality]] = relationship(
        back_populates="area", order_by="Municipality.code"
    )
    neighbours: Mapped[list[MedicalArea]] = relationship(
        secondary=area_neighbour,
        primaryjoin=lambda: MedicalArea.id == area_neighbour.c.area_id,
        secondaryjoin=lambda: MedicalArea.id == area_neighbour.c.neighbour_id,
        order_by=lambda: MedicalArea.position,
    )


class Municipality(Base):
    """A city or town (市町村) with its national local-government code and a reference point."""

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)  # 全国地方公共団体コード (5 digits)
    name: Mapped[str] = mapped_column(String(32))
    area_id: Mapped[int] = mapped_column(ForeignKey("medical_area.id"))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # 保健所 and 地区医師会 (dispatch.areas): null for a town loaded before the prefecture's tables.
    health_centre_id: Mapped[int | None] = mapped_column(ForeignKey("health_centre.id"))
    medical_association_id: Mapped[int | None] = mapped_column(ForeignKey("medical_association.id"))

    area: Mapped[MedicalArea] = relationship(back_populates="municipalities")


class Programme(Base):
    """A prefecture's night/holiday house-call backup programme in one medical area."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    prefecture: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int] = mapped_column(ForeignKey("medical_area.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    coordinator_phone: Mapped[str | None] = mapped_column(String(16))
    # The programme's first and (optional) last day: every fiscal year between them can be reported.
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    # Shift swaps wait for the coordinator's approval; when False, a colleague taking one applies it at once.
    swaps_need_approval: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Physicians on call a municipality needs at every moment of the service hours (coverage gaps).
    min_on_call: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    area: Mapped[MedicalArea] = relationship()
    fiscal_years: Mapped[list[FiscalYear]] = relationship(
        back_populates="programme", order_by="FiscalYear.year"
    )
    service_hours_rules: Mapped[list[ServiceHoursRule]] = relationship(
        back_populates="programme", order_by="ServiceHoursRule.version"
    )


class FiscalYear(Base):
    """One April–March year of the programme and what the prefecture counted in it."""

    __tablename__ = "fiscal_year"
    __table_args__ = (UniqueConstraint("programme_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    year: Mapped[int] = mapped_column(Integer)  # 2024 = 令和6年度 = 2024-04-01..2025-03-31
    label: Mapped[str] = mapped_column(String(32))  # e.g. 令和6年度
    # The subsidy year FY2023 did not count consultations; its report leaves the column empty.
    counts_consultations: Mapped[bool] = mapped_column(Boolean, default=True)
    operator_name: Mapped[str | None] = mapped_column(String(200))

    programme: Mapped[Programme] = relationship(back_populates="fiscal_years")

    @property
    def starts_on(self) -> date:
        return date(self.year, 4, 1)

    @property
    def ends_on(self) -> date:
        return date(self.year + 1, 3, 31)


class ServiceHoursRule(Base):
    """A version of the programme's night/holiday hours; each case stores the version it was judged by."""

    __tablename__ = "service_hours_rule"
    __table_args__ = (UniqueConstraint("programme_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    # {"weekday_from": "18:00", "weekday_until": "08:00", "saturday_from": "12:00",
    #  "sunday_all_day": true, "national_holidays": true, "year_end": ["12-29", "01-03"]}
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDocument)

    programme: Mapped[Programme] = relationship(back_populates="service_hours_rules")
