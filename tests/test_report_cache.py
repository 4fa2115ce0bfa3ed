"""The reports' cache of ended months (PostgreSQL): the figures read from it are the figures counted from the
cases, and a change to a counted row — an amended outcome, a call logged late into a cached month, a bulk
UPDATE — shows in the next report at once."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode
from dispatch.programme.models import Municipality, Programme
from dispatch.reports import months, warm
from dispatch.reports.models import ReportMonth
from tests.factories import insert_case

pytestmark = pytest.mark.usefixtures("postgres_only")
TOKYO = ZoneInfo("Asia/Tokyo")
CLINICS = {"inba": [("D病院", "成田市"), ("Eクリニック", "佐倉市")]}
CLINICS["katori-kaiso"] = [
    ("香取ひばり診療所", "香取市"),
    ("旭なぎさクリニック", "旭市"),
    ("旭なぎさクリニック", "銚子市"),
]
UNITS = ({"scope": "prefecture"}, {"area": "inba"}, {"area": "katori-kaiso"})


@pytest.fixture
def postgres_only(services):
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the cache of ended months is PostgreSQL's")


@pytest.fixture
def calls(services, demo_areas) -> dict[str, int]:
    """Two hundred calls from October 2024 to February 2025 in both areas, of every kind; {name: a case id}."""
    rng = random.Random(5)
    named = {}
    with unit_of_work(services.session_factory) as session:
        programme = dict(session.execute(select(Programme.code, Programme.id)).all())
        clinic = dict(session.execute(select(Clinic.label, Clinic.id)).all())
        town = dict(session.execute(select(Municipality.name, Municipality.id)).all())
        for n in range(200):
            code = rng.choice(list(CLINICS))
            label, place = rng.choice(CLINICS[code])
            called = datetime(2024, 10, 1, 19, tzinfo=TOKYO) + timedelta(days=rng.randrange(150), minutes=n)
            kind = rng.choice(
                ["consultation", "house call", "death", "no contact", "excluded", "open", "helped"]
            )
            extra: dict = {"decided_at": called + timedelta(minutes=rng.randrange(2, 40))}
            outcome = None
            if kind in ("house call", "death", "no contact", "helped"):
                outcome = {"death": OutcomeCode.death_pronounced, "no contact": OutcomeCode.no_contact}.get(
                    kind, OutcomeCode.treated_at_home
                )
                extra["accepted_at"] = extra["decided_at"] + timedelta(minutes=rng.randrange(1, 30))
                extra["arrived_at"] = extra["accepted_at"] + timedelta(minutes=rng.randrange(10, 90))
            if kind == "helped":
                other = "inba" if code == "katori-kaiso" else "katori-kaiso"
                extra["visiting_area_id"] = session.get_one(Programme, programme[other]).area_id
            if kind == "excluded":
                extra[rng.choice(["in_service_hours", "in_contract"])] = False
            if kind == "open":
                extra.update(state=CaseState.offered, disposition=Disposition.visit_urgent)
            named[kind] = insert_case(
                session,
                programme_id=programme[code],
                clinic_id=clinic[label],
                municipality_id=town[place],
                called_at=called,
                outcome=outcome,
                **extra,
            )
    return named


def _reports(client, headers) -> list[dict]:
    found = []
    for unit in UNITS:
        for path, params in (
            ("/api/v1/reports/clinics", {"fiscal_year": 2024}),
            ("/api/v1/reports/monthly", {"from": "2024-09", "to": "2025-02"}),
        ):
            response = client.get(path, params={**params, **unit}, headers=headers)
            assert response.status_code == 200, response.text
            found.append(response.json())
    return found


def _held(services) -> int:
    with unit_of_work(services.session_factory) as session:
        return session.scalar(select(func.count()).select_from(ReportMonth)) or 0


def test_the_figures_from_the_cache_are_the_figures_counted_from_the_cases(
    client, login, services, calls, monkeypatch
):
    headers = login("prefecture")
    cold = _reports(client, headers)
    assert _held(services) > 0  # ended months kept: the next reports read them
    warm = _reports(client, headers)
    monkeypatch.setattr(months, "cacheable", lambda *args: False)
    counted = _reports(client, headers)
    assert cold == counted and warm == counted
    assert counted[0]["total"]["house_calls"] > 0 and counted[1]["months"][2]["call_to_decision"]["count"] > 0


def _d_hospital(client, headers) -> tuple[int, int]:
    report = client.get("/api/v1/reports/clinics?fiscal_year=2024&area=inba", headers=headers).json()
    row = next(r for r in report["rows"] if r["clinic_label"] == "D病院")
    return row["house_calls"], row["end_of_life"]


def _december(client, headers, **unit) -> dict:
    report = client.get(
        "/api/v1/reports/monthly", params={"from": "2024-12", "to": "2024-12", **unit}, headers=headers
    ).json()
    return report["months"][0]


def test_an_amended_outcome_in_a_cached_month_shows_at_once(client, login, services, demo_areas):
    headers = login("prefecture")
    with unit_of_work(services.session_factory) as session:
        inba = session.scalar(select(Programme.id).where(Programme.code == "inba"))
        d_hospital = session.scalar(select(Clinic.id).where(Clinic.label == "D病院"))
        narita = session.scalar(select(Municipality.id).where(Municipality.name == "成田市"))
        case_id = insert_case(
            session,
            programme_id=inba,
            clinic_id=d_hospital,
            municipality_id=narita,
            called_at=datetime(2024, 12, 3, 23, tzinfo=TOKYO),
            outcome=OutcomeCode.treated_at_home,
        )
    assert _d_hospital(client, headers) == (1, 0)
    assert _december(client, headers, scope="prefecture")["totals"]["end_of_life"] == 0
    assert _held(services) > 0

    with unit_of_work(services.session_factory) as session:  # as a correction written by SQL would
        session.execute(
            text("UPDATE visit_outcome SET outcome = 'death_pronounced' WHERE case_id = :id"), {"id": case_id}
        )
    assert _d_hospital(client, headers) == (1, 1)
    assert _december(client, headers, scope="prefecture")["totals"]["end_of_life"] == 1
    assert _december(client, headers, area="inba")["by_clinic"]["D病院"]["end_of_life"] == 1


def test_a_call_logged_late_into_a_cached_month_shows(client, login, services, calls):
    headers = login("prefecture")
    before_fy = _d_hospital(client, headers)
    before = _december(client, headers, scope="prefecture")
    with unit_of_work(services.session_factory) as session:
        insert_case(
            session,
            programme_id=session.scalar(select(Programme.id).where(Programme.code == "inba")),
            clinic_id=session.scalar(select(Clinic.id).where(Clinic.label == "D病院")),
            municipality_id=session.scalar(select(Municipality.id).where(Municipality.name == "成田市")),
            called_at=datetime(2024, 12, 31, 23, 50, tzinfo=TOKYO),
            outcome=OutcomeCode.treated_at_home,
        )
    after = _december(client, headers, scope="prefecture")
    assert after["calls"] == before["calls"] + 1
    assert after["totals"]["house_calls"] == before["totals"]["house_calls"] + 1
    assert after["by_clinic"]["D病院"]["house_calls"] == before["by_clinic"]["D病院"]["house_calls"] + 1
    assert _d_hospital(client, headers) == (before_fy[0] + 1, before_fy[1])


def _rows(services) -> dict[tuple[str, int, str], object]:
    with unit_of_work(services.session_factory) as session:
        rows = session.execute(
            select(ReportMonth.kind, ReportMonth.scope, ReportMonth.month, ReportMonth.payload)
        )
        return {(kind, scope, month): payload for kind, scope, month, payload in rows}


def test_the_warm_job_refills_a_forgotten_month_as_a_report_would_count_it(client, login, services, calls):
    now = datetime(2025, 3, 15, 12, tzinfo=TOKYO)  # FY2023's 12 months and FY2024's 11 have ended
    # Two areas and the prefecture, each programme's own counts and tallies, last year's enrolled patients.
    months_warmed = {"monthly": 3 * 23, "counts": 2 * 23, "tallies": 2 * 23, "enrolled": 3}
    assert warm.warm(services.session_factory, now) == months_warmed
    warmed = _rows(services)
    assert warm.warm(services.session_factory, now) == {}  # twice: nothing missing, nothing counted
    assert _rows(services) == warmed

    with unit_of_work(services.session_factory) as session:  # a change to December forgets it
        session.execute(
            text("UPDATE visit_outcome SET outcome = 'death_pronounced' WHERE case_id = :id"),
            {"id": calls["house call"]},
        )
        called = session.scalar(select(Case.called_at).where(Case.id == calls["house call"]))
        changed = called.astimezone(TOKYO).strftime("%Y-%m")
    assert len(_rows(services)) == len(warmed) - 4  # counts, tallies, monthly of the area and the prefecture
    assert warm.warm(services.session_factory, now) == {"monthly": 2, "counts": 1, "tallies": 1}
    refilled = _rows(services)
    assert refilled.keys() == warmed.keys()
    assert refilled[("monthly", 0, changed)] != warmed[("monthly", 0, changed)]

    with unit_of_work(services.session_factory) as session:  # the same months counted cold by the reports
        session.execute(text("DELETE FROM report_month"))
    _reports(client, login("prefecture"))
    cold = _rows(services)
    common = refilled.keys() & cold.keys()
    assert len(common) > 40 and ("monthly", 0, changed) in common
    assert {key: refilled[key] for key in common} == {key: cold[key] for key in common}
