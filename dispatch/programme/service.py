"""Reading the programme and judging service hours."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.auth.scope import area_scope
from dispatch.programme import periods
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.programme.schemas import AreaProgrammeOut
from dispatch.programme.service_hours import in_service_hours


class ProgrammeNotLoaded(LookupError):
    """The configured programme is not in the database (run `dispatch seed reference`)."""


def get_programme(session: Session, code: str) -> Programme:
    """The programme with this code."""
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise ProgrammeNotLoaded(
            f"programme {code!r} is not loaded; run `dispatch seed reference` "
            "(or `dispatch seed demo` outside production)"
        )
    return programme


def served_areas(session: Session, default: Programme) -> list[AreaProgrammeOut]:
    """The areas with a programme on this deployment, the default programme's first."""
    rows = list(
        session.execute(
            select(Programme, MedicalArea)
            .join(MedicalArea, MedicalArea.id == Programme.area_id)
            .order_by(Programme.id)
        )
    )
    rows.sort(key=lambda row: (row[0].id != default.id, row[1].position))
    return [
        AreaProgrammeOut(
            area_id=area.id,
            area_code=area.code,
            area=area.name,
            programme=programme.code,
            travel_cap_min=area.travel_cap_min,
        )
        for programme, area in rows
    ]


def served_municipalities(session: Session) -> list[Municipality]:
    """Every town of the areas served here, by code."""
    served = select(Programme.area_id)
    return list(
        session.scalars(
            select(Municipality).where(Municipality.area_id.in_(served)).order_by(Municipality.code)
        )
    )


def users_programme(session: Session, user: User, default_code: str) -> Programme:
    """The programme a user's pages act on: their area's for an area coordinator, else the deployment's."""
    area_id = area_scope(user)
    if area_id is None:
        return get_programme(session, default_code)
    programme = session.scalar(select(Programme).where(Programme.area_id == area_id).order_by(Programme.id))
    if programme is None:
        raise ProgrammeNotLoaded(f"no programme serves area {area_id} yet")
    return programme


class YearNotReportable(ValueError):
    """A fiscal year before the programme's start, or after today or its end."""


@dataclass(frozen=True)
class ReportableYear:
    year: int
    label: str  # 令和8年度
    counts_consultations: bool  # False only where the year's FiscalYear row says so (FY2023)
    current: bool  # the year today falls in


def local_today(programme: Programme, now: datetime) -> date:
    """Today's date in the programme's time zone."""
    return now.astimezone(ZoneInfo(programme.timezone)).date()


def reportable_years(session: Session, programme: Programme, now: datetime) -> list[ReportableYear]:
    """Every fiscal year from the programme's start to today (or its end); a new year needs no row."""
    today = local_today(programme, now)
    counted = dict(
        session.execute(
            select(FiscalYear.year, FiscalYear.counts_consultations).where(
                FiscalYear.programme_id == programme.id
            )
        ).all()
    )
    return [
        ReportableYear(
            year,
            periods.fiscal_year_label(year),
            counted.get(year, True),
            year == periods.fiscal_year_of(today),
        )
        for year in periods.reportable_years(programme.starts_on, programme.ends_on, today)
    ]


def check_reportable(programme: Programme, year: int, now: datetime) -> None:
    """Raise YearNotReportable unless `year` lies between the programme's start and today (or its end)."""
    years = periods.reportable_years(programme.starts_on, programme.ends_on, local_today(programme, now))
    if year in years:
        return
    if not years:
        raise YearNotReportable(
            f"{year}: the programme starts on {programme.starts_on.isoformat()}; no year yet"
        )
    first, last = years[0], years[-1]
    raise YearNotReportable(
        f"{year} ({periods.fiscal_year_label(year)}) is outside the programme's years, "
        f"{first} ({periods.fiscal_year_label(first)}) to {last} ({periods.fiscal_year_label(last)})"
    )


def current_service_hours_rule(session: Session, programme_id: int, at: datetime) -> ServiceHoursRule:
    """The rule version in force at `at`: the newest whose effective_from is not after it."""
    rule = session.scalar(
        select(ServiceHoursRule)
        .where(ServiceHoursRule.programme_id == programme_id, ServiceHoursRule.effective_from <= at)
        .order_by(ServiceHoursRule.version.desc())
        .limit(1)
    )
    if rule is None:
        raise LookupError(f"programme {programme_id} has no service-hours rule in force at {at.isoformat()}")
    return rule


def judge_service_hours(session: Session, programme: Programme, at: datetime) -> tuple[bool, ServiceHoursRule]:
    """Whether `at` is inside night/holiday hours, and the rule version that said so."""
    rule = current_service_hours_rule(session, programme.id, at)
    return in_service_hours(at, rule.definition, programme.timezone), rule


@dataclass(frozen=True)
class RuleVersion:
    version: int
    effective_from: datetime
    definition: dict[str, Any]


@dataclass(frozen=True)
class ProgrammeSnapshot:
    """The programme's immutable reference data, detached from any session: its id, its time zone, every
    version of its service-hours rule and its area's travel-time parameters."""

    id: int
    code: str
    timezone: str
    rules: tuple[RuleVersion, ...]  # by version, ascending
    # The medical area's travel-time estimate: straight line x road factor at this speed.
    road_factor: float
    travel_speed_kmh: float
    area_id: int = 0
    travel_cap_min: int = 60  # the longest drive offered before a neighbouring area's nearer physician is

    def judge_service_hours(self, at: datetime) -> tuple[bool, RuleVersion]:
        """As `judge_service_hours`: the newest version in force at `at`, and its verdict."""
        in_force = [r for r in self.rules if r.effective_from <= at]
        if not in_force:
            raise LookupError(f"programme {self.id} has no service-hours rule in force at {at.isoformat()}")
        rule = in_force[-1]
        return in_service_hours(at, rule.definition, self.timezone), rule


@dataclass(frozen=True)
class _Programmes:
    """Every programme's snapshot on one deployment (one per medical area that takes part), and which
    programme each municipality's calls belong to."""

    by_code: dict[str, ProgrammeSnapshot]
    by_town: dict[int, str]


class ReferenceCache:
    """The programmes and their rule versions, read from the database once per process and kept.

    They are written only by `dispatch seed reference` (which never changes a programme already loaded)
    and by migrations; a rule change is a new version with its own `effective_from`, judged by time, so
    a process that holds all versions judges every call correctly. The snapshots are still re-read every
    `ttl_s` seconds so a version or an area added by hand reaches a running process without a restart. A
    missing default programme is never cached."""

    def __init__(self, code: str, ttl_s: float = 300.0) -> None:
        self.code = code  # the deployment's default programme: calls of no known town go to it
        self.ttl_s = ttl_s
        self._snapshot: _Programmes | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def programme(self, session: Session, code: str | None = None) -> ProgrammeSnapshot:
        """The snapshot of programme `code` (the default one when None), read with `session` when absent
        or older than the TTL."""
        programmes = self._programmes(session)
        wanted = code or self.code
        if wanted not in programmes.by_code:
            if code is None:
                get_programme(session, wanted)  # raises ProgrammeNotLoaded, naming the command to run
            raise ProgrammeNotLoaded(f"programme {wanted!r} is not loaded")
        return programmes.by_code[wanted]

    def for_municipality(self, session: Session, municipality_id: int | None) -> ProgrammeSnapshot:
        """The programme of the area the town lies in; the default one for no town or an area without one."""
        programmes = self._programmes(session)
        code = programmes.by_town.get(municipality_id) if municipality_id is not None else None
        return self.programme(session, code)

    def all(self, session: Session) -> list[ProgrammeSnapshot]:
        """Every programme on this deployment, by id."""
        return sorted(self._programmes(session).by_code.values(), key=lambda p: p.id)

    def clear(self) -> None:
        with self._lock:
            self._snapshot = None

    def _programmes(self, session: Session) -> _Programmes:
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and time.monotonic() - self._read_at < self.ttl_s:
                return snapshot
        snapshot = self._read(session)
        with self._lock:
            self._snapshot, self._read_at = snapshot, time.monotonic()
        return snapshot

    def _read(self, session: Session) -> _Programmes:
        get_programme(session, self.code)  # the default programme must be there
        rules: dict[int, list[RuleVersion]] = {}
        for r in session.scalars(select(ServiceHoursRule).order_by(ServiceHoursRule.version)):
            rules.setdefault(r.programme_id, []).append(
                RuleVersion(r.version, r.effective_from, dict(r.definition))
            )
        by_code: dict[str, ProgrammeSnapshot] = {}
        by_area: dict[int, str] = {}
        for programme, area in session.execute(
            select(Programme, MedicalArea)
            .join(MedicalArea, MedicalArea.id == Programme.area_id)
            .order_by(Programme.id)
        ):
            by_code[programme.code] = ProgrammeSnapshot(
                id=programme.id,
                code=programme.code,
                timezone=programme.timezone,
                rules=tuple(rules.get(programme.id, ())),
                road_factor=area.road_factor,
                travel_speed_kmh=area.travel_speed_kmh,
                area_id=area.id,
                travel_cap_min=area.travel_cap_min,
            )
            by_area.setdefault(area.id, programme.code)
        towns = session.execute(select(Municipality.id, Municipality.area_id)).all()
        return _Programmes(by_code, {town: by_area[area] for town, area in towns if area in by_area})
