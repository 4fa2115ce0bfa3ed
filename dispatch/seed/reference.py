"""Load the reference programme (area, municipalities, fiscal years, hours, clinics) from config/."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.clinics.models import Clinic, ClinicKind, ContractPeriod
from dispatch.hospitals.models import Hospital
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.seed.prefecture import load_prefecture_data, seed_prefecture

PROGRAMMES_DIR = Path(__file__).resolve().parents[2] / "config" / "programmes"


def programme_file(code: str) -> Path:
    """The TOML file that describes programme `code`."""
    return PROGRAMMES_DIR / f"{code}.toml"


def load_programme_data(code: str) -> dict[str, Any]:
    """Read a programme's TOML description."""
    with programme_file(code).open("rb") as handle:
        return tomllib.load(handle)


def month_start(text: str) -> date:
    """'2024-04' -> 2024-04-01."""
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _rule_definition(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in {"version", "effective_from"}}


def _starts_on(data: dict[str, Any]) -> date:
    """The programme's first day: as written, else its first fiscal year's, else its earliest contract's."""
    if "starts_on" in data["programme"]:
        return data["programme"]["starts_on"]
    if data.get("fiscal_years"):
        return date(min(fy["year"] for fy in data["fiscal_years"]), 4, 1)
    return min(month_start(start) for c in data["clinics"] for start, _ in c["contracts"])


def seed_reference(session: Session, data: dict[str, Any]) -> Programme:
    """Insert the programme described by `data`, or return it if it is already there (adding only the
    hospitals it lacks)."""
    spec = data["programme"]
    if spec.get("areas"):  # the prefecture's areas first: the programme's area is one of them
        seed_prefecture(session, load_prefecture_data(spec["areas"]))
    existing = session.scalar(select(Programme).where(Programme.code == spec["code"]))
    if existing is not None:
        seed_hospitals(session, existing, data)
        return existing

    area_spec = data["area"]
    area = session.scalar(select(MedicalArea).where(MedicalArea.code == area_spec["code"]))
    if area is None:
        area = MedicalArea(**area_spec)
        session.add(area)
        session.flush()
    towns = {m.code: m for m in session.scalars(select(Municipality))}
    municipalities = {}
    for m in data.get("municipalities", []):
        municipalities[m["code"]] = towns.get(m["code"]) or Municipality(area_id=area.id, **m)
    session.add_all(municipalities.values())
    for town in towns.values():
        if town.area_id == area.id:
            municipalities.setdefault(town.code, town)

    programme = Programme(
        code=spec["code"],
        name=spec["name"],
        prefecture=spec["prefecture"],
        area_id=area.id,
        timezone=spec["timezone"],
        coordinator_phone=data.get("demo", {}).get("coordinator_phone"),
        starts_on=_starts_on(data),
        ends_on=spec.get("ends_on"),
    )
    session.add(programme)
    session.flush()
    for fy in data.get("fiscal_years", []):
        session.add(FiscalYear(programme_id=programme.id, **fy))
    for rule in data["service_hours_rules"]:
        session.add(
            ServiceHoursRule(
                programme_id=programme.id,
                version=rule["version"],
                effective_from=datetime.fromisoformat(rule["effective_from"]),
                definition=_rule_definition(rule),
            )
        )
    session.flush()
    for c in data["clinics"]:
        clinic = Clinic(
            programme_id=programme.id,
            label=c["label"],
            kind=ClinicKind(c["kind"]),
            municipality_id=municipalities[c["municipality"]].id if c.get("municipality") else None,
            newly_started_house_calls=c.get("newly_started_house_calls", False),
        )
        session.add(clinic)
        session.flush()
        for start, last in c["contracts"]:
            session.add(
                ContractPeriod(
                    clinic_id=clinic.id,
                    start_month=month_start(start),
                    end_month=month_start(last) if last else None,
                )
            )
    session.flush()
    seed_hospitals(session, programme, data)
    return programme


def seed_hospitals(session: Session, programme: Programme, data: dict[str, Any]) -> None:
    """Add the hospitals the description lists that the programme does not have yet (by name)."""
    have = set(session.scalars(select(Hospital.name).where(Hospital.programme_id == programme.id)))
    towns = {m.code: m.id for m in session.scalars(select(Municipality))}
    for h in data.get("hospitals", []):
        if h["name"] in have:
            continue
        session.add(
            Hospital(
                programme_id=programme.id,
                name=h["name"],
                municipality_id=towns[h["municipality"]] if h.get("municipality") else None,
                backup_support=h.get("backup_support", False),
                backup_beds=h.get("backup_beds", 0),
            )
        )
    session.flush()
