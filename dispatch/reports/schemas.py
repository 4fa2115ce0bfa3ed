"""Report rows: counts only, never a patient."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class ClinicRow(BaseModel):
    clinic_id: int | None  # None on the total row
    clinic_label: str  # 医療機関名 (合計 on the total row)
    clinic_kind: str | None
    enrolled_patients: int  # 契約患者数: enrolment active at the year's end (or now, for a year in progress)
    enrolled_during_year: int  # enrolment active at any time of the year
    newly_enrolled: int  # enrolments that began in the year
    consultations: int | None  # 医療相談; None in a year that did not count them (FY2023)
    house_calls: int  # 往診
    end_of_life: int  # 看取り
    contract_start: date | None  # 契約時期
    contract_start_reiwa: str | None  # e.g. R6.4
    # The seed's 赤字: the clinic started house calls through the programme (False on the total row).
    newly_started_house_calls: bool = False


class Excluded(BaseModel):
    """Calls left out of the table, by the first reason that applies (each call counts under one)."""

    out_of_hours: int = 0  # 時間外: outside the night/holiday hours
    out_of_contract: int = 0  # 契約外: no enrolment and contract covered the call
    unidentified: int = 0  # 患者不明: the patient was never identified
    cancelled_before_decision: int = 0  # 判断前の取消: ended before the consulting physician decided
    open: int = 0  # 対応中: not ended yet
    no_outcome: int = 0  # 結果未記録: visited, but no outcome recorded


class ClinicReport(BaseModel):
    fiscal_year: int
    label: str  # 令和6年度
    counts_consultations: bool
    rows: list[ClinicRow]
    total: ClinicRow
    calls: int  # every call of the year (in the clinic's scope): total uses + excluded + uncounted
    excluded: Excluded
    # Consultations of a year whose table has no 医療相談 column (FY2023): counted, but not shown.
    consultations_not_counted: int = 0


UnitKind = Literal["area", "health_centre", "medical_association", "prefecture"]


class UnitRef(BaseModel):
    """The part of the prefecture a report covers."""

    kind: UnitKind
    id: int | None  # the area's, 保健所's or association's id (None for the prefecture)
    code: str | None  # the area's code (area only)
    name: str  # 印旛, 海匝 (a 保健所), 旭匝瑳医師会, 千葉県
    area_code: str | None  # the area it lies in (None for the prefecture)
    area_name: str | None


class CrossAreaLine(BaseModel):
    """広域連携 with one other area."""

    area_code: str
    area_name: str
    received: int  # 受入: house calls here made by that area's physicians
    given: int | None  # 応援: house calls in that area made by this area's physicians (None below area level)


class CrossArea(BaseModel):
    """広域連携: house calls (往診) made by a physician called in from another area (`Case.visiting_area_id`).
    Each counts in the table of the patient's area, as any house call; here it is shown both ways."""

    received: int = 0  # 受入: house calls in this unit by physicians from other areas
    # 応援: house calls this area's physicians made in other areas (counted in those areas' tables). None for a
    # 保健所 or association: a physician belongs to an area, not to one of its 保健所.
    given: int | None = 0
    by_area: list[CrossAreaLine] = Field(default_factory=list)


class AreaSection(BaseModel):
    """One area's programme within a report: its clinics' rows by that programme's counting rules."""

    area_code: str
    area_name: str
    programme: str
    counts_consultations: bool
    rows: list[ClinicRow]
    subtotal: ClinicRow  # 小計
    calls: int
    excluded: Excluded
    consultations_not_counted: int = 0
    cross_area: CrossArea


class UnitReport(ClinicReport):
    """The per-clinic table for an area, a 保健所, a district medical association or the prefecture: the rows of
    every area section in order, `total` their sum (per-area subtotals in `areas`)."""

    unit: UnitRef
    cross_area: CrossArea
    areas: list[AreaSection]


class Percentiles(BaseModel):
    count: int
    median_min: float | None
    p90_min: float | None


class MonthCounts(BaseModel):
    consultations: int
    house_calls: int
    end_of_life: int


class MonthRow(BaseModel):
    month: str  # YYYY-MM, in Asia/Tokyo
    totals: MonthCounts
    by_clinic: dict[str, MonthCounts]
    by_municipality: dict[str, MonthCounts]
    call_to_decision: Percentiles
    decision_to_acceptance: Percentiles
    acceptance_to_arrival: Percentiles
    offers_declined: int
    offers_timed_out: int
    coordinator_alerts: int
    calls: int = 0  # every call of the month: totals (consultations + house calls) + excluded
    excluded: Excluded = Field(default_factory=Excluded)


class MonthlyReport(BaseModel):
    first_month: str
    last_month: str
    months: list[MonthRow]


class AssociationUnit(BaseModel):
    id: int
    name: str  # 地区医師会


class HealthCentreUnit(BaseModel):
    id: int
    name: str  # 保健所 (管内)
    associations: list[AssociationUnit]


class AreaUnit(BaseModel):
    id: int
    code: str
    name: str
    programme: str | None  # the programme serving the area here; an area without one has no area report
    health_centres: list[HealthCentreUnit]  # empty when the reader may read the area's report only


class UnitsIndex(BaseModel):
    """The units this reader may ask a report for, areas → 保健所 → associations, with their ids."""

    default: UnitRef  # what a report without a unit shows this reader
    prefecture: str | None  # the prefecture's name when this reader may read its report (`?scope=prefecture`)
    areas: list[AreaUnit]
