"""広域連携: the prefecture's nine areas loaded from its tables, and each call landing in its own area's
programme."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.cases.models import Case
from dispatch.programme.models import Municipality, Programme
from tests.factories import intake_body, new_area_hours

REFERENCE = Path(__file__).resolve().parents[1] / "config" / "reference"


def _csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE / f"chiba_{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_prefectures_areas_add_up_to_its_tables(client, login):
    areas = client.get("/api/v1/areas", headers=login("prefecture")).json()["areas"]
    assert [a["name"] for a in areas] == [r["medical_area"] for r in _csv("coordination_hubs_by_area")]
    assert sum(a["municipalities"] for a in areas) == 54
    assert sum(a["municipalities_with_hub"] for a in areas) == 43
    for area, row in zip(areas, _csv("coordination_hubs_by_area"), strict=True):
        assert area["municipalities"] == int(row["municipalities"]), area["name"]
    associations = [a for area in areas for hc in area["health_centres"] for a in hc["associations"]]
    assert len(associations) == 22
    totals = {
        k: sum(a[k] for a in associations)
        for k in (
            "enhanced_support_hospitals",
            "enhanced_support_clinics",
            "backup_hospitals",
            "enhanced_visiting_nurse_stations",
        )
    }
    assert totals == {
        "enhanced_support_hospitals": 30,
        "enhanced_support_clinics": 236,
        "backup_hospitals": 24,
        "enhanced_visiting_nurse_stations": 35,
    }
    # Every town sits in exactly one association, and each area's towns are its associations' towns.
    towns = [t["code"] for a in associations for t in a["municipalities"]]
    assert len(towns) == len(set(towns)) == 54
    inba = next(a for a in areas if a["code"] == "inba")
    assert inba["programme"] == "inba" and inba["municipalities_with_hub"] == 7
    assert [hc["name"] for hc in inba["health_centres"]] == ["印旛"]
    assert {n for n in inba["neighbours"]} >= {"katori-kaiso", "chiba"}


def test_neighbours_are_mutual(client, login):
    areas = {a["code"]: a for a in client.get("/api/v1/areas", headers=login("operator")).json()["areas"]}
    for code, area in areas.items():
        for neighbour in area["neighbours"]:
            assert code in areas[neighbour]["neighbours"], (code, neighbour)


def test_the_area_list_needs_a_login(client):
    assert client.get("/api/v1/areas").status_code == 401


def test_each_call_belongs_to_the_programme_of_the_area_the_patient_lives_in(
    client, login, services, demo_areas
):
    operator = login("operator")
    with services.session_factory() as session:
        programmes = dict(session.execute(select(Programme.code, Programme.id)).all())
        tako = session.scalar(select(Municipality.id).where(Municipality.name == "多古町"))
    known = client.post(
        "/api/v1/cases",
        headers=operator,
        json=intake_body(patient={"clinic_patient_number": "K-0001"}),
    ).json()
    unidentified = client.post(
        "/api/v1/cases",
        headers=operator,
        json=intake_body(patient={"unidentified": True, "municipality_id": tako}),
    ).json()
    nowhere = client.post(
        "/api/v1/cases", headers=operator, json=intake_body(patient={"unidentified": True})
    ).json()
    inba_patient = client.post(
        "/api/v1/cases",
        headers=operator,
        json=intake_body(patient={"clinic_patient_number": "D-0001"}),
    ).json()
    with services.session_factory() as session:
        placed = {c.id: c.programme_id for c in session.scalars(select(Case))}
    assert placed[known["id"]] == programmes["katori-kaiso"]
    assert placed[unidentified["id"]] == programmes["katori-kaiso"]
    assert placed[nowhere["id"]] == programmes["inba"]  # no town: the deployment's default area
    assert placed[inba_patient["id"]] == programmes["inba"]


def test_each_area_judges_calls_by_its_own_service_hours(client, login, services, demo_areas):
    # 香取海匝 starts its nights at 22:00 from a new version of its own rule; 印旛 keeps 18:00.
    new_area_hours(services, "katori-kaiso", datetime(2024, 12, 1, tzinfo=UTC), weekday_from="22:00")
    operator = login("operator")
    at = "2025-01-15T20:00:00+09:00"  # a Wednesday, 20:00 in Tokyo
    katori_case = client.post(
        "/api/v1/cases",
        headers=operator,
        json=intake_body(patient={"clinic_patient_number": "K-0001"}, called_at=at),
    ).json()
    inba_case = client.post(
        "/api/v1/cases",
        headers=operator,
        json=intake_body(patient={"clinic_patient_number": "D-0001"}, called_at=at),
    ).json()
    assert katori_case["in_service_hours"] is False
    assert inba_case["in_service_hours"] is True


def test_the_demo_has_an_area_coordinator_for_its_second_area(services, demo_areas):
    with services.session_factory() as session:
        user = session.scalar(select(User).where(User.username == "coordinator-katori"))
        inba_coordinator = session.scalar(select(User).where(User.username == "coordinator"))
        katori_area = session.scalar(select(Programme.area_id).where(Programme.code == "katori-kaiso"))
    assert user.area_id == katori_area
    assert inba_coordinator.area_id is None  # the centre's own coordinator sees every area


def test_the_console_knows_every_town_of_every_area_served_here(client, login, services, demo_areas):
    programme = client.get("/api/v1/programme", headers=login("operator")).json()
    assert [a["area"] for a in programme["areas"]] == ["印旛", "香取海匝"]
    towns = {m["name"]: m["area_id"] for m in programme["municipalities"]}
    assert len(towns) == 9 + 7  # an operator may log a call from any town of either area
    katori = programme["areas"][1]["area_id"]
    assert towns["多古町"] == katori and towns["佐倉市"] != katori
    assert "千葉市" not in towns  # an area with no programme here is not offered
