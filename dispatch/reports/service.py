"""The prefecture's reports, as SQL aggregations over the cases (one pass per question)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from dispatch.programme.models import Programme
from dispatch.reports import monthly, months
from dispatch.reports.fiscal import unit_report
from dispatch.reports.schemas import (
    MonthlyReport,
    MonthRow,
    UnitReport,
)
from dispatch.reports.units import Unit, programme_unit


def clinic_report(
    session: Session,
    programme: Programme,
    year: int,
    only_clinic: int | None = None,
    *,
    now: datetime | None = None,
) -> UnitReport:
    """Per clinic under contract in fiscal year `year`: 契約患者数, 医療相談, 往診, 看取り, 契約時期; 合計 (the
    programme's area: `fiscal.unit_report`).

    `now` (the report's time) counts the enrolled patients of a year still in progress as at that instant."""
    return unit_report(session, programme_unit(programme), year, only_clinic, now=now)


def monthly_report(
    session: Session, programme: Programme, first: date, last: date, only_clinic: int | None = None
) -> MonthlyReport:
    """Per month (Asia/Tokyo) of one programme: `unit_monthly_report` for its area."""
    return unit_monthly_report(session, programme_unit(programme), first, last, only_clinic)


def unit_monthly_report(
    session: Session, unit: Unit, first: date, last: date, only_clinic: int | None = None
) -> MonthlyReport:
    """Per month (Asia/Tokyo): counts by clinic and municipality, response times, declines, timeouts, alerts;
    an area's or the prefecture's ended months from the cache on PostgreSQL (computed when missing)."""
    months.prepare(session)
    keys = months.month_keys(first, last)
    if months.cacheable(session, unit, only_clinic):
        scope = unit.programmes[0].id if unit.ref.kind == "area" else months.EVERY_PROGRAMME
        found = {
            key: MonthRow.model_validate(payload)
            for (_, key), payload in months.cached(session, "monthly", [scope], keys).items()
        }
        missing = [key for key in keys if key not in found]
        if missing:
            read = months.versions(session, [*((scope, k) for k in missing), months.NAMES])  # before counting
            # The counts from each programme's months (kept for the fiscal year's too), the rest counted here.
            counts = months.counted(session, "counts", [p.id for p in unit.programmes], missing)
            categories = [(k, *group[:2], *group[3:]) for (_, k), groups in counts.items() for group in groups]
            fresh = monthly.compute(session, unit, missing, only_clinic, categories)
            computed = {(scope, k): fresh[k].model_dump(mode="json") for k in missing}
            months.keep(session, "monthly", computed, read, lambda pair: (pair, months.NAMES))
            found |= fresh
    else:
        found = monthly.compute(session, unit, keys, only_clinic)
    return MonthlyReport(
        first_month=first.strftime("%Y-%m"), last_month=last.strftime("%Y-%m"), months=[found[k] for k in keys]
    )
