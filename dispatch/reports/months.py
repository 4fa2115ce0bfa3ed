"""Reading the reports at national size on PostgreSQL: the transaction's settings, and the cache of ended
months (`ReportMonth`, kept correct by the triggers of migration 0028: a changed row deletes its months)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.programme.periods import local_midnight_utc, month_start, next_month
from dispatch.reports import counting as c
from dispatch.reports.models import ReportMonth
from dispatch.reports.units import Unit

CACHE_TIMEZONE = "Asia/Tokyo"  # the months of the cache (and of the triggers that forget them)
EVERY_PROGRAMME = 0  # the scope of the prefecture's own monthly rows


def postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def prepare(session: Session) -> None:
    """A report's transaction on PostgreSQL: no JIT (seconds of compiling for a few hundred thousand rows read
    once), and the memory to aggregate a year of calls and join their outcomes by hash without spilling."""
    if postgres(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def cacheable(session: Session, unit: Unit, only_clinic: int | None) -> bool:
    """Whether the unit's months come from the cache: an area or the prefecture, whole, on PostgreSQL."""
    timezone = unit.programmes[0].timezone if unit.programmes else CACHE_TIMEZONE
    return (
        postgres(session)
        and only_clinic is None
        and unit.by_programme
        and bool(unit.programmes)
        and timezone == CACHE_TIMEZONE
    )


def month_keys(first: date, last: date) -> list[str]:
    """'YYYY-MM' of every month from `first`'s to `last`'s."""
    keys, current = [], date(first.year, first.month, 1)
    while current <= last:
        keys.append(current.strftime("%Y-%m"))
        current = next_month(current)
    return keys


def ended(key: str, now: datetime | None = None) -> bool:
    """Whether the month (or fiscal year, 'FY2025') is over: only what has ended is kept."""
    if key.startswith("FY"):
        end = local_midnight_utc(date(int(key[2:]) + 1, 4, 1), CACHE_TIMEZONE)
    else:
        end = local_midnight_utc(next_month(month_start(key)), CACHE_TIMEZONE)
    return end <= (now or datetime.now(UTC))


def bounds(keys: Iterable[str]) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the months from the first to the last of `keys`."""
    ordered = sorted(keys)
    return (
        local_midnight_utc(month_start(ordered[0]), CACHE_TIMEZONE),
        local_midnight_utc(next_month(month_start(ordered[-1])), CACHE_TIMEZONE),
    )


def cached(
    session: Session, kind: str, scopes: Iterable[int], keys: Iterable[str]
) -> dict[tuple[int, str], Any]:
    """{(scope, month): payload} of what the cache holds of these scopes and months."""
    pairs = [(scope, key) for scope in scopes for key in keys]
    if not pairs:
        return {}
    rows = session.execute(
        select(ReportMonth.scope, ReportMonth.month, ReportMonth.payload).where(
            ReportMonth.kind == kind, tuple_(ReportMonth.scope, ReportMonth.month).in_(pairs)
        )
    )
    return {(scope, month): payload for scope, month, payload in rows}


def keep(
    session: Session, kind: str, computed: dict[tuple[int, str], Any], now: datetime | None = None
) -> None:
    """Store the ended months just computed (a month a concurrent report stored first is left as it is)."""
    at = now or datetime.now(UTC)
    rows = [
        {"kind": kind, "scope": scope, "month": key, "payload": payload, "computed_at": at}
        for (scope, key), payload in computed.items()
        if ended(key, at)
    ]
    if rows:
        session.execute(insert(ReportMonth).values(rows).on_conflict_do_nothing())


def counted(session: Session, kind: str, ids: list[int], keys: list[str]) -> dict[tuple[int, str], list]:
    """{(programme, month): its calls in groups} from the cache; the months missing (never read, or forgotten
    by a change) counted again in one grouped pass, which keeps both kinds: "tallies" (clinic, visiting
    physician's area, category, calls, end of life) for the fiscal year, "counts" (the same by clinic and
    town) for the months of the monthly report."""
    found = cached(session, kind, ids, keys)
    missing = [(p, k) for p in ids for k in keys if (p, k) not in found]
    if not missing:
        return found
    programmes = sorted({p for p, _ in missing})
    since, until = bounds(k for _, k in missing)
    scope = [Case.programme_id.in_(programmes), Case.called_at >= since, Case.called_at < until]
    groups = (Case.programme_id, c.local_month("postgresql"), Case.clinic_id, Case.municipality_id)
    counts: dict[tuple[int, str], list] = {}
    tallies: dict[tuple[int, str], dict[tuple, list[int]]] = {}
    for programme, key, clinic, town, area, category, calls, deaths in c.calls_by_category(
        session, scope, *groups, Case.visiting_area_id
    ):
        counts.setdefault((programme, key), []).append([clinic, town, area, category, calls, deaths])
        summed = tallies.setdefault((programme, key), {}).setdefault((clinic, area, category), [0, 0])
        summed[0] += calls
        summed[1] += deaths
    fresh = {
        "counts": counts,
        "tallies": {pair: [[*group, n, d] for group, (n, d) in by.items()] for pair, by in tallies.items()},
    }
    for name, computed in fresh.items():
        keep(session, name, {pair: computed.get(pair, []) for pair in missing})
    return found | {pair: fresh[kind].get(pair, []) for pair in missing}


def year_tallies(session: Session, ids: list[int], start: datetime) -> list[tuple]:
    """(programme, clinic, visiting physician's area, category, calls, end of life) of the fiscal year from
    `start`, summed from each (programme, month)'s tallies in the cache."""
    first = start.astimezone(ZoneInfo(CACHE_TIMEZONE)).date()
    keys = month_keys(first, date(first.year + 1, first.month, 1) - timedelta(days=1))
    found = counted(session, "tallies", ids, keys)
    summed: dict[tuple[int, int | None, int | None, str], list[int]] = {}
    for p in ids:
        for k in keys:
            for clinic_id, visiting_area_id, category, calls, end_of_life in found.get((p, k), []):
                figures = summed.setdefault((p, clinic_id, visiting_area_id, category), [0, 0])
                figures[0] += calls
                figures[1] += end_of_life
    return [(*group, calls, deaths) for group, (calls, deaths) in summed.items()]
