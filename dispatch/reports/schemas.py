"""Report rows: counts only, never a patient."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


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


class ClinicReport(BaseModel):
    fiscal_year: int
    label: str  # 令和6年度
    counts_consultations: bool
    rows: list[ClinicRow]
    total: ClinicRow


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


class MonthlyReport(BaseModel):
    first_month: str
    last_month: str
    months: list[MonthRow]
