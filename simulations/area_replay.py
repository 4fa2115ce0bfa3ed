"""A table with an area column replayed in one run: each area's clinics, patients and substitute physicians
(rostered in their own area, some nights left to the neighbours), then each area's table as the system
counts it, beside the table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from dispatch.programme.models import Programme
from dispatch.programme.periods import fiscal_year_days
from dispatch.reports.formats import CLINIC_HEADERS_REFERENCE
from dispatch.reports.service import clinic_report
from simulations.areas import ReplayArea
from simulations.plan import AREA, ClinicPlan
from simulations.replay import Replay

# The reference table's columns, in its order.
COLUMNS = CLINIC_HEADERS_REFERENCE


def left_uncovered(position: int, block: int, gap_every: int) -> bool:
    """Whether the area at `position` in the table has nobody on call in 48-hour block number `block`:
    every `gap_every`-th block of every area but the first (0: never)."""
    return position > 0 and gap_every > 0 and block % gap_every == gap_every - 1


def set_up(
    run: Replay, areas: list[ReplayArea], clinics: list[ClinicPlan], year: int, gap_every: int
) -> dict[str, int]:
    """Clinics, patients and a year's roster for each area; the substitute physicians on call in each."""
    first_day, last_day = fiscal_year_days(year)
    start = run.start_clock(clinics, year)
    listed = run.api("admin", "GET", "/api/v1/clinics").json()
    by_id = {c["id"]: c for c in listed}
    towns = run.api("admin", "GET", "/api/v1/programme").json()["municipalities"]
    default_towns = {t["id"] for t in towns}
    known = {c["label"]: c for c in listed if c["municipality_id"] in default_towns}
    by_code = {a.code: a for a in areas}
    for plan in clinics:
        area = by_code[plan.area or ""]
        if area.default:
            clinic = run.open_clinic(plan, known, towns, last_day)
        else:
            clinic = by_id[area.clinics[plan.label]]
        run.enrol_clinic(plan, clinic["id"], clinic.get("municipality_id") or area.towns[0], first_day)
    on_call = substitutes(run, areas, by_id)
    for block_number, block in enumerate(run.blocks(start, last_day)):
        for position, area in enumerate(areas):
            if left_uncovered(position, block_number, gap_every):
                continue
            for physician_id in on_call[area.code]:
                run.put_on_call(physician_id, block, list(area.towns))
    return {area.code: len(on_call[area.code]) for area in areas}


def substitutes(run: Replay, areas: list[ReplayArea], clinics: dict[int, dict]) -> dict[str, list[int]]:
    """The substitute physicians of each area (where their base is); one registered through the API, based
    at the area's first clinic, for an area that has none."""
    area_of = {town: area.code for area in areas for town in area.towns}
    found: dict[str, list[int]] = {area.code: [] for area in areas}
    for physician in run.api("admin", "GET", "/api/v1/roster/physicians").json():
        code = area_of.get(physician["base_municipality_id"])
        if code is not None:
            found[code].append(physician["id"])
    for n, area in enumerate(areas, 1):
        if found[area.code]:
            continue
        base = next((clinics[i]["municipality_id"] for i in area.clinics.values()), None) or area.towns[0]
        made = run.api(
            "admin",
            "POST",
            "/api/v1/roster/physicians",
            json={
                "name": f"再現 代診 {area.name}",
                "role": "substitute",
                "phone": f"090-1119-{n:04d}",
                "base_municipality_id": base,
            },
        ).json()
        found[area.code].append(made["id"])
    return found


def counted(run: Replay, areas: list[ReplayArea], year: int, database_url: str, now: datetime) -> dict:
    """Each area's per-clinic rows as the system counts them: the default programme's from the API, the
    others' from the same report function on the replay's database (the API reports the default one)."""
    result = {}
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            for area in areas:
                if area.default:
                    result[area.code] = run.report(year)["rows"]
                    continue
                programme = session.scalars(select(Programme).where(Programme.code == area.programme)).one()
                report = clinic_report(session, programme, year, now=now)
                result[area.code] = [row.model_dump(mode="json") for row in report.rows]
    finally:
        engine.dispose()
    return result


def compare(table: list[dict[str, str]], codes: list[str | None], reports: dict) -> tuple[list[str], bool]:
    """The table's rows as the system counted them, as CSV lines (the header first), and whether every
    area's table is reproduced exactly (no other clinic of an area counted anything either). `codes`: each
    row's area code (None in a table with no area column); `reports`: each area's rows, by code."""
    columns = [c for c in table[0] if c in COLUMNS or c == AREA] if table else COLUMNS
    printed: dict[tuple[str | None, str], dict[str, str]] = {}
    for code, rows in reports.items():
        for r in rows:
            row = {k: ("" if r[k] is None else str(r[k])) for k in COLUMNS}
            row["contract_start"] = row["contract_start"][:7]
            printed[(code, row["clinic_label"])] = row
    lines = [",".join(columns)]
    matches = True
    for row, code in zip(table, codes, strict=True):
        got = printed.get((code, row["clinic_label"]), {})
        lines.append(",".join(row[AREA] if k == AREA else got.get(k, "?") for k in columns))
        matches = matches and got == {k: row[k] for k in COLUMNS}
    listed = set(zip(codes, (r["clinic_label"] for r in table), strict=True))
    others = [
        key
        for key, row in printed.items()
        if key not in listed
        and any(row[k] not in ("0", "") for k in ("enrolled_patients", "consultations", "house_calls"))
    ]
    return lines, matches and not others
