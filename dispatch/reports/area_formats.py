"""A unit's report as rows for CSV and XLSX (広域連携): one area's table as before; several areas' tables
with an area column, subtotals and the unit's total; the exclusions by area; cross-area house calls both
ways."""

from __future__ import annotations

from dispatch.reports.formats import (
    CLINIC_HEADERS_JA,
    EXCLUDED_JA,
    clinic_row_ja,
    clinic_rows_ja,
    excluded_rows_ja,
)
from dispatch.reports.schemas import ClinicReport, ClinicRow, UnitReport

AREA_JA = "二次医療圏"
CROSS_AREA_JA = "広域連携（他圏域の医師による往診）"
CROSS_AREA_HEADERS_JA = [CROSS_AREA_JA, "受入", "応援"]
CROSS_AREA_NOTES_JA = [
    "※受入: 他圏域の医師がこの集計単位の患者を往診した件数（往診件数は患者の圏域に計上済み）",
    "※応援: この圏域の医師が他圏域の患者を往診した件数（往診件数は相手の圏域に計上。"
    "保健所・地区医師会単位では集計しない）",
]
PREFECTURE_NOTE_JA = "※県全体: 各往診は患者の圏域に1回だけ計上（受入の合計＝応援の合計）"
UNIT_KIND_JA = {
    "area": "二次医療圏",
    "health_centre": "保健所",
    "medical_association": "地区医師会",
    "prefecture": "",
}


def grouped(report: ClinicReport) -> bool:
    """Several areas' tables (the prefecture, or a 保健所 whose calls two programmes served)."""
    return isinstance(report, UnitReport) and (report.unit.kind == "prefecture" or len(report.areas) > 1)


def unit_title(report: UnitReport) -> str:
    """e.g. 香取海匝 海匝保健所, 千葉県 (全圏域)."""
    unit = report.unit
    if unit.kind == "prefecture":
        return f"{unit.name}（全圏域）"
    if unit.kind == "area":
        return f"{unit.name}（{UNIT_KIND_JA['area']}）"
    suffix = "保健所" if unit.kind == "health_centre" else ""
    return f"{unit.area_name} {unit.name}{suffix}"


def table_lines(report: ClinicReport) -> list[tuple[list, ClinicRow | None]]:
    """The table's lines (header first), each with the clinic row it shows (None for a header or a sum)."""
    if not grouped(report):
        lines: list[tuple[list, ClinicRow | None]] = [(clinic_rows_ja(report)[0], None)]
        lines += [(clinic_row_ja(r), r) for r in report.rows]
        return [*lines, (clinic_row_ja(report.total), None)]
    assert isinstance(report, UnitReport)
    lines = [([AREA_JA, *CLINIC_HEADERS_JA], None)]
    for section in report.areas:
        lines += [([section.area_name, *clinic_row_ja(r)], r) for r in section.rows]
        lines.append(([section.area_name, *clinic_row_ja(section.subtotal)], None))
    return [*lines, ([report.unit.name, *clinic_row_ja(report.total)], None)]


def excluded_lines(report: ClinicReport) -> list[list]:
    """After an empty row, the calls left out by reason: one column, or one per area and the total."""
    if not grouped(report):
        return excluded_rows_ja(report)
    assert isinstance(report, UnitReport)
    rows: list[list] = [[], ["集計に含めない受電", *(s.area_name for s in report.areas), "合計"]]
    for key, label in EXCLUDED_JA.items():
        rows.append([label, *(getattr(s.excluded, key) for s in report.areas), getattr(report.excluded, key)])
    if report.consultations_not_counted:
        not_counted = [s.consultations_not_counted for s in report.areas]
        rows.append(["医療相談（この年度は集計対象外）", *not_counted, report.consultations_not_counted])
    rows.append(["受電件数（合計）", *(s.calls for s in report.areas), report.calls])
    return rows


def cross_area_lines(report: ClinicReport, always: bool = False) -> list[list]:
    """After an empty row: 受入 and 応援 with each other area (for the prefecture: each area's own), the total
    and what the words mean. Nothing when the unit had no cross-area house call (unless `always`)."""
    if not isinstance(report, UnitReport):
        return []
    cross = report.cross_area
    prefecture = report.unit.kind == "prefecture"
    if not (always or prefecture or cross.received or cross.given):
        return []
    rows: list[list] = [[], CROSS_AREA_HEADERS_JA]
    rows += [
        [line.area_name, line.received, "" if line.given is None else line.given] for line in cross.by_area
    ]
    rows.append(["合計", cross.received, "" if cross.given is None else cross.given])
    rows += [[note] for note in CROSS_AREA_NOTES_JA]
    if prefecture:
        rows.append([PREFECTURE_NOTE_JA])
    return rows


def csv_rows(report: ClinicReport) -> list[list]:
    """The whole CSV: the table, the exclusions, cross-area house calls (when there were any)."""
    return [line for line, _ in table_lines(report)] + excluded_lines(report) + cross_area_lines(report)
