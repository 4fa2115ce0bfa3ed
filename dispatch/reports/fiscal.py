"""The fiscal-year table of a unit (an area, a 保健所, an association, the prefecture): one grouped pass over
the year's calls, rolled up per programme in Python, each call counted by its own programme's rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.outcomes.models import VisitOutcome
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import FiscalYear, Programme
from dispatch.programme.periods import fiscal_year_bounds, fiscal_year_days, fiscal_year_label, reiwa
from dispatch.reports import counting as c
from dispatch.reports import cross_area, months
from dispatch.reports.schemas import (
    AreaSection,
    ClinicRow,
    CrossArea,
    Excluded,
    UnitReport,
)
from dispatch.reports.units import Unit


@dataclass(frozen=True)
class Tally:
    """The calls of one group: programme, clinic, the visiting physician's area, category."""

    programme_id: int
    clinic_id: int | None
    visiting_area_id: int | None
    category: str
    calls: int
    end_of_life: int


def _tallies(
    session: Session, unit: Unit, start: datetime, end: datetime, only_clinic: int | None
) -> list[Tally]:
    """One pass over the year's calls of the unit, grouped; for an area, also the house calls its physicians
    made in other areas (応援), through their partial index."""
    if months.cacheable(session, unit, only_clinic):
        tallies = [Tally(*t) for t in months.year_tallies(session, [p.id for p in unit.programmes], start)]
    else:
        scope = [Case.called_at >= start, Case.called_at < end, *unit.calls()]
        if only_clinic is not None:
            scope.append(Case.clinic_id == only_clinic)
        # Few groups (a clinic's calls, and its cross-area visits by area): PostgreSQL's extended statistics on
        # these columns (migration 0026) let it estimate as few and aggregate by hash, as for one programme.
        keys = (Case.programme_id, Case.clinic_id, Case.visiting_area_id)
        tallies = [Tally(*row) for row in c.calls_by_category(session, scope, *keys)]
    if unit.ref.kind == "area" and only_clinic is None:
        given = session.execute(
            select(Case.programme_id, func.count())
            .outerjoin(VisitOutcome, VisitOutcome.case_id == Case.id)
            .where(
                Case.visiting_area_id == unit.area_id,
                Case.called_at >= start,
                Case.called_at < end,
                Case.programme_id != unit.programmes[0].id,
                c.in_scope,
                c.is_house_call,
            )
            .group_by(Case.programme_id)
        )
        tallies += [Tally(programme, None, unit.area_id, c.HOUSE_CALL, n, 0) for programme, n in given]
    return tallies


def enrolled_patients(
    session: Session, unit: Unit, year: int, timezone: str, now: datetime | None
) -> dict[int, tuple[int, int, int]]:
    """`_count_enrolled`, an ended year's of an area or the prefecture kept in the cache on PostgreSQL."""
    _, end = fiscal_year_bounds(year, timezone)
    if not months.cacheable(session, unit, None) or end > (now or datetime.now(UTC)):
        return _count_enrolled(session, unit, year, timezone, now)
    scope = unit.programmes[0].id if unit.ref.kind == "area" else months.EVERY_PROGRAMME
    key = f"FY{year}"
    found = months.cached(session, "enrolled", [scope], [key])
    if (scope, key) in found:
        return {int(clinic): (x, y, z) for clinic, (x, y, z) in found[scope, key].items()}
    read = months.versions(session, [months.NAMES, months.ENROLLED])  # before counting
    counted = _count_enrolled(session, unit, year, timezone, now)
    payload = {(scope, key): {str(k): list(v) for k, v in counted.items()}}
    months.keep(session, "enrolled", payload, read, lambda _: (months.NAMES, months.ENROLLED))
    return counted


def _count_enrolled(
    session: Session, unit: Unit, year: int, timezone: str, now: datetime | None
) -> dict[int, tuple[int, int, int]]:
    """Per clinic: enrolled at the year's end (or now), at any time of the year, newly; a 保健所 or association
    counts its towns' patients only."""
    first_day, _ = fiscal_year_days(year)
    start, end = fiscal_year_bounds(year, timezone)
    as_of = min(end - timedelta(microseconds=1), now) if now is not None else end - timedelta(microseconds=1)
    as_of_day = as_of.astimezone(ZoneInfo(timezone)).date()
    patient = Enrolment.patient_id
    query = select(
        Enrolment.clinic_id,
        func.count(
            func.distinct(case((or_(Enrolment.ended_at.is_(None), Enrolment.ended_at > as_of), patient)))
        ),
        func.count(func.distinct(patient)),
        func.count(func.distinct(case((Enrolment.enrolled_on >= first_day, patient)))),
    ).where(Enrolment.enrolled_on <= as_of_day, or_(Enrolment.ended_at.is_(None), Enrolment.ended_at > start))
    if unit.towns is not None:
        query = query.join(Patient, Patient.id == Enrolment.patient_id).where(
            Patient.municipality_id.in_(unit.towns)
        )
    else:  # the unit's programmes' clinics only (by the enrolment's clinic index)
        clinics = select(Clinic.id).where(Clinic.programme_id.in_([p.id for p in unit.programmes]))
        query = query.where(Enrolment.clinic_id.in_(clinics.scalar_subquery()))
    return {
        clinic_id: (int(at_end), int(during), int(new))
        for clinic_id, at_end, during, new in session.execute(query.group_by(Enrolment.clinic_id))
    }


def _sum_rows(rows: list[ClinicRow], label: str, counted: bool) -> ClinicRow:
    return ClinicRow(
        clinic_id=None,
        clinic_label=label,
        clinic_kind=None,
        enrolled_patients=sum(r.enrolled_patients for r in rows),
        enrolled_during_year=sum(r.enrolled_during_year for r in rows),
        newly_enrolled=sum(r.newly_enrolled for r in rows),
        consultations=sum(r.consultations or 0 for r in rows) if counted else None,
        house_calls=sum(r.house_calls for r in rows),
        end_of_life=sum(r.end_of_life for r in rows),
        contract_start=None,
        contract_start_reiwa=None,
    )


def _excluded(sections: Iterable[Excluded]) -> Excluded:
    totals = dict.fromkeys(Excluded.model_fields, 0)
    for excluded in sections:
        for key, value in excluded.model_dump().items():
            totals[key] += value
    return Excluded(**totals)


def unit_report(
    session: Session, unit: Unit, year: int, only_clinic: int | None = None, *, now: datetime | None = None
) -> UnitReport:
    """Per clinic under contract in fiscal year `year`: 契約患者数, 医療相談, 往診, 看取り, 契約時期, grouped by
    area with subtotals and 合計, the calls left out by reason, and cross-area house calls both ways.

    `now` (the report's time) counts the enrolled patients of a year still in progress as at that instant."""
    months.prepare(session)
    timezone = unit.programmes[0].timezone if unit.programmes else "Asia/Tokyo"
    first_day, last_day = fiscal_year_days(year)
    start, end = fiscal_year_bounds(year, timezone)
    ids = [p.id for p in unit.programmes]
    counted = dict.fromkeys(ids, True) | dict(
        session.execute(
            select(FiscalYear.programme_id, FiscalYear.counts_consultations).where(
                FiscalYear.programme_id.in_(ids), FiscalYear.year == year
            )
        ).all()
    )
    contracts = session.execute(
        select(
            Clinic.programme_id,
            Clinic.id,
            Clinic.label,
            Clinic.kind,
            Clinic.newly_started_house_calls,
            func.min(ContractPeriod.start_month),
        )
        .join(ContractPeriod, ContractPeriod.clinic_id == Clinic.id)
        .where(
            Clinic.programme_id.in_(ids),
            ContractPeriod.start_month <= last_day,
            or_(ContractPeriod.end_month.is_(None), ContractPeriod.end_month >= first_day),
        )
        .group_by(Clinic.programme_id, Clinic.id, Clinic.label, Clinic.kind, Clinic.newly_started_house_calls)
        .order_by(Clinic.label)
    ).all()
    enrolled = enrolled_patients(session, unit, year, timezone, now)
    tallies = _tallies(session, unit, start, end, only_clinic)
    areas = cross_area.AreaNames(session)
    # 応援 is an area's: below it (a 保健所, an association) or for one clinic it is not shown.
    with_given = unit.by_programme and only_clinic is None
    helped = cross_area.helped(
        areas,
        (
            (t.programme_id, t.visiting_area_id, t.calls)
            for t in tallies
            if t.category == c.HOUSE_CALL and t.visiting_area_id
        ),
    )

    sections = []
    for programme in unit.programmes:
        own = [t for t in tallies if t.programme_id == programme.id]
        clinics = [row for row in contracts if row[0] == programme.id]
        if not unit.by_programme:  # a 保健所 or association: the clinics with calls or patients in its towns
            active = {t.clinic_id for t in own} | {k for k, v in enrolled.items() if any(v)}
            clinics = [row for row in clinics if row[1] in active]
        if only_clinic is not None:
            clinics = [row for row in clinics if row[1] == only_clinic]
        if not clinics and not own and not unit.by_programme:
            continue
        sections.append(
            _section(
                programme,
                counts_consultations=counted[programme.id],
                clinics=clinics,
                own=own,
                enrolled=enrolled,
                areas=areas,
                helped=dict(helped.get(programme.area_id, {})) if with_given else None,
            )
        )
    return _combine(unit, year, sections, areas)


def _section(
    programme: Programme,
    *,
    counts_consultations: bool,
    clinics: list,
    own: list[Tally],
    enrolled: dict[int, tuple[int, int, int]],
    areas: cross_area.AreaNames,
    helped: dict[int, int] | None,
) -> AreaSection:
    """One programme's rows, subtotal, exclusions and cross-area house calls (`helped`: the house calls its
    area's physicians made in each other area; None where 応援 is not shown)."""
    uses: dict[int | None, tuple[int, int, int]] = {}
    received: dict[int, int] = defaultdict(int)
    for t in own:
        consultations, house_calls, deaths = uses.get(t.clinic_id, (0, 0, 0))
        if t.category == c.CONSULTATION:
            consultations += t.calls
        elif t.category == c.HOUSE_CALL:
            house_calls, deaths = house_calls + t.calls, deaths + t.end_of_life
            if t.visiting_area_id is not None and t.visiting_area_id != programme.area_id:
                received[t.visiting_area_id] += t.calls
        uses[t.clinic_id] = (consultations, house_calls, deaths)
    rows = []
    for _, clinic_id, label, kind, newly_started, contract_start in clinics:
        consultations, house_calls, end_of_life = uses.get(clinic_id, (0, 0, 0))
        at_end, during, new = enrolled.get(clinic_id, (0, 0, 0))
        rows.append(
            ClinicRow(
                clinic_id=clinic_id,
                clinic_label=label,
                clinic_kind=kind.value,
                enrolled_patients=at_end,
                enrolled_during_year=during,
                newly_enrolled=new,
                consultations=consultations if counts_consultations else None,
                house_calls=house_calls,
                end_of_life=end_of_life,
                contract_start=contract_start,
                contract_start_reiwa=reiwa(contract_start),
                newly_started_house_calls=bool(newly_started),
            )
        )
    shown = {r.clinic_id for r in rows}
    # Uses of a clinic with no contract in the year (changed after the call): out of contract, so that the
    # table and its exclusions still add up to every call.
    uncontracted = [("out_of_contract", a + b) for k, (a, b, _) in uses.items() if k not in shown]
    area_code, area_name = areas.names[programme.area_id]
    return AreaSection(
        area_code=area_code,
        area_name=area_name,
        programme=programme.code,
        counts_consultations=counts_consultations,
        rows=rows,
        subtotal=_sum_rows(rows, "小計", counts_consultations),
        calls=sum(t.calls for t in own),
        excluded=Excluded(**c.excluded_counts([(t.category, t.calls) for t in own] + uncontracted)),
        consultations_not_counted=0
        if counts_consultations
        else sum(a for k, (a, _, _) in uses.items() if k in shown),
        cross_area=CrossArea(
            received=sum(received.values()),
            given=None if helped is None else sum(helped.values()),
            by_area=areas.lines(received, helped),
        ),
    )


def _combine(unit: Unit, year: int, sections: list[AreaSection], areas: cross_area.AreaNames) -> UnitReport:
    counted = [s for s in sections if s.counts_consultations]
    rows = [r for s in sections for r in s.rows]
    total = _sum_rows([s.subtotal for s in sections], "合計", bool(counted) or not sections)
    return UnitReport(
        fiscal_year=year,
        label=fiscal_year_label(year),
        counts_consultations=len(counted) == len(sections),
        rows=rows,
        total=total,
        calls=sum(s.calls for s in sections),
        excluded=_excluded(s.excluded for s in sections),
        consultations_not_counted=sum(s.consultations_not_counted for s in sections),
        unit=unit.ref,
        cross_area=cross_area.combined(areas, sections, unit.ref.kind == "prefecture"),
        areas=sections,
    )
