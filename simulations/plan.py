"""A fiscal year of calls from a table in the reference format: who is enrolled from when, and exactly the
table's consultations, house calls and end-of-life cases, each at a night-time slot inside the contract.

A table may add an `area` column (an area's code or name, e.g. inba or 印旛): its rows then belong to
several areas, replayed in one run. Without it every row is the default programme's, as before."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.programme.periods import fiscal_year_days, month_start

# Calls start at these local times; a house call takes under two and a half hours, so they never overlap.
SLOTS = (time(20, 0), time(22, 30), time(1, 0), time(3, 30))
AREA = "area"


@dataclass(frozen=True)
class ClinicPlan:
    label: str
    kind: str
    contract_start: date
    patients: int  # enrolled on 31 March (the table's 契約患者数)
    deaths: int = 0  # patients who die at home during the year, enrolled besides them
    area: str | None = None  # the area's code; None: the default programme's (a table with no area column)

    @property
    def key(self) -> tuple[str | None, str]:
        return self.area, self.label


@dataclass(frozen=True)
class PlannedCall:
    at: datetime  # UTC
    clinic: str
    kind: str  # consultation | visit | end_of_life
    area: str | None = None

    @property
    def key(self) -> tuple[str | None, str]:
        return self.area, self.clinic


def resolve_areas(rows: list[dict[str, str]], areas: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The rows with each `area` cell made the area's code; `areas`: the (code, name) of every area a cell
    may name. A table with no area column comes back as it is. ValueError names the line of an empty or
    unknown area."""
    if not rows or AREA not in rows[0]:
        return rows
    codes = {}
    for code, name in areas:
        codes[code] = codes[name] = code
    resolved = []
    for line, row in enumerate(rows, 2):  # line 1 is the header
        cell = (row[AREA] or "").strip()
        if cell not in codes:
            known = ", ".join(sorted(set(codes.values())))
            problem = "is empty" if not cell else f"{cell!r} is not an area (one of {known}, or its name)"
            raise ValueError(f"line {line}: area {problem}")
        resolved.append({**row, AREA: codes[cell]})
    return resolved


def area_codes(rows: list[dict[str, str]]) -> list[str]:
    """The areas of resolved rows, in the order they first appear (none for a table with no area column)."""
    return list(dict.fromkeys(row[AREA] for row in rows if row.get(AREA)))


def clinics(rows: list[dict[str, str]]) -> list[ClinicPlan]:
    return [
        ClinicPlan(
            r["clinic_label"],
            r["clinic_kind"],
            month_start(r["contract_start"]),
            int(r["enrolled_patients"]),
            int(r["end_of_life"]),
            r.get(AREA) or None,
        )
        for r in rows
    ]


def calls(
    rows: list[dict[str, str]],
    year: int,
    tz: str = "Asia/Tokyo",
    seed: int = 2024,
) -> list[PlannedCall]:
    """Every call of the year in time order, one per slot: one schedule over every area's rows."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    first_day, last_day = fiscal_year_days(year)
    taken: set[datetime] = set()
    planned = []
    for row in rows:
        area = row.get(AREA) or None
        start = max(month_start(row["contract_start"]), first_day)
        kinds = (
            ["consultation"] * int(row["consultations"] or 0)
            + ["end_of_life"] * int(row["end_of_life"])
            + ["visit"] * (int(row["house_calls"]) - int(row["end_of_life"]))
        )
        days = (last_day - start).days  # the last evening's early-morning slots would fall in the next year
        for kind in kinds:
            for _ in range(10_000):
                day = start + timedelta(days=rng.randrange(days))
                slot = rng.choice(SLOTS)
                local = datetime.combine(day + timedelta(days=1) if slot < time(12) else day, slot, zone)
                if local.date() > last_day or local.date() < start:
                    continue
                at = local.astimezone(UTC)
                if at not in taken:
                    taken.add(at)
                    planned.append(PlannedCall(at, row["clinic_label"], kind, area))
                    break
            else:
                raise ValueError(f"{row['clinic_label']}: more calls than night slots in its contract")
    return sorted(planned, key=lambda c: c.at)
