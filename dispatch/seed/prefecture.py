"""Load a prefecture's areas (二次医療圏 → 保健所 → 地区医師会 → 市町村) and neighbours from config."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.models import HealthCentre, MedicalAssociation
from dispatch.programme.models import MedicalArea, Municipality

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "config" / "reference"
RESOURCE_COLUMNS = (
    "enhanced_support_hospitals",
    "enhanced_support_clinics",
    "backup_hospitals",
    "enhanced_visiting_nurse_stations",
)


def _rows(name: str, prefix: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / f"{prefix}_{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_prefecture_data(prefix: str) -> dict[str, Any]:
    """The prefecture's areas file and its three tables, read from config/reference/{prefix}_*."""
    with (REFERENCE_DIR / f"{prefix}_areas.toml").open("rb") as handle:
        data = tomllib.load(handle)
    data["resources"] = _rows("home_care_resources", prefix)
    data["hubs"] = _rows("coordination_hubs_by_area", prefix)
    data["municipalities"] = _rows("municipalities", prefix)
    return data


def seed_prefecture(session: Session, data: dict[str, Any]) -> dict[str, MedicalArea]:
    """Insert what is missing of the prefecture's areas, 保健所, associations, towns and neighbours; keyed
    by area name. Running it again changes nothing; an area or town already there keeps its own figures."""
    areas = {a.name: a for a in session.scalars(select(MedicalArea))}
    hubs = {row["medical_area"]: row for row in data["hubs"]}
    for position, spec in enumerate(data["areas"]):
        area = areas.get(spec["name"])
        if area is None:
            area = MedicalArea(
                code=spec["code"],
                name=spec["name"],
                prefecture=data["prefecture"],
                road_factor=spec.get("road_factor", 1.3),
                travel_speed_kmh=spec.get("travel_speed_kmh", 35.0),
                travel_cap_min=spec.get("travel_cap_min", data.get("default_travel_cap_min", 60)),
            )
            session.add(area)
            areas[spec["name"]] = area
        area.position = position
        hub = hubs.get(spec["name"])
        area.municipalities_with_hub = int(hub["municipalities_with_hub"]) if hub else None
    session.flush()
    by_code = {a.code: a for a in areas.values()}
    for spec in data["areas"]:
        area = areas[spec["name"]]
        have = {n.id for n in area.neighbours}
        area.neighbours.extend(by_code[c] for c in spec.get("neighbours", []) if by_code[c].id not in have)
    centres = _seed_health_centres(session, data["resources"], areas)
    associations = _seed_associations(session, data["resources"], areas, centres)
    _seed_municipalities(session, data["municipalities"], areas, centres, associations)
    session.flush()
    return areas


def _seed_health_centres(
    session: Session, rows: list[dict[str, str]], areas: dict[str, MedicalArea]
) -> dict[tuple[str, str], HealthCentre]:
    centres = {
        (c.area_id, c.name): c for c in session.scalars(select(HealthCentre))
    }  # keyed by area id while reading
    result: dict[tuple[str, str], HealthCentre] = {}
    for position, row in enumerate(rows):
        area = areas[row["medical_area"]]
        key = (row["medical_area"], row["health_center"])
        if key in result:
            continue
        centre = centres.get((area.id, row["health_center"]))
        if centre is None:
            centre = HealthCentre(area_id=area.id, name=row["health_center"], position=position)
            session.add(centre)
        result[key] = centre
    session.flush()
    return result


def _seed_associations(
    session: Session,
    rows: list[dict[str, str]],
    areas: dict[str, MedicalArea],
    centres: dict[tuple[str, str], HealthCentre],
) -> dict[str, MedicalAssociation]:
    have = {a.name: a for a in session.scalars(select(MedicalAssociation))}
    for position, row in enumerate(rows):
        name = row["district_medical_association"]
        if name in have:
            continue
        association = MedicalAssociation(
            name=name,
            health_centre_id=centres[(row["medical_area"], row["health_center"])].id,
            position=position,
            **{column: int(row[column]) for column in RESOURCE_COLUMNS},
        )
        session.add(association)
        have[name] = association
    session.flush()
    return have


def _seed_municipalities(
    session: Session,
    rows: list[dict[str, str]],
    areas: dict[str, MedicalArea],
    centres: dict[tuple[str, str], HealthCentre],
    associations: dict[str, MedicalAssociation],
) -> None:
    towns = {m.code: m for m in session.scalars(select(Municipality))}
    for row in rows:
        town = towns.get(row["code"])
        if town is None:
            town = Municipality(
                code=row["code"],
                name=row["name"],
                area_id=areas[row["medical_area"]].id,
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
            )
            session.add(town)
        town.health_centre_id = centres[(row["medical_area"], row["health_center"])].id
        town.medical_association_id = associations[row["district_medical_association"]].id
