"""Report rows: counts only, never a patient."""

from __future__ import annotations

from datetime import date

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
