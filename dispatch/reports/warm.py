"""Keeping the reports' cache warm: every ended month of the current and the previous fiscal year that is
missing (never counted, or forgotten by a change) counted again ahead of the analyst, for every area and the
prefecture — the periodic job `warm_reports` and `dispatch report warm`. PostgreSQL only, like the cache."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from dispatch.db import unit_of_work
from dispatch.programme.models import Programme
from dispatch.programme.periods import fiscal_year_of, month_start
from dispatch.reports import fiscal, months, service, units
from dispatch.reports.models import ReportMonth

LOCK = 0x72_65_70_77  # the advisory lock of a warm run: one at a time, a second one returns at once
BY_PROGRAMME = ("counts", "tallies")  # each programme's own months (scope = its id)

Gaps = dict[str, dict[int, set[str]]]  # {kind: {scope: months (or 'FY2024') missing}}


def _units(session: Session) -> dict[int, units.Unit]:
    """{scope: unit} of every cacheable area and the prefecture (scope 0)."""
    programmes = session.scalars(select(Programme).order_by(Programme.id))
    found = {p.id: units.programme_unit(p) for p in programmes}
    found[months.EVERY_PROGRAMME] = units.resolve(session, default_code="", prefecture=True)
    return {scope: unit for scope, unit in found.items() if months.cacheable(session, unit, None)}


def missing(session: Session, now: datetime) -> Gaps:
    """What the cache lacks of the current and the previous fiscal year's ended months, by kind and scope
    (two small reads when nothing is missing)."""
    today = now.astimezone(ZoneInfo(months.CACHE_TIMEZONE)).date()
    year = fiscal_year_of(today)
    keys = [k for k in months.month_keys(date(year - 1, 4, 1), today) if months.ended(k, now)]
    held = set(
        session.execute(
            select(ReportMonth.kind, ReportMonth.scope, ReportMonth.month).where(ReportMonth.month >= keys[0])
        )
    )
    gaps: Gaps = defaultdict(lambda: defaultdict(set))
    for scope, unit in _units(session).items():
        kinds = ("monthly", *BY_PROGRAMME) if scope != months.EVERY_PROGRAMME else ("monthly",)
        for kind in kinds:
            gaps[kind][scope] |= {k for k in keys if (kind, scope, k) not in held}
        fy = f"FY{year - 1}"
        if ("enrolled", scope, fy) not in held and units.reporting(unit, year - 1, now) is not None:
            gaps["enrolled"][scope].add(fy)
    return {kind: {s: ks for s, ks in by.items() if ks} for kind, by in gaps.items() if any(by.values())}


def warm(factory: sessionmaker[Session], now: datetime) -> dict[str, int] | None:
    """Count every missing month (see `missing`), each kind in its own short transactions; {kind: months
    counted}. None when another run holds the lock (or the database is not PostgreSQL)."""
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as guard:
        if not guard.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK}):
            return None
        try:
            return _fill(factory, now)
        finally:
            guard.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})


def _fill(factory: sessionmaker[Session], now: datetime) -> dict[str, int]:
    with unit_of_work(factory) as session:
        gaps = missing(session, now)
    for kind in BY_PROGRAMME:  # one grouped pass over the missing months of every programme, each kind
        if kind in gaps:
            with unit_of_work(factory) as session:
                months.prepare(session)
                months.counted(session, kind, sorted(gaps[kind]), sorted(set().union(*gaps[kind].values())))
    for scope, keys in gaps.get("monthly", {}).items():
        with unit_of_work(factory) as session:
            unit = _units(session)[scope]
            first, last = month_start(min(keys)), month_start(max(keys))
            service.unit_monthly_report(session, unit, first, last)  # the months held are read, not counted
    for scope, years in gaps.get("enrolled", {}).items():
        with unit_of_work(factory) as session:
            for fy in years:
                reporting = units.reporting(_units(session)[scope], int(fy[2:]), now)
                if reporting is not None:
                    fiscal.enrolled_patients(session, reporting, int(fy[2:]), months.CACHE_TIMEZONE, now)
    return {kind: sum(len(keys) for keys in by.values()) for kind, by in gaps.items()}
