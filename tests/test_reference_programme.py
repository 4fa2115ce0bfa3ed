"""The reference programme as data: 印旛's nine municipalities, the prefecture's ten clinics and their
contract months, fiscal years; `seed demo` loads it with a user per role and can run twice."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from dispatch.auth.models import Role, User
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.db import unit_of_work
from dispatch.programme.models import FiscalYear, MedicalArea, Municipality
from dispatch.roster.models import Shift
from dispatch.roster.service import shifts_at
from dispatch.seed.demo import seed_demo
from dispatch.seed.reference import load_programme_data

REFERENCE = Path(__file__).resolve().parents[1] / "config" / "reference"
INBA = {"成田市", "佐倉市", "四街道市", "八街市", "印西市", "白井市", "富里市", "酒々井町", "栄町"}


def _table(year: int) -> list[dict[str, str]]:
    with (REFERENCE / f"model_project_fy{year}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_area_has_its_nine_municipalities_inside_inba(services, demo_logins):
    with services.session_factory() as session:
        towns = list(session.scalars(select(Municipality).join(MedicalArea).where(MedicalArea.code == "inba")))
    assert {t.name for t in towns} == INBA
    for town in towns:  # roughly the 印旛 area
        assert 35.6 < town.latitude < 35.9 and 140.0 < town.longitude < 140.4, town.name


def test_clinics_and_contract_months_match_the_prefectures_tables(services, demo_logins):
    with services.session_factory() as session:
        periods = session.execute(
            select(Clinic.label, Clinic.kind, ContractPeriod.start_month).join(ContractPeriod)
        )
        starts: dict[str, set[str]] = {}
        kinds = {}
        for label, kind, start in periods:
            starts.setdefault(label, set()).add(start.strftime("%Y-%m"))
            kinds[label] = kind.value
    for year in (2023, 2024):
        for row in _table(year):
            assert row["contract_start"] in starts[row["clinic_label"]], (year, row["clinic_label"])
            assert kinds[row["clinic_label"]] == row["clinic_kind"]
    assert len(kinds) == len(_table(2024)) == 10


def test_fiscal_year_2023_did_not_count_consultations(services, demo_logins):
    with services.session_factory() as session:
        years = {fy.year: fy.counts_consultations for fy in session.scalars(select(FiscalYear))}
    assert years[2023] is False and years[2024] is True


def test_one_demo_user_per_role(services, demo_logins):
    with services.session_factory() as session:
        roles = list(session.scalars(select(User.role)))
    assert sorted(roles) == sorted(Role)
    assert {d.role for d in demo_logins} == set(Role)


def test_the_demo_roster_has_physicians_on_call_tonight(services, demo_logins):
    with services.session_factory() as session:
        on_call = shifts_at(session, services.clock.now())
        noon = shifts_at(session, services.clock.now() + timedelta(hours=13))  # 12:00 next day
    assert len(on_call) == 5
    assert len(noon) == 2  # the two around-the-clock demo physicians keep a daytime demo working
    assert all(s.coverage for s in on_call)


def test_seeding_twice_adds_nothing(services, demo_logins):
    def counts():
        with services.session_factory() as session:
            return [
                session.scalar(select(func.count()).select_from(m))
                for m in (User, Clinic, Shift, ContractPeriod)
            ]

    before = counts()
    with unit_of_work(services.session_factory) as session:
        seed_demo(session, load_programme_data("inba"), services.clock, services.passwords)
    assert counts() == before


def test_shifts_cross_midnight_in_tokyo(services, demo_logins):
    with services.session_factory() as session:
        night = [s for s in session.scalars(select(Shift)) if s.physician.name == "代診 印西"]
    wednesday = next(s for s in night if s.starts_at.date() == datetime(2025, 1, 15).date())
    assert wednesday.starts_at.isoformat() == "2025-01-15T09:00:00+00:00"  # 18:00 JST
    assert wednesday.ends_at.isoformat() == "2025-01-15T23:00:00+00:00"  # 08:00 JST next day
