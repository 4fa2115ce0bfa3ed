"""Reports as rows and files: CSV that opens correctly in Japanese Excel (UTF-8 with BOM), and a terminal table
(the XLSX is `dispatch.reports.workbook`)."""

from __future__ import annotations

import csv
import io

from dispatch.reports.schemas import ClinicReport, ClinicRow, MonthlyReport

# The reasons a call is left out of the table, as the console and the files name them (in counting order).
EXCLUDED_JA = {
    "out_of_hours": "時間外",
    "unidentified": "患者不明",
    "out_of_contract": "契約外",
    "open": "対応中",
    "cancelled_before_decision": "判断前に終了",
    "no_outcome": "往診結果未記録",
}

CLINIC_HEADERS_JA = ["医療機関名", "契約患者数", "医療相談", "往診", "看取り", "契約時期"]
# The reference table's own columns (config/reference/model_project_fy2024.csv).
CLINIC_HEADERS_REFERENCE = [
    "clinic_label",
    "clinic_kind",
    "enrolled_patients",
    "consultations",
    "house_calls",
    "end_of_life",
    "contract_start",
]
MONTHLY_HEADERS_JA = [
    "月",
    "医療相談",
    "往診",
    "看取り",
    "受電→判断 中央値(分)",
    "受電→判断 90%(分)",
    "判断→受諾 中央値(分)",
    "判断→受諾 90%(分)",
    "受諾→到着 中央値(分)",
    "受諾→到着 90%(分)",
    "辞退",
    "応答なし",
    "コーディネーター通知",
    *(f"除外:{label}" for label in EXCLUDED_JA.values()),
    "受電件数",
]


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def clinic_row_ja(r: ClinicRow) -> list:
    """One line of the table in its Japanese columns (a clinic, a subtotal or the total)."""
    return [
        r.clinic_label,
        r.enrolled_patients,
        _blank(r.consultations),
        r.house_calls,
        r.end_of_life,
        r.contract_start_reiwa or "",
    ]


def clinic_rows_ja(report: ClinicReport) -> list[list]:
    return [CLINIC_HEADERS_JA, *[clinic_row_ja(r) for r in report.rows], clinic_row_ja(report.total)]


def excluded_rows_ja(report: ClinicReport) -> list[list]:
    """Below the table, after an empty row: the calls left out of it by reason, and every call of the year."""
    rows: list[list] = [[], ["集計に含めない受電", "件数"]]
    rows += [[label, getattr(report.excluded, key)] for key, label in EXCLUDED_JA.items()]
    if report.consultations_not_counted:
        rows.append(["医療相談（この年度は集計対象外）", report.consultations_not_counted])
    rows.append(["受電件数（合計）", report.calls])
    return rows


def clinic_rows_reference(report: ClinicReport) -> list[list]:
    """The rows in the reference CSV's columns, without the total (as the reference file has none)."""
    return [CLINIC_HEADERS_REFERENCE] + [
        [
            r.clinic_label,
            r.clinic_kind,
            r.enrolled_patients,
            _blank(r.consultations),
            r.house_calls,
            r.end_of_life,
            r.contract_start.strftime("%Y-%m") if r.contract_start else "",
        ]
        for r in report.rows
    ]


def monthly_rows_ja(report: MonthlyReport) -> list[list]:
    rows: list[list] = [MONTHLY_HEADERS_JA]
    for m in report.months:
        rows.append(
            [
                m.month,
                m.totals.consultations,
                m.totals.house_calls,
                m.totals.end_of_life,
                m.call_to_decision.median_min,
                m.call_to_decision.p90_min,
                m.decision_to_acceptance.median_min,
                m.decision_to_acceptance.p90_min,
                m.acceptance_to_arrival.median_min,
                m.acceptance_to_arrival.p90_min,
                m.offers_declined,
                m.offers_timed_out,
                m.coordinator_alerts,
                *(getattr(m.excluded, key) for key in EXCLUDED_JA),
                m.calls,
            ]
        )
    return rows


def to_csv(rows: list[list], bom: bool = True) -> bytes:
    """CSV bytes; the BOM makes Excel read UTF-8 (Japanese) correctly."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in rows])
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def to_table(rows: list[list]) -> str:
    """A plain text table for the terminal (East Asian characters count double); a line of one cell (a note)
    is not a column's width."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    columns = max(len(row) for row in rows)
    cells = [["" if v is None else str(v) for v in row] + [""] * (columns - len(row)) for row in rows]
    measured = [row for row, line in zip(cells, rows, strict=True) if len(line) > 1] or cells
    widths = [max(width(row[i]) for row in measured) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in cells
    )
