"""The prefecture's reports, as SQL aggregations over the cases (one pass per question)."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case, CaseEvent
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.offers.models import Offer, OfferState
from dispatch.outcomes.models import VisitOutcome
from dispatch.patients.models import Enrolment
from dispatch.programme.models import FiscalYear, Municipality, Programme
from dispatch.programme.periods import (
    fiscal_year_bounds,
    fiscal_year_days,
    fiscal_year_label,
    local_midnight_utc,
    next_month,
    reiwa,
)
from dispatch.reports import counting as c
from dispatch.reports.schemas import (
    ClinicReport,
    ClinicRow,
    Excluded,
    MonthCounts,
    MonthlyReport,
    MonthRow,
    Percentiles,
)


def clinic_report(
    session: Session,
    programme: Programme,
    year: int,
    only_clinic: int | None = None,
    *,
    now: datetime | None = None,
) -> ClinicReport:
    """Per clinic under contract in fiscal year `year`: 契約患者数, 医療相談, 往診, 看取り, 契約時期; 合計.

    `now` (the report's time) counts the enrolled patients of a year still in progress as at that instant."""
    first_day, last_day = fiscal_year_days(year)
    start, end = fiscal_year_bounds(year, programme.timezone)
    fy = session.scalar(
        select(FiscalYear).where(FiscalYear.programme_id == programme.id, FiscalYear.year == year)
    )
    counts_consultations = fy.counts_consultations if fy else True

    contracts = session.execute(
        select(Clinic.id, Clinic.label, Clinic.kind, func.min(ContractPeriod.start_month))
        .join(ContractPeriod, ContractPeriod.clinic_id == Clinic.id)
        .where(
            Clinic.programme_id == programme.id,
            ContractPeriod.start_month <= last_day,
            or_(ContractPeriod.end_month.is_(None), ContractPeriod.end_month >= first_day),
        )
        .group_by(Clinic.id, Clinic.label, Clinic.kind)
        .order_by(Clinic.label)
    ).all()
    # 契約患者数 as at the year's last instant (or now, for a year in progress); who was enrolled at any time
    # of the year (so far); and whose enrolment began in it.
    as_of = min(end - timedelta(microseconds=1), now) if now is not None else end - timedelta(microseconds=1)
    as_of_day = as_of.astimezone(ZoneInfo(programme.timezone)).date()
    patient = Enrolment.patient_id
    enrolled = {
        clinic_id: (int(at_end), int(during), int(new))
        for clinic_id, at_end, during, new in session.execute(
            select(
                Enrolment.clinic_id,
                func.count(
                    func.distinct(
                        case((or_(Enrolment.ended_at.is_(None), Enrolment.ended_at > as_of), patient))
                    )
                ),
                func.count(func.distinct(patient)),
                func.count(func.distinct(case((Enrolment.enrolled_on >= first_day, patient)))),
            )
            .where(
                Enrolment.enrolled_on <= as_of_day,
                or_(Enrolment.ended_at.is_(None), Enrolment.ended_at > start),
            )
            .group_by(Enrolment.clinic_id)
        )
    }
    # One pass over the year's calls: per clinic and category, the calls and the end-of-life among them.
    scope = [Case.programme_id == programme.id, Case.called_at >= start, Case.called_at < end]
    if only_clinic is not None:
        scope.append(Case.clinic_id == only_clinic)
    tallies = c.calls_by_category(session, scope, Case.clinic_id)
    uses: dict[int, tuple[int, int, int]] = {}
    for clinic_id, category, calls, end_of_life in tallies:
        consultations, house_calls, deaths = uses.get(clinic_id, (0, 0, 0))
        if category == c.CONSULTATION:
            consultations += calls
        elif category == c.HOUSE_CALL:
            house_calls, deaths = house_calls + calls, deaths + end_of_life
        uses[clinic_id] = (consultations, house_calls, deaths)
    by_category = [(category, calls) for _, category, calls, _ in tallies]
    marks = dict(
        session.execute(
            select(Clinic.id, Clinic.newly_started_house_calls).where(Clinic.programme_id == programme.id)
        ).all()
    )
    rows = []
    uncounted = 0
    for clinic_id, label, kind, contract_start in contracts:
        if only_clinic is not None and clinic_id != only_clinic:
            continue
        consultations, house_calls, end_of_life = uses.get(clinic_id, (0, 0, 0))
        uncounted += 0 if counts_consultations else int(consultations)
        rows.append(
            ClinicRow(
                clinic_id=clinic_id,
                clinic_label=label,
                clinic_kind=kind.value,
                enrolled_patients=enrolled.get(clinic_id, (0, 0, 0))[0],
                enrolled_during_year=enrolled.get(clinic_id, (0, 0, 0))[1],
                newly_enrolled=enrolled.get(clinic_id, (0, 0, 0))[2],
                consultations=int(consultations) if counts_consultations else None,
                house_calls=int(house_calls),
                end_of_life=int(end_of_life),
                contract_start=contract_start,
                contract_start_reiwa=reiwa(contract_start),
                newly_started_house_calls=bool(marks.get(clinic_id, False)),
            )
        )
    total = ClinicRow(
        clinic_id=None,
        clinic_label="合計",
        clinic_kind=None,
        enrolled_patients=sum(r.enrolled_patients for r in rows),
        enrolled_during_year=sum(r.enrolled_during_year for r in rows),
        newly_enrolled=sum(r.newly_enrolled for r in rows),
        consultations=sum(r.consultations or 0 for r in rows) if counts_consultations else None,
        house_calls=sum(r.house_calls for r in rows),
        end_of_life=sum(r.end_of_life for r in rows),
        contract_start=None,
        contract_start_reiwa=None,
    )
    return ClinicReport(
        fiscal_year=year,
        label=fiscal_year_label(year),
        counts_consultations=counts_consultations,
        rows=rows,
        total=total,
        calls=sum(int(n) for _, n in by_category),
        excluded=Excluded(**c.excluded_counts(by_category + _uncontracted(uses, rows))),
        consultations_not_counted=uncounted,
    )


def _uncontracted(uses: dict, rows: list[ClinicRow]) -> list[tuple[str, int]]:
    """Uses of a clinic with no contract in the year (its contract was changed after the call): out of
    contract, so that the table and its exclusions still add up to every call."""
    shown = {r.clinic_id for r in rows}
    return [("out_of_contract", a + b) for clinic_id, (a, b, _) in uses.items() if clinic_id not in shown]


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
    """Per month (Asia/Tokyo): counts by clinic and municipality, response times, declines, timeouts, alerts."""
    start = local_midnight_utc(first, programme.timezone)
    end = local_midnight_utc(next_month(last), programme.timezone)
    month = c.local_month(session.get_bind().dialect.name)
    scope = [Case.programme_id == programme.id, Case.called_at >= start, Case.called_at < end]
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
