"""The prefecture's reports: the seed's tables reproduced row for row, fiscal-year and month edges in
Tokyo, the counting rules, the formats (Excel-ready CSV, XLSX with a chart) and who may see what."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select
from typer.testing import CliRunner

from dispatch.auth.models import Role
from dispatch.auth.service import create_user
from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition, Urgency
from dispatch.cli import app as cli
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode, VisitOutcome
from dispatch.patients.models import Patient, Sex
from dispatch.programme.models import Municipality, Programme
from dispatch.reports import service
from dispatch.seed.demo import DemoLogin
from dispatch.seed.reference import load_programme_data, seed_reference
from simulations.bulk import load_year, read_table

REFERENCE = Path(__file__).resolve().parents[1] / "config" / "reference"
TOKYO = ZoneInfo("Asia/Tokyo")
USERS = {"prefecture": Role.prefecture_analyst, "clinic": Role.clinic_admin, "operator": Role.operator}


@pytest.fixture
def demo_logins(services):
    """The reference programme and three users, but none of the demo's patients: every count is the test's."""
    with unit_of_work(services.session_factory) as session:
        seed_reference(session, load_programme_data("inba"))
        d_hospital = session.scalar(select(Clinic.id).where(Clinic.label == "D病院"))
        for name, role in USERS.items():
            create_user(
                session,
                services.passwords,
                services.clock,
                username=name,
                password=f"{name}-demo",
                display_name=name,
                role=role,
                clinic_id=d_hospital if role is Role.clinic_admin else None,
            )
    return [DemoLogin(name, f"{name}-demo", role) for name, role in USERS.items()]


def _load(services, year: int) -> list[dict[str, str]]:
    rows = read_table(REFERENCE / f"model_project_fy{year}.csv")
    with unit_of_work(services.session_factory) as session:
        load_year(session, session.scalar(select(Programme)), rows, year)
    return rows


def _as_reference(report) -> list[dict[str, str]]:
    return [
        {
            "clinic_label": r.clinic_label,
            "clinic_kind": r.clinic_kind,
            "enrolled_patients": str(r.enrolled_patients),
            "consultations": "" if r.consultations is None else str(r.consultations),
            "house_calls": str(r.house_calls),
            "end_of_life": str(r.end_of_life),
            "contract_start": r.contract_start.strftime("%Y-%m"),
        }
        for r in report.rows
    ]


def test_fy2024_and_fy2023_come_out_as_in_the_seed(services, demo_logins):
    fy2024, fy2023 = _load(services, 2024), _load(services, 2023)
    with services.session_factory() as session:
        programme = session.scalar(select(Programme))
        report24 = service.clinic_report(session, programme, 2024)
        report23 = service.clinic_report(session, programme, 2023)
    key = lambda r: r["clinic_label"]  # noqa: E731
    assert sorted(_as_reference(report24), key=key) == sorted(fy2024, key=key)
    assert sorted(_as_reference(report23), key=key) == sorted(fy2023, key=key)
    t = report24.total
    assert (t.enrolled_patients, t.consultations, t.house_calls, t.end_of_life) == (838, 561, 303, 96)
    t = report23.total
    assert (t.enrolled_patients, t.consultations, t.house_calls, t.end_of_life) == (298, None, 14, 10)
    assert {r.clinic_label: r.contract_start_reiwa for r in report24.rows}["Jクリニック"] == "R6.12"
    assert {r.clinic_label: r.contract_start_reiwa for r in report23.rows}["B病院"] == "R5.8"


def _patient(session) -> int:
    """An identified patient (a call counts only when the patient is known)."""
    return session.execute(
        insert(Patient).values(
            family_name="試験",
            given_name="一",
            family_name_kana="シケン",
            given_name_kana="イチ",
            date_of_birth=date(1940, 1, 1),
            sex=Sex.unknown,
            address="（試験データ）",
            municipality_id=session.scalar(select(Municipality.id).limit(1)),
            diagnoses=[],
            acp={},
            devices=[],
            key_person={},
        )
    ).inserted_primary_key[0]


def _case(session, programme, clinic_id, local: str, state=CaseState.closed_consultation, **extra) -> int:
    called = datetime.fromisoformat(local).replace(tzinfo=TOKYO)
    values = dict(
        programme_id=programme.id,
        patient_id=_patient(session),
        version=1,
        clinic_id=clinic_id,
        called_at=called,
        in_service_hours=True,
        service_hours_rule_version=1,
        in_contract=True,
        intake={},
        escalation_policy={},
        state=state,
        disposition=Disposition.advice_only,
        urgency=Urgency.yellow,
        created_at=called,
        updated_at=called,
    )
    values.update(extra)
    return session.execute(insert(Case).values(**values)).inserted_primary_key[0]


def test_the_fiscal_year_and_the_month_turn_at_midnight_in_tokyo(services, demo_logins):
    with unit_of_work(services.session_factory) as session:
        programme = session.scalar(select(Programme))
        clinic = session.scalar(select(Clinic.id).where(Clinic.label == "D病院"))
        session.add(ContractPeriod(clinic_id=clinic, start_month=date(2025, 4, 1)))  # renewed for FY2025
        _case(session, programme, clinic, "2025-03-31 23:59")  # 14:59 UTC: still FY2024, March
        _case(session, programme, clinic, "2025-04-01 00:00")  # 15:00 UTC on 31 March: FY2025, April
        _case(session, programme, clinic, "2024-04-01 00:00")  # the first minute of FY2024
        _case(session, programme, clinic, "2024-03-31 23:59")  # the last minute of FY2023
    with services.session_factory() as session:
        programme = session.scalar(select(Programme))
        by_year = {
            y: service.clinic_report(session, programme, y, clinic).total.consultations
            for y in (2023, 2024, 2025)
        }
        monthly = service.monthly_report(
            session, programme, datetime(2024, 3, 1).date(), datetime(2025, 4, 1).date()
        )
    assert by_year == {2023: None, 2024: 2, 2025: 1}  # FY2023 did not count consultations
    counts = {m.month: m.totals.consultations for m in monthly.months}
    assert (counts["2024-03"], counts["2024-04"], counts["2025-03"], counts["2025-04"]) == (1, 1, 1, 1)
    assert sum(counts.values()) == 4


def test_only_in_scope_completed_work_counts_and_consultations_and_visits_never_overlap(services, demo_logins):
    with unit_of_work(services.session_factory) as session:
        programme = session.scalar(select(Programme))
        clinic = session.scalar(select(Clinic.id).where(Clinic.label == "E" + "クリニック"))
        _case(session, programme, clinic, "2024-10-01 23:00")  # a consultation
        _case(
            session,
            programme,
            clinic,
            "2024-10-02 23:00",
            state=CaseState.referred_ems,
            disposition=Disposition.ems_119,
        )
        _case(session, programme, clinic, "2024-10-03 23:00", state=CaseState.cancelled, disposition=None)
        _case(session, programme, clinic, "2024-10-04 23:00", in_contract=False)
        _case(session, programme, clinic, "2024-10-05 14:00", in_service_hours=False)
        visited = _case(
            session,
            programme,
            clinic,
            "2024-10-06 23:00",
            state=CaseState.closed,
            disposition=Disposition.visit_urgent,
        )  # a house call
        _visit_outcome(session, visited, OutcomeCode.treated_at_home)
        _case(
            session,
            programme,
            clinic,
            "2024-10-07 23:00",
            state=CaseState.offered,
            disposition=Disposition.visit_urgent,
        )  # not yet visited
        _case(
            session,
            programme,
            clinic,
            "2024-10-08 23:00",
            state=CaseState.cancelled,
            disposition=Disposition.visit_urgent,
        )  # cancelled after the decision: the visit was decided but not made, a consultation
    with services.session_factory() as session:
        report = service.clinic_report(session, session.scalar(select(Programme)), 2024, clinic)
    row = report.rows[0]
    assert (row.consultations, row.house_calls, row.end_of_life) == (3, 1, 0)
    assert report.excluded.model_dump() == {
        "out_of_hours": 1,
        "out_of_contract": 1,
        "unidentified": 0,
        "cancelled_before_decision": 1,
        "open": 1,
        "no_outcome": 0,
    }
    assert report.calls == 8


def _visit_outcome(session, case_id: int, outcome: OutcomeCode) -> None:
    session.execute(
        insert(VisitOutcome).values(
            case_id=case_id, outcome=outcome, recorded_by="test", recorded_at=datetime.now(TOKYO)
        )
    )


def test_monthly_response_times_are_medians_and_90th_percentiles(services, demo_logins):
    with unit_of_work(services.session_factory) as session:
        programme = session.scalar(select(Programme))
        clinic = session.scalar(select(Clinic.id).where(Clinic.label == "D病院"))
        for n, minutes in enumerate((5, 10, 15, 20, 100)):
            called = datetime(2024, 11, 1 + n, 23, 0, tzinfo=TOKYO)
            visited = _case(
                session,
                programme,
                clinic,
                called.strftime("%Y-%m-%d %H:%M"),
                state=CaseState.closed,
                disposition=Disposition.visit_standard,
                decided_at=called + timedelta(minutes=minutes),
                accepted_at=called + timedelta(minutes=minutes + 2),
                arrived_at=called + timedelta(minutes=60),
            )
            _visit_outcome(session, visited, OutcomeCode.treated_at_home)
    with services.session_factory() as session:
        month = service.monthly_report(
            session,
            session.scalar(select(Programme)),
            datetime(2024, 11, 1).date(),
            datetime(2024, 11, 1).date(),
        ).months[0]
    assert (month.call_to_decision.median_min, month.call_to_decision.p90_min) == (15.0, 68.0)
    assert month.decision_to_acceptance.median_min == 2.0
    assert month.totals.house_calls == 5 and month.by_clinic["D病院"].house_calls == 5


def test_csv_opens_in_japanese_excel_and_xlsx_holds_a_chart(client, login, services, clock):
    _load(services, 2024)
    clock.set(datetime(2025, 4, 1, 9, 0, tzinfo=TOKYO))  # the year is over: 契約患者数 as at 31 March
    headers = login("prefecture")
    response = client.get(
        "/api/v1/reports/clinics", params={"fiscal_year": 2024, "format": "csv"}, headers=headers
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["医療機関名", "契約患者数", "医療相談", "往診", "看取り", "契約時期"]
    assert rows[11] == ["合計", "838", "561", "303", "96", ""]
    assert ["D病院", "187", "147", "85", "62", "R6.4"] in rows
    # After the table and an empty row, the calls it leaves out (none here) and every call of the year.
    assert rows[12] == [] and rows[13] == ["集計に含めない受電", "件数"] and ["時間外", "0"] in rows
    assert rows[-1] == ["受電件数（合計）", str(561 + 303)]
    xlsx = client.get(
        "/api/v1/reports/monthly",
        params={"from": "2024-04", "to": "2025-03", "format": "xlsx"},
        headers=headers,
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    monthly = book["月別利用状況"]
    assert len(monthly._charts) == 1
    assert [monthly.cell(row=r, column=1).value for r in (2, 13)] == ["2024-04", "2025-03"]
    assert sum(monthly.cell(row=r, column=3).value for r in range(2, 14)) == 303
    assert book["令和6年度 医療機関別"]["A12"].value == "合計"


def test_the_prefecture_sees_counts_and_a_clinic_sees_only_itself(client, login, services):
    with unit_of_work(services.session_factory) as session:
        programme = session.scalar(select(Programme))
        for label in ("D病院", "Eクリニック"):
            _case(
                session,
                programme,
                session.scalar(select(Clinic.id).where(Clinic.label == label)),
                "2024-10-01 23:00",
            )
    everyone = client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=login("prefecture")).json()
    assert {r["clinic_label"] for r in everyone["rows"]} >= {"D病院", "Eクリニック"}
    assert set(everyone["rows"][0]) == {
        "clinic_id",
        "clinic_label",
        "clinic_kind",
        "enrolled_patients",
        "enrolled_during_year",
        "newly_enrolled",
        "consultations",
        "house_calls",
        "end_of_life",
        "contract_start",
        "contract_start_reiwa",
        "newly_started_house_calls",
    }
    own = client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=login("clinic")).json()
    assert [r["clinic_label"] for r in own["rows"]] == ["D病院"] and own["total"]["consultations"] == 1
    assert client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=login("operator")).status_code == 403
    monthly = client.get("/api/v1/reports/monthly?from=2024-10&to=2024-10", headers=login("clinic")).json()
    assert list(monthly["months"][0]["by_clinic"]) == ["D病院"]


def test_bad_months_are_refused_in_words(client, login):
    headers = login("prefecture")
    response = client.get("/api/v1/reports/monthly?from=2025-04&to=2024-04", headers=headers)
    assert response.status_code == 422 and "must be on or after" in response.json()["detail"]
    response = client.get("/api/v1/reports/monthly?from=2024-13&to=2025-01", headers=headers)
    assert response.status_code == 422 and "not a month" in response.json()["detail"]


def test_the_cli_prints_the_table_and_writes_files(services, demo_logins, monkeypatch, tmp_path):
    _load(services, 2024)
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    runner = CliRunner()
    table = runner.invoke(cli, ["report", "clinics", "--fiscal-year", "2024"])
    assert table.exit_code == 0, table.output
    assert "合計" in table.output and "838" in table.output
    out = tmp_path / "fy2024.csv"
    written = runner.invoke(
        cli, ["report", "clinics", "--fiscal-year", "2024", "--format", "reference-csv", "--output", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert read_table(out) == read_table(REFERENCE / "model_project_fy2024.csv")
    xlsx = tmp_path / "monthly.xlsx"
    monthly = runner.invoke(
        cli,
        [
            "report",
            "monthly",
            "--from",
            "2024-04",
            "--to",
            "2025-03",
            "--format",
            "xlsx",
            "--output",
            str(xlsx),
        ],
    )
    assert monthly.exit_code == 0, monthly.output
    assert load_workbook(xlsx)["月別利用状況"]._charts


@pytest.mark.parametrize("bad", ["2024-4x", "April"])
def test_the_cli_refuses_a_bad_month(services, demo_logins, monkeypatch, bad):
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    result = CliRunner().invoke(cli, ["report", "monthly", "--from", bad, "--to", "2025-03"])
    assert result.exit_code != 0 and "YYYY-MM" in result.output


def test_contract_months_are_written_in_their_era():
    from dispatch.programme.periods import reiwa

    assert [reiwa(date(*ym, 1)) for ym in ((2024, 4), (2019, 5), (2019, 4), (1989, 1), (1988, 12))] == [
        "R6.4",
        "R1.5",
        "H31.4",
        "H1.1",
        "S63.12",
    ]
