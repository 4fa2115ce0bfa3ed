"""Reading the reports at national size on PostgreSQL: the transaction's settings, and the cache of ended
months (`ReportMonth`, kept correct by the triggers of migrations 0028 and 0029: a changed row bumps its
months' stamps, then deletes them; a report keeps a month only if its stamps did not move while it counted)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import errors
from sqlalchemy import event, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.programme.periods import local_midnight_utc, month_start, next_month
from dispatch.reports import counting as c
from dispatch.reports.models import ReportMonth, ReportMonthStamp
from dispatch.reports.units import Unit

CACHE_TIMEZONE = "Asia/Tokyo"  # the months of the cache (and of the triggers that forget them)
EVERY_PROGRAMME = 0  # the scope of the prefecture's own monthly rows
Stamp = tuple[int, str]  # (scope, month) of `ReportMonthStamp`
NAMES: Stamp = (-1, "names")  # a clinic or town renamed (or a clinic moved): 'monthly', 'enrolled' depend on it
ENROLLED: Stamp = (-1, "enrolled")  # any change of an enrolment: 'enrolled' depends on it
PENDING = "report_months_pending"  # Session.info's key of the months queued by `keep`
LOCK_TIMEOUT = "200ms"  # under deadlock_timeout: a report gives up its wait before a change would


@dataclass
class Pending:
    """The months a session computed, to `store` at its commit: the stamps as read, the rows with theirs."""

    read: dict[Stamp, int | None]
    rows: list[tuple[str, int, str, Any, tuple[Stamp, ...]]]
    at: datetime


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


def versions(session: Session, stamps: Iterable[Stamp]) -> dict[Stamp, int | None]:
    """The stamps' versions now (None: never bumped), read before counting what depends on them."""
    wanted = sorted(set(stamps))
    if not wanted:
        return {}
    rows = session.execute(
        select(ReportMonthStamp.scope, ReportMonthStamp.month, ReportMonthStamp.version).where(
            tuple_(ReportMonthStamp.scope, ReportMonthStamp.month).in_(wanted)
        )
    )
    return dict.fromkeys(wanted, None) | {(scope, month): version for scope, month, version in rows}


def keep(
    session: Session,
    kind: str,
    computed: dict[tuple[int, str], Any],
    read: dict[Stamp, int | None],
    depends: Callable[[tuple[int, str]], Iterable[Stamp]] = lambda pair: [pair],
    now: datetime | None = None,
) -> None:
    """Queue the ended months just computed, each with the stamps it `depends` on as `read` before counting;
    `store` keeps them when the session commits (the last thing before it, so its stamp locks are brief)."""
    at = now or datetime.now(UTC)
    rows = [
        (kind, *pair, value, tuple(depends(pair))) for pair, value in computed.items() if ended(pair[1], at)
    ]
    if not rows:
        return
    pending = session.info.setdefault(PENDING, Pending({}, [], at))
    for stamp, version in read.items():
        pending.read.setdefault(stamp, version)  # the first read: a row counted after a later read is safe too
    pending.rows += rows
    if not event.contains(session, "before_commit", store):
        event.listen(session, "before_commit", store)


def store(session: Session) -> int:
    """Keep the queued months whose stamps are unchanged since they were read, holding the stamps FOR SHARE
    until commit: a change that bumps one after this waits, then deletes what was kept. Never waits long: a
    stamp being bumped right now is skipped (its months are not kept), any other wait ends at LOCK_TIMEOUT.
    Returns how many months were kept."""
    pending: Pending | None = session.info.pop(PENDING, None)
    if pending is None or not pending.rows:
        return 0
    wanted = sorted({stamp for *_, stamps in pending.rows for stamp in stamps})
    try:
        with session.begin_nested():
            session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            absent = [{"scope": s, "month": m, "version": 0} for s, m in wanted if pending.read[s, m] is None]
            if absent:
                session.execute(insert(ReportMonthStamp).values(absent).on_conflict_do_nothing())
            locked = session.execute(
                select(ReportMonthStamp.scope, ReportMonthStamp.month, ReportMonthStamp.version)
                .where(tuple_(ReportMonthStamp.scope, ReportMonthStamp.month).in_(wanted))
                .with_for_update(read=True, skip_locked=True)
            )
            now = {(scope, key): version for scope, key, version in locked}
            rows = [
                {"kind": kind, "scope": scope, "month": key, "payload": payload, "computed_at": pending.at}
                for kind, scope, key, payload, stamps in pending.rows
                if all(now.get(stamp) == (pending.read[stamp] or 0) for stamp in stamps)
            ]
            if rows:
                session.execute(insert(ReportMonth).values(rows).on_conflict_do_nothing())
    except OperationalError as exc:
        if isinstance(exc.orig, errors.LockNotAvailable):
            return 0  # a change in flight: its months are counted again by the next report
        raise
    return len(rows)


def counted(session: Session, kind: str, ids: list[int], keys: list[str]) -> dict[tuple[int, str], list]:
    """{(programme, month): its calls in groups} from the cache; the months missing (never read, or forgotten
    by a change) counted again in one grouped pass, which keeps both kinds: "tallies" (clinic, visiting
    physician's area, category, calls, end of life) for the fiscal year, "counts" (the same by clinic and
    town) for the months of the monthly report."""
    found = cached(session, kind, ids, keys)
    missing = [(p, k) for p in ids for k in keys if (p, k) not in found]
    if not missing:
        return found
    read = versions(session, missing)
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
        keep(session, name, {pair: computed.get(pair, []) for pair in missing}, read)
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
