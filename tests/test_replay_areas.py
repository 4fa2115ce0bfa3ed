"""Replaying a table across areas (issue 18): the `area` column read, a programme made for an area that has
none, and each area's table compared with what the system counted. The replay through the real stack is in
tests/test_replay.py (`make drills`) and `make replay-two-areas`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.handoffs.models import Handoff
from dispatch.programme.models import FiscalYear, Municipality, Programme, ServiceHoursRule
from simulations import area_replay, areas, plan
from tests.factories import intake_body

HEADER = "clinic_label,clinic_kind,enrolled_patients,consultations,house_calls,end_of_life,contract_start"
ROWS = [
    "A診療所,clinic,3,4,3,1,2024-04",
    "多古みどり診療所,clinic,2,2,3,1,2024-10",
    "九十九里クリニック,clinic,1,1,2,0,2024-06",
]
AREAS = ["inba", "香取海匝", "山武長生夷隅"]


def _rows(with_areas: bool = True) -> list[dict[str, str]]:
    columns = HEADER.split(",")
    rows = [dict(zip(columns, line.split(","), strict=True)) for line in ROWS]
    return [{"area": area, **row} for area, row in zip(AREAS, rows, strict=True)] if with_areas else rows


def test_an_area_cell_names_an_area_by_its_code_or_its_name():
    resolved = plan.resolve_areas(_rows(), areas.prefecture_areas())
    assert [r["area"] for r in resolved] == ["inba", "katori-kaiso", "sanbu-chosei-isumi"]
    assert plan.area_codes(resolved) == ["inba", "katori-kaiso", "sanbu-chosei-isumi"]
    assert [(c.area, c.label) for c in plan.clinics(resolved)][1] == ("katori-kaiso", "多古みどり診療所")
    # A table with no area column is the default programme's, as before.
    assert plan.resolve_areas(_rows(False), areas.prefecture_areas()) == _rows(False)
    assert plan.area_codes(_rows(False)) == [] and plan.clinics(_rows(False))[0].area is None


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("", "line 3: area is empty"), ("香取", "line 3: area '香取' is not an area (one of awa, chiba,")],
)
def test_an_empty_or_unknown_area_is_refused_naming_its_line(cell, problem):
    rows = _rows()
    rows[1]["area"] = cell
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        plan.resolve_areas(rows, areas.prefecture_areas())


def test_an_area_column_keeps_the_years_calls_and_gives_each_its_area():
    alone = plan.calls(_rows(False), 2024, seed=7)
    across = plan.calls(plan.resolve_areas(_rows(), areas.prefecture_areas()), 2024, seed=7)
    assert [(c.at, c.clinic, c.kind) for c in across] == [(c.at, c.clinic, c.kind) for c in alone]
    assert {c.clinic: c.area for c in across} == {
        "A診療所": "inba",
        "多古みどり診療所": "katori-kaiso",
        "九十九里クリニック": "sanbu-chosei-isumi",
    }
    assert all(c.area is None for c in alone)
    assert len(across) == (4 + 3) + (2 + 3) + (1 + 2)  # consultations + house calls, per row


def test_only_the_areas_after_the_first_leave_blocks_uncovered():
    assert [area_replay.left_uncovered(1, block, 3) for block in range(6)] == [False, False, True] * 2
    assert not any(area_replay.left_uncovered(0, block, 3) for block in range(6))
    assert not any(area_replay.left_uncovered(1, block, 0) for block in range(6))


def test_an_area_without_a_programme_gets_one_like_the_default_and_its_clinics(services, demo_areas):
    resolved = plan.resolve_areas(_rows(), areas.prefecture_areas())
    with unit_of_work(services.session_factory) as session:
        prepared = areas.prepare(session, resolved, 2024, "inba")
    assert [(a.code, a.programme, a.default) for a in prepared] == [
        ("inba", "inba", True),
        ("katori-kaiso", "katori-kaiso", False),  # the demo's second area keeps its programme
        ("sanbu-chosei-isumi", "sanbu-chosei-isumi", False),
    ]
    with services.session_factory() as session:
        programmes = {p.code: p for p in session.scalars(select(Programme))}
        inba, sanbu = programmes["inba"], programmes["sanbu-chosei-isumi"]
        assert sanbu.area.name == "山武長生夷隅" and sanbu.starts_on == inba.starts_on

        def rules(programme):
            return [
                (r.version, r.effective_from, r.definition)
                for r in session.scalars(
                    select(ServiceHoursRule).where(ServiceHoursRule.programme_id == programme.id)
                )
            ]

        def years(programme):
            return sorted(
                (y.year, y.counts_consultations)
                for y in session.scalars(select(FiscalYear).where(FiscalYear.programme_id == programme.id))
            )

        assert rules(sanbu) == rules(inba) and years(sanbu) == years(inba) == [
            (2023, False),
            (2024, True),
            (2025, True),
        ]
        clinics = {c.label: c for c in session.scalars(select(Clinic))}
        # The default programme's clinics are the API's to make (as in a one-area replay); the others' are made
        # here, under contract from their month to the year's end, in the town nearest the other areas.
        assert clinics["A診療所"].programme_id == inba.id
        tako, kujukuri = clinics["多古みどり診療所"], clinics["九十九里クリニック"]
        assert tako.programme_id == programmes["katori-kaiso"].id and kujukuri.programme_id == sanbu.id
        assert [(p.start_month.isoformat(), p.end_month.isoformat()) for p in kujukuri.contract_periods] == [
            ("2024-06-01", "2025-03-01")
        ]
        town = session.get(Municipality, tako.municipality_id)
        assert town.name == "多古町"  # 香取海匝's town nearest 印旛 and 山武長生夷隅
        assert prepared[2].clinics == {"九十九里クリニック": kujukuri.id}
        # A call from a town of the new area belongs to its programme.
        services.reference.clear()
        assert services.reference.for_municipality(session, kujukuri.municipality_id).code == sanbu.code
    with unit_of_work(services.session_factory) as session:
        again = areas.prepare(session, resolved, 2024, "inba")  # a second run adds nothing
    assert again == prepared


def test_the_morning_handoffs_reach_every_areas_clinics(client, login, services, demo_areas, clock):
    import workers.context
    from workers.jobs import handoffs

    consult = login("consult")
    for number in ("K-0001", "D-0001"):
        case = client.post(
            "/api/v1/cases",
            headers=login("operator"),
            json=intake_body(patient={"clinic_patient_number": number}),
        ).json()
        client.post(f"/api/v1/cases/{case['id']}/claim", headers=consult)
        decided = client.post(
            f"/api/v1/cases/{case['id']}/decision",
            headers=consult,
            json={"disposition": "advice_only", "urgency": "green", "jtas_level": 5},
        )
        assert decided.status_code == 200, decided.text
    clock.advance(timedelta(hours=9))  # 08:00
    workers.context.install(services)
    try:
        made = handoffs()["made"]
    finally:
        workers.context.reset()
    with services.session_factory() as session:
        labels = sorted(session.get_one(Clinic, session.get_one(Handoff, h).clinic_id).label for h in made)
    assert labels == ["D病院", "香取ひばり診療所"]


def test_every_areas_table_must_match_for_the_replay_to_reproduce_it():
    table = _rows()
    codes = [r["area"] for r in plan.resolve_areas(table, areas.prefecture_areas())]

    def counted(row: dict[str, str], **changes: str) -> dict:
        return {
            **{k: row[k] for k in area_replay.COLUMNS},
            "contract_start": row["contract_start"] + "-01",
            **changes,
        }

    reports = {code: [counted(row)] for code, row in zip(codes, table, strict=True)}
    lines, matches = area_replay.compare(table, codes, reports)
    assert matches and lines == ["area," + HEADER] + [f"{a},{r}" for a, r in zip(AREAS, ROWS, strict=True)]
    # One area's count off by one: not reproduced, though the other areas are.
    off = {**reports, "sanbu-chosei-isumi": [counted(table[2], house_calls=3)]}
    assert area_replay.compare(table, codes, off)[1] is False
    # A clinic of an area that is not in the table counted a call.
    stray = counted(table[0], clinic_label="よその診療所", consultations=1)
    assert area_replay.compare(table, codes, {**reports, "inba": [counted(table[0]), stray]})[1] is False
    # The same label in another area is another clinic.
    assert area_replay.compare(table, codes, {**reports, "katori-kaiso": [counted(table[0])]})[1] is False


def test_the_two_area_tables_inba_rows_are_the_fy2024_table():
    from simulations.bulk import read_table

    reference = Path(__file__).resolve().parents[1] / "config" / "reference"
    two = plan.resolve_areas(read_table(reference / "two_area_fy2024.csv"), areas.prefecture_areas())
    assert plan.area_codes(two) == ["inba", "katori-kaiso"]
    inba = [{k: v for k, v in r.items() if k != "area"} for r in two if r["area"] == "inba"]
    assert inba == read_table(reference / "model_project_fy2024.csv")
