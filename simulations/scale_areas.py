"""The national data set's reference rows: its areas (each a programme with its municipalities, clinics and
service hours), how the patients, physicians and clinics are shared among them, and the users who log in.

Everything about areas is in `make_areas`, so that it can follow the multi-area schema when that lands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import insert
from sqlalchemy.orm import Session

from dispatch.auth.models import Role
from dispatch.auth.passwords import Passwords
from dispatch.auth.service import create_user
from dispatch.clinics.models import Clinic, ClinicKind, ContractPeriod
from dispatch.clock import SystemClock
from dispatch.programme.models import MedicalArea, Municipality, Programme, ServiceHoursRule
from dispatch.seed.reference import load_programme_data

TOWNS_PER_AREA = 10
PATIENTS_PER_CLINIC = 500
# The area the API serves (settings.programme_code): the first and largest.
API_PROGRAMME = "scale01"
USERS = {"operator": Role.operator, "analyst": Role.prefecture_analyst, "admin": Role.admin}
PASSWORD = "scale-{}-password"


@dataclass(frozen=True)
class Area:
    """One area's ids and its share of the people: patients and physicians as id ranges [lo, lo + n)."""

    programme_id: int
    area_id: int
    town_ids: list[int]
    town_lat: list[float]
    town_lon: list[float]
    clinic_ids: list[int]
    patient_lo: int
    patients: int
    physician_lo: int
    physicians: int


def apportion(total: int, weights: list[float]) -> list[int]:
    """`total` shared in proportion to `weights` (largest remainders), each at least 1 while there is enough."""
    floor = 1 if total >= len(weights) else 0
    spare = total - floor * len(weights)
    exact = [spare * w / sum(weights) for w in weights]
    shares = [floor + math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - math.floor(exact[i]), reverse=True)
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def area_weights(areas: int) -> list[float]:
    """Areas differ in size as Japan's do: the k-th largest holds about k^-0.7 of the first's people."""
    return [(k + 1) ** -0.7 for k in range(areas)]


def first_fiscal_year_start(now: datetime) -> date:
    """The data set's first day: 1 April two fiscal years before the one in progress (three in all)."""
    local = now.astimezone(UTC).date()
    year = local.year if local.month >= 4 else local.year - 1
    return date(year - 2, 4, 1)


def make_areas(
    session: Session, areas: int, patients: int, physicians: int, now: datetime
) -> tuple[list[Area], date]:
    """Create `areas` areas (each a medical area and its programme, ten municipalities, its clinics under
    contract since the first day, the night/holiday hours of 印旛) spread over Japan; returns each with
    its share of `patients` and `physicians`, and the first day."""
    starts_on = first_fiscal_year_start(now)
    rule = {k: v for k, v in load_programme_data("inba")["service_hours_rules"][0].items()}
    rule.pop("version"), rule.pop("effective_from")
    weights = area_weights(areas)
    patient_counts = apportion(patients, weights)
    physician_counts = apportion(physicians, weights)
    clinic_counts = apportion(max(areas, patients // PATIENTS_PER_CLINIC), weights)
    result: list[Area] = []
    patient_lo, physician_lo = 1, 1
    for k in range(areas):
        # A grid over Japan from Kyushu to Hokkaido; towns within about 15 km of the area's centre.
        lat, lon = 31.5 + (k % 10) * 1.1, 130.5 + (k // 10) * 2.2 + (k % 10) * 0.5
        area = MedicalArea(
            code=f"scale{k + 1:02d}",
            name=f"試験圏{k + 1:02d}",
            prefecture=f"試験県{k // 5 + 1}",
            road_factor=1.35,
            travel_speed_kmh=32.0,
        )
        session.add(area)
        session.flush()
        towns = [
            Municipality(
                code=f"9{k + 1:02d}{t + 1:02d}",
                name=f"試験圏{k + 1:02d}第{t + 1}市",
                area_id=area.id,
                latitude=lat + 0.12 * math.cos(t * 0.63),
                longitude=lon + 0.15 * math.sin(t * 0.63),
            )
            for t in range(TOWNS_PER_AREA)
        ]
        session.add_all(towns)
        programme = Programme(
            code=f"scale{k + 1:02d}",
            name=f"試験圏{k + 1:02d} 往診体制広域連携支援センター",
            prefecture=area.prefecture,
            area_id=area.id,
            timezone="Asia/Tokyo",
            starts_on=starts_on,
        )
        session.add(programme)
        session.flush()
        session.add(
            ServiceHoursRule(
                programme_id=programme.id,
                version=1,
                effective_from=datetime.combine(starts_on, time(0), UTC),
                definition=rule,
            )
        )
        clinic_ids = list(
            session.scalars(
                insert(Clinic).returning(Clinic.id),
                [
                    {
                        "programme_id": programme.id,
                        "label": f"試験{k + 1:02d}-{c + 1:03d}{'病院' if c % 5 == 0 else '診療所'}",
                        "kind": ClinicKind.hospital if c % 5 == 0 else ClinicKind.clinic,
                        "municipality_id": towns[c % len(towns)].id,
                        "newly_started_house_calls": c % 7 == 0,
                    }
                    for c in range(clinic_counts[k])
                ],
            )
        )
        session.execute(
            insert(ContractPeriod),
            [{"clinic_id": c, "start_month": starts_on, "end_month": None} for c in clinic_ids],
        )
        result.append(
            Area(
                programme_id=programme.id,
                area_id=area.id,
                town_ids=[t.id for t in towns],
                town_lat=[t.latitude for t in towns],
                town_lon=[t.longitude for t in towns],
                clinic_ids=clinic_ids,
                patient_lo=patient_lo,
                patients=patient_counts[k],
                physician_lo=physician_lo,
                physicians=physician_counts[k],
            )
        )
        patient_lo += patient_counts[k]
        physician_lo += physician_counts[k]
    session.flush()
    return result, starts_on


def make_users(session: Session) -> dict[str, str]:
    """The operator, the prefecture's analyst and an admin; returns {username: password}."""
    passwords = Passwords(1024, 1)  # as the stack is configured: logging in costs nothing measurable
    logins = {}
    for name, role in USERS.items():
        username = f"scale-{name}"
        logins[username] = PASSWORD.format(name)
        create_user(
            session,
            passwords,
            SystemClock(),
            username=username,
            password=logins[username],
            display_name=f"試験 {name}",
            role=role,
        )
    return logins
