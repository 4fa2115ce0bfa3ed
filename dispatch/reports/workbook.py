"""Reports as an Excel workbook: the per-clinic table (grouped by area with subtotals when a unit spans areas),
the calls it leaves out, cross-area house calls (広域連携), the monthly table with a native chart."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from dispatch.reports.area_formats import cross_area_lines, excluded_lines, grouped, table_lines, unit_title
from dispatch.reports.formats import monthly_rows_ja
from dispatch.reports.schemas import ClinicReport, MonthlyReport, UnitReport

NEWLY_STARTED_JA = "※赤字は本事業により新規に往診を開始した医療機関"
RED = "C00000"
CROSS_AREA_SHEET = "広域連携"


def _table(book: Workbook, clinics: ClinicReport) -> None:
    sheet = book.create_sheet(f"{clinics.label} 医療機関別")
    lines = table_lines(clinics)
    mark_column = len(lines[0][0]) + 1
    name_column = 2 if grouped(clinics) else 1  # 医療機関名, after 二次医療圏 when grouped by area
    sheet.append([*lines[0][0], "新規往診開始"])
    for n, (line, clinic) in enumerate(lines[1:], start=2):
        sheet.append(line)
        if clinic is None:  # a subtotal or the total
            for cell in sheet[n]:
                cell.font = Font(bold=True)
        elif clinic.newly_started_house_calls:  # the seed's 赤字
            sheet.cell(row=n, column=name_column).font = Font(color=RED)
            sheet.cell(row=n, column=mark_column).value = "○"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append([])
    sheet.append([NEWLY_STARTED_JA])
    sheet["A" + str(sheet.max_row)].font = Font(color=RED)
    if isinstance(clinics, UnitReport):
        sheet.append(["集計単位", unit_title(clinics)])
    for column in ("A", "B") if name_column == 2 else ("A",):
        sheet.column_dimensions[column].width = 18


def _lines_sheet(book: Workbook, title: str, lines: list[list], width: int) -> Worksheet:
    sheet = book.create_sheet(title)
    for line in lines:
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = width
    return sheet


def _monthly(book: Workbook, monthly: MonthlyReport) -> None:
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


def to_xlsx(clinics: ClinicReport | None, monthly: MonthlyReport | None) -> bytes:
    """A workbook: the per-clinic table (with the 赤字 mark), the calls it leaves out (sheet 除外), cross-area
    house calls (sheet 広域連携), the monthly table and a native bar chart of the monthly counts."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook opens with
    if clinics is not None:
        _table(book, clinics)
        _lines_sheet(book, "除外", excluded_lines(clinics)[1:], 30)
        if isinstance(clinics, UnitReport):
            book.properties.title = f"{unit_title(clinics)} {clinics.label}"
            _lines_sheet(book, CROSS_AREA_SHEET, cross_area_lines(clinics, always=True)[1:], 34)
    if monthly is not None:
        _monthly(book, monthly)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
