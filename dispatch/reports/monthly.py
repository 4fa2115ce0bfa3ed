"""The monthly report's figures for a run of months, computed from the cases: one grouped pass for the
counts (by clinic, town and category), the response times' percentiles (in SQL on PostgreSQL), declines,
timeouts and alerts."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case, CaseEvent
from dispatch.clinics.models import Clinic
from dispatch.offers.models import Offer, OfferState
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.programme.periods import local_midnight_utc, month_start, next_month
from dispatch.reports import counting as c
from dispatch.reports.schemas import Excluded, MonthCounts, MonthRow, Percentiles
from dispatch.reports.units import Unit

UNKNOWN = "（不明）"
# The categories of a call outside the table's scope (c.in_scope false): not in the month's counts by clinic.
OUT_OF_SCOPE = ("out_of_hours", "unidentified", "out_of_contract")
SPANS = (
    ("call_to_decision", Case.called_at, Case.decided_at),
    ("decision_to_acceptance", Case.decided_at, Case.accepted_at),
    ("acceptance_to_arrival", Case.accepted_at, Case.arrived_at),
)


def _percentiles(values: list[float]) -> Percentiles:
    if not values:
        return Percentiles(count=0, median_min=None, p90_min=None)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]
    return Percentiles(count=len(values), median_min=round(statistics.median(values), 1), p90_min=round(p90, 1))


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 60


def _times(session: Session, month, scope: list) -> dict[str, dict[str, Percentiles]]:
    """{month: {span: percentiles}} of the in-scope calls' response times."""
    found: dict[str, dict[str, Percentiles]] = defaultdict(dict)
    if session.get_bind().dialect.name == "postgresql":
        # Linear interpolation between the closest ranks: what statistics.quantiles(method="inclusive") does.
        columns = []
        for _, a, b in SPANS:
            minutes = func.date_part("epoch", b - a) / 60
            columns += [
                func.count(minutes),
                func.percentile_cont(0.5).within_group(minutes),
                func.percentile_cont(0.9).within_group(minutes),
            ]
        for key, *figures in session.execute(select(month, *columns).where(*scope, c.in_scope).group_by(month)):
            for n, (name, _, _) in enumerate(SPANS):
                count, median, p90 = figures[3 * n : 3 * n + 3]
                found[key][name] = Percentiles(
                    count=count,
                    median_min=None if median is None else round(median, 1),
                    p90_min=None if p90 is None else round(p90, 1),
                )
        return found
    pairs: list[Any] = [t for _, a, b in SPANS for t in (a, b)]
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, *instants in session.execute(select(month, *pairs).where(*scope, c.in_scope)):
        for n, (name, _, _) in enumerate(SPANS):
            if (x := _minutes(instants[2 * n], instants[2 * n + 1])) is not None:
                values[key][name].append(x)
    return {key: {name: _percentiles(v) for name, v in spans.items()} for key, spans in values.items()}


def clinic_keys(session: Session, ids: set[int]) -> dict[int, str]:
    """Each clinic's key in `by_clinic`: its label, which is unique within its programme; a label two areas'
    clinics share (a prefecture's report) gets the area's name after it, so neither is added into the other."""
    rows = session.execute(
        select(Clinic.id, Clinic.label, MedicalArea.name)
        .join(Programme, Programme.id == Clinic.programme_id)
        .outerjoin(MedicalArea, MedicalArea.id == Programme.area_id)
        .where(Clinic.id.in_(ids))
    ).all()
    seen = Counter(label for _, label, _ in rows)
    return {i: label if seen[label] == 1 else f"{label}（{area or i}）" for i, label, area in rows}


def compute(
    session: Session, unit: Unit, keys: list[str], only_clinic: int | None, categories: list | None = None
) -> dict[str, MonthRow]:
    """{month: its row} for the months from the first to the last of `keys` ('YYYY-MM', local time);
    `categories` (month, clinic, town, category, calls, end of life) when already counted (the cache)."""
    timezone = unit.programmes[0].timezone if unit.programmes else "Asia/Tokyo"
    start = local_midnight_utc(month_start(min(keys)), timezone)
    end = local_midnight_utc(next_month(month_start(max(keys))), timezone)
    month = c.local_month(session.get_bind().dialect.name)
    scope = [*unit.calls(), Case.called_at >= start, Case.called_at < end]
    if only_clinic is not None:
        scope.append(Case.clinic_id == only_clinic)
    if categories is None:
        categories = c.calls_by_category(session, scope, month, Case.clinic_id, Case.municipality_id)
    labels = clinic_keys(session, {r[1] for r in categories if r[1]})
    names = dict(
        session.execute(
            select(Municipality.id, Municipality.name).where(
                Municipality.id.in_({r[2] for r in categories if r[2]})
            )
        ).all()
    )
    times = _times(session, month, scope)
    offers = session.execute(
        select(month, Offer.state, func.count())
        .join(Case, Case.id == Offer.case_id)
        .where(*scope)
        .where(Offer.state.in_([OfferState.declined, OfferState.timed_out]))
        .group_by(month, Offer.state)
    ).all()
    alerts: dict[str, int] = dict(
        session.execute(
            select(month, func.count())
            .join(CaseEvent, and_(CaseEvent.case_id == Case.id, CaseEvent.kind == "alert.coordinator"))
            .where(*scope)
            .group_by(month)
        ).all()
    )

    rows = {}
    current = month_start(min(keys))
    while current <= month_start(max(keys)):
        key = current.strftime("%Y-%m")
        mine = [r for r in categories if r[0] == key]
        clinic: dict[str, list[int]] = {}
        towns: dict[str, list[int]] = {}
        for _, clinic_id, town_id, category, calls, end_of_life in mine:
            if category in OUT_OF_SCOPE:
                continue
            for counts, name in ((clinic, labels.get(clinic_id)), (towns, names.get(town_id))):
                figures = counts.setdefault(name or UNKNOWN, [0, 0, 0])
                figures[0] += calls if category == c.CONSULTATION else 0
                figures[1] += calls if category == c.HOUSE_CALL else 0
                figures[2] += end_of_life
        spans = times.get(key, {})
        rows[key] = MonthRow(
            month=key,
            totals=MonthCounts(
                consultations=sum(v[0] for v in clinic.values()),
                house_calls=sum(v[1] for v in clinic.values()),
                end_of_life=sum(v[2] for v in clinic.values()),
            ),
            by_clinic={
                k: MonthCounts(consultations=a, house_calls=b, end_of_life=d) for k, (a, b, d) in clinic.items()
            },
            by_municipality={
                k: MonthCounts(consultations=a, house_calls=b, end_of_life=d) for k, (a, b, d) in towns.items()
            },
            **{name: spans.get(name, _percentiles([])) for name, _, _ in SPANS},
            offers_declined=sum(n for m, s, n in offers if m == key and s is OfferState.declined),
            offers_timed_out=sum(n for m, s, n in offers if m == key and s is OfferState.timed_out),
            coordinator_alerts=alerts.get(key, 0),
            calls=sum(r[4] for r in mine),
            excluded=Excluded(**c.excluded_counts([(r[3], r[4]) for r in mine])),
        )
        current = next_month(current)
    return rows
