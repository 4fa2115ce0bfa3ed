"""A replay across areas: what its database needs before the stack starts. Each area of the table gets a
programme if it has none (the default programme's service hours and fiscal years copied), and the table's
clinics of every area but the default programme's (those go through the API, as in a one-area replay)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, aliased

from dispatch.cases.models import Case
from dispatch.clinics import service as clinics
from dispatch.clinics.models import Clinic
from dispatch.clinics.schemas import ClinicIn, ContractIn
from dispatch.matching.travel import Point, distance_km
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.programme.periods import fiscal_year_days, month_start
from dispatch.seed.prefecture import load_prefecture_data
from dispatch.seed.reference import seed_reference
from simulations.plan import AREA, area_codes


@dataclass(frozen=True)
class ReplayArea:
    """An area of the replay as set up in its database."""

    code: str
    name: str
    programme: str  # the programme's code
    default: bool  # the deployment's default programme's area: its clinics are made through the API
    towns: tuple[int, ...]  # the area's municipality ids, by code
    clinics: dict[str, int] = field(default_factory=dict)  # label → id, of the clinics made here
    points: dict[int, tuple[float, float]] = field(default_factory=dict)  # town id → its reference point


def prefecture_areas(prefix: str = "chiba") -> list[tuple[str, str]]:
    """The (code, name) of each of the prefecture's areas, from config/reference (what an area cell names)."""
    return [(a["code"], a["name"]) for a in load_prefecture_data(prefix)["areas"]]


def programme_for(session: Session, area: MedicalArea, default: Programme) -> Programme:
    """The area's programme; made for it when it has none, with the default programme's service-hours
    rules and fiscal years (their counting rules) and no clinics."""
    existing = session.scalar(select(Programme).where(Programme.area_id == area.id).order_by(Programme.id))
    if existing is not None:
        return existing
    rules = session.scalars(select(ServiceHoursRule).where(ServiceHoursRule.programme_id == default.id))
    years = session.scalars(select(FiscalYear).where(FiscalYear.programme_id == default.id))
    return seed_reference(
        session,
        {
            "programme": {
                "code": area.code,
                "name": f"{default.prefecture}往診体制広域連携支援センター（{area.name}・再現）",
                "prefecture": default.prefecture,
                "timezone": default.timezone,
                "starts_on": default.starts_on,
            },
            "area": {"code": area.code},
            "fiscal_years": [
                {"year": y.year, "label": y.label, "counts_consultations": y.counts_consultations}
                for y in years
            ],
            "service_hours_rules": [
                {"version": r.version, "effective_from": r.effective_from.isoformat(), **r.definition}
                for r in rules
            ],
            "clinics": [],
        },
    )


def border_first(towns: list[Municipality], others: list[Municipality]) -> list[Municipality]:
    """The area's towns, nearest the other areas' towns first: a clinic there is within reach of a
    neighbour's physicians, so the neighbours can back the area up."""
    if not others:
        return towns

    def gap(town: Municipality) -> float:
        here = Point(town.latitude, town.longitude)
        return min(distance_km(here, Point(o.latitude, o.longitude)) for o in others)

    return sorted(towns, key=lambda t: (gap(t), t.code))


def add_clinics(
    session: Session, programme: Programme, rows: list[dict[str, str]], towns: list[Municipality], year: int
) -> dict[str, int]:
    """The rows' clinics in the programme (contracted from their month to the year's end), each in the next
    of `towns`; a clinic already there gets the contract if it lacks it. Label → id."""
    last = fiscal_year_days(year)[1].strftime("%Y-%m")
    made = {}
    for n, row in enumerate(rows):
        label, month = row["clinic_label"], row["contract_start"]
        clinic = session.scalar(
            select(Clinic).where(Clinic.programme_id == programme.id, Clinic.label == label)
        )
        if clinic is None:
            clinic = clinics.add_clinic(
                session,
                programme.id,
                ClinicIn(
                    label=label,
                    kind=row["clinic_kind"],
                    municipality_id=towns[n % len(towns)].id,
                    contract_periods=[ContractIn(start_month=month, end_month=last)],
                ),
            )
        elif not any(p.start_month == month_start(month) for p in clinic.contract_periods):
            clinics.add_contract(session, clinic, month, last)
        made[label] = clinic.id
    return made


def prepare(session: Session, rows: list[dict[str, str]], year: int, default_code: str) -> list[ReplayArea]:
    """Programmes and clinics for a table whose rows name their areas (resolved to codes), in the order the
    areas first appear."""
    default = session.scalar(select(Programme).where(Programme.code == default_code))
    if default is None:
        raise LookupError(f"the default programme {default_code!r} is not loaded")
    codes = area_codes(rows)
    areas = {a.code: a for a in session.scalars(select(MedicalArea).where(MedicalArea.code.in_(codes)))}
    towns = {
        code: list(
            session.scalars(
                select(Municipality).where(Municipality.area_id == area.id).order_by(Municipality.code)
            )
        )
        for code, area in areas.items()
    }
    result = []
    for code in codes:
        area = areas[code]
        programme = programme_for(session, area, default)
        made = {}
        if programme.id != default.id:
            others = [t for other, ts in towns.items() if other != code for t in ts]
            area_rows = [r for r in rows if r[AREA] == code]
            made = add_clinics(session, programme, area_rows, border_first(towns[code], others), year)
        result.append(
            ReplayArea(
                code,
                area.name,
                programme.code,
                programme.id == default.id,
                tuple(t.id for t in towns[code]),
                made,
                {t.id: (t.latitude, t.longitude) for t in towns[code]},
            )
        )
    session.flush()
    return result


def prepare_database(
    database_url: str, rows: list[dict[str, str]], year: int, default_code: str
) -> list[ReplayArea]:
    """`prepare` in a transaction of its own on the replay's database (before its processes start)."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            prepared = prepare(session, rows, year, default_code)
            session.commit()
        return prepared
    finally:
        engine.dispose()


def cross_area_visits(database_url: str) -> dict[tuple[str, str], int]:
    """Cases a physician from another area took: (the physician's area, the patient's area) → how many."""
    visiting, home = aliased(MedicalArea), aliased(MedicalArea)
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(visiting.name, home.name, func.count(Case.id))
                .join(visiting, visiting.id == Case.visiting_area_id)
                .join(Programme, Programme.id == Case.programme_id)
                .join(home, home.id == Programme.area_id)
                .group_by(visiting.name, home.name)
            ).all()
    finally:
        engine.dispose()
    return {(a, b): int(n) for a, b, n in rows}
