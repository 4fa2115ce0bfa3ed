"""Reports as files: CSV that opens correctly in Japanese Excel (UTF-8 with BOM), and XLSX with a chart."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from dispatch.reports.schemas import ClinicReport, ClinicRow, MonthlyReport

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
]


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def clinic_rows_ja(report: ClinicReport) -> list[list]:
    def row(r: ClinicRow) -> list:
        return [
            r.clinic_label,
            r.enrolled_patients,
            _blank(r.consultations),
            r.house_calls,
            r.end_of_life,
            r.contract_start_reiwa or "",
        ]

    return [CLINIC_HEADERS_JA, *[row(r) for r in report.rows], row(report.total)]


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
            ]
        )
    return rows


def to_csv(rows: list[list], bom: bool = True) -> bytes:
    """CSV bytes; the BOM makes Excel read UTF-8 (Japanese) correctly."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in rows])
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def to_table(rows: list[list]) -> str:
    """A plain text table for the terminal (East Asian characters count double)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(width(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in cells
    )


def to_xlsx(clinics: ClinicReport | None, monthly: MonthlyReport | None) -> bytes:
    """A workbook: the per-clinic table, the monthly table, and a native bar chart of the monthly counts."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook opens with
    if clinics is not None:
        sheet = book.create_sheet(f"{clinics.label} 医療機関別")
        for row in clinic_rows_ja(clinics):
            sheet.append(row)
        for cell in sheet[1] + sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 18
    if monthly is not None:
        sheet = book.create_sheet("月別利用状況")
        for row in monthly_rows_ja(monthly):
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
        chart.title = "月別 医療相談・往診・看取り"
        chart.y_axis.title, chart.x_axis.title = "件数", "月"
        data = Reference(sheet, min_col=2, max_col=4, min_row=1, max_row=sheet.max_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
        chart.width, chart.height = 24, 12
        sheet.add_chart(chart, "A" + str(sheet.max_row + 3))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
