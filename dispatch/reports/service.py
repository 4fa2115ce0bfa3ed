"""The prefecture's reports, as SQL aggregations over the cases (one pass per question)."""

from __future__ import annotations

import statistics
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case, CaseEvent
from dispatch.clinics.models import Clinic
from dispatch.offers.models import Offer, OfferState
from dispatch.outcomes.models import VisitOutcome
from dispatch.programme.models import Municipality, Programme
from dispatch.programme.periods import local_midnight_utc, next_month
from dispatch.reports import counting as c
from dispatch.reports.fiscal import unit_report
from dispatch.reports.schemas import (
    Excluded,
    MonthCounts,
    MonthlyReport,
    MonthRow,
    Percentiles,
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


def _percentiles(values: list[float]) -> Percentiles:
    if not values:
        return Percentiles(count=0, median_min=None, p90_min=None)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]
    return Percentiles(count=len(values), median_min=round(statistics.median(values), 1), p90_min=round(p90, 1))


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 60


def monthly_report(
    session: Session, programme: Programme, first: date, last: date, only_clinic: int | None = None
) -> MonthlyReport:
    """Per month (Asia/Tokyo) of one programme: `unit_monthly_report` for its area."""
    return unit_monthly_report(session, programme_unit(programme), first, last, only_clinic)


def unit_monthly_report(
    session: Session, unit: Unit, first: date, last: date, only_clinic: int | None = None
) -> MonthlyReport:
    """Per month (Asia/Tokyo): counts by clinic and municipality, response times, declines, timeouts, alerts."""
    timezone = unit.programmes[0].timezone if unit.programmes else "Asia/Tokyo"
    start = local_midnight_utc(first, timezone)
    end = local_midnight_utc(next_month(last), timezone)
    month = c.local_month(session.get_bind().dialect.name)
    scope = [*unit.calls(), Case.called_at >= start, Case.called_at < end]
    if only_clinic is not None:
        scope.append(Case.clinic_id == only_clinic)
    tallies = (c.tally(c.is_consultation), c.tally(c.is_house_call), c.tally(c.is_end_of_life))

    def grouped(key, join=None):
        query = select(month, key, *tallies).outerjoin(VisitOutcome, VisitOutcome.case_id == Case.id)
        if join is not None:
            query = query.outerjoin(*join)
        return session.execute(query.where(*scope, c.in_scope).group_by(month, key)).all()

    by_clinic = grouped(Clinic.label, (Clinic, Clinic.id == Case.clinic_id))
    by_town = grouped(Municipality.name, (Municipality, Municipality.id == Case.municipality_id))
    times = session.execute(
        select(month, Case.called_at, Case.decided_at, Case.accepted_at, Case.arrived_at).where(
            *scope, c.in_scope
        )
    ).all()
    offers = session.execute(
        select(month, Offer.state, func.count())
        .join(Case, Case.id == Offer.case_id)
        .where(*scope)
        .where(Offer.state.in_([OfferState.declined, OfferState.timed_out]))
        .group_by(month, Offer.state)
    ).all()
    categories = c.calls_by_category(session, scope, month)
    alerts: dict[str, int] = dict(
        session.execute(
            select(month, func.count())
            .join(CaseEvent, and_(CaseEvent.case_id == Case.id, CaseEvent.kind == "alert.coordinator"))
            .where(*scope)
            .group_by(month)
        ).all()
    )

    rows = []
    current = first
    while current <= last:
        key = current.strftime("%Y-%m")
        clinic = {
            label or "（不明）": MonthCounts(consultations=a, house_calls=b, end_of_life=d)
            for m, label, a, b, d in by_clinic
            if m == key
        }
        towns = {
            name or "（不明）": MonthCounts(consultations=a, house_calls=b, end_of_life=d)
            for m, name, a, b, d in by_town
            if m == key
        }
        month_times = [t for t in times if t[0] == key]
        rows.append(
            MonthRow(
                month=key,
                totals=MonthCounts(
                    consultations=sum(v.consultations for v in clinic.values()),
                    house_calls=sum(v.house_calls for v in clinic.values()),
                    end_of_life=sum(v.end_of_life for v in clinic.values()),
                ),
                by_clinic=clinic,
                by_municipality=towns,
                call_to_decision=_percentiles(
                    [x for t in month_times if (x := _minutes(t[1], t[2])) is not None]
                ),
                decision_to_acceptance=_percentiles(
                    [x for t in month_times if (x := _minutes(t[2], t[3])) is not None]
                ),
                acceptance_to_arrival=_percentiles(
                    [x for t in month_times if (x := _minutes(t[3], t[4])) is not None]
                ),
                offers_declined=sum(n for m, s, n in offers if m == key and s is OfferState.declined),
                offers_timed_out=sum(n for m, s, n in offers if m == key and s is OfferState.timed_out),
                coordinator_alerts=alerts.get(key, 0),
                calls=sum(int(n) for m, _, n, _ in categories if m == key),
                excluded=Excluded(**c.excluded_counts([(name, n) for m, name, n, _ in categories if m == key])),
            )
        )
        current = next_month(current)
    return MonthlyReport(first_month=first.strftime("%Y-%m"), last_month=last.strftime("%Y-%m"), months=rows)
