"""The counting rules through the API: every decided call counts once (a no-contact trip and a visit decided
but not made are consultations), what the table leaves out is counted beside it by reason, every year from
the programme's start to today can be reported with no row added, and 令和元年度."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select, update

from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.programme.models import Programme
from dispatch.programme.periods import fiscal_year_label, reiwa
from dispatch.roster.models import Physician
from tests.factories import decision_body, intake_body

TOKYO = ZoneInfo("Asia/Tokyo")
ADVICE = {"disposition": "advice_only", "urgency": "green", "jtas_level": 4, "note": "助言"}


class Centre:
    """The night at the API: the operator logs, the consulting physician decides, the coordinator acts."""

    def __init__(self, client, login) -> None:
        self.client = client
        self.as_ = {name: login(name) for name in ("operator", "consult", "coordinator", "prefecture")}

    def post(self, who: str, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body, headers=self.as_[who])
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    def call(self, **overrides) -> int:
        return self.post("operator", "/api/v1/cases", intake_body(**overrides))["id"]

    def decide(self, case_id: int, **decision) -> None:
        self.post("consult", f"/api/v1/cases/{case_id}/claim", {})
        self.post("consult", f"/api/v1/cases/{case_id}/decision", decision_body(**decision))

    def on_scene(self, case_id: int, physician_id: int) -> None:
        """A visit decided, a physician who agreed on the phone, arrived."""
        self.decide(case_id)
        self.post(
            "coordinator",
            f"/api/v1/cases/{case_id}/assign",
            {"physician_id": physician_id, "reason": "電話で承諾"},
        )
        self.post("coordinator", f"/api/v1/cases/{case_id}/progress", {"step": "arrived"})

    def cancel(self, case_id: int) -> None:
        self.post("operator", f"/api/v1/cases/{case_id}/cancel", {"reason": "家族から取り下げ"})

    def report(self, year: int, **params):
        return self.client.get(
            "/api/v1/reports/clinics", params={"fiscal_year": year, **params}, headers=self.as_["prefecture"]
        )


def _uses(report: dict) -> int:
    return (report["total"]["consultations"] or 0) + report["total"]["house_calls"]


def test_each_decided_call_counts_once_and_the_rest_are_counted_beside_the_table(client, login, services):
    centre = Centre(client, login)
    with services.session_factory() as session:
        physician = session.scalar(select(Physician.id).where(Physician.name == "代診 成田"))
    no_contact = centre.call()  # the physician went, and nobody answered the door
    centre.on_scene(no_contact, physician)
    centre.post("coordinator", f"/api/v1/cases/{no_contact}/outcome", {"outcome": "no_contact"})
    treated = centre.call()  # a house call
    centre.on_scene(treated, physician)
    centre.post("coordinator", f"/api/v1/cases/{treated}/outcome", {"outcome": "treated_at_home"})
    decided_then_cancelled = centre.call()  # a visit decided, then the family called it off while dispatching
    centre.decide(decided_then_cancelled)
    centre.cancel(decided_then_cancelled)
    advice = centre.call()
    centre.decide(advice, **ADVICE)
    centre.cancel(centre.call())  # cancelled before anyone decided
    centre.call(called_at="2025-01-15T14:00:00+09:00")  # a weekday afternoon: out of hours
    centre.call(patient={"unidentified": True})
    centre.call()  # still waiting for the consulting physician
    no_outcome = centre.call()  # visited, finished by phone, no outcome recorded
    centre.on_scene(no_outcome, physician)
    centre.post("coordinator", f"/api/v1/cases/{no_outcome}/progress", {"step": "completed"})

    report = centre.report(2024).json()
    d = next(r for r in report["rows"] if r["clinic_label"] == "D病院")
    assert (d["consultations"], d["house_calls"], d["end_of_life"]) == (3, 1, 0)
    assert report["excluded"] == {
        "out_of_hours": 1,
        "unidentified": 1,
        "out_of_contract": 0,
        "open": 1,
        "cancelled_before_decision": 1,
        "no_outcome": 1,
    }
    assert report["calls"] == 9 == _uses(report) + sum(report["excluded"].values())
    monthly = client.get(
        "/api/v1/reports/monthly", params={"from": "2025-01", "to": "2025-01"}, headers=centre.as_["prefecture"]
    ).json()["months"][0]
    assert monthly["excluded"] == report["excluded"] and monthly["calls"] == 9
    assert (monthly["totals"]["consultations"], monthly["totals"]["house_calls"]) == (3, 1)

    # The files carry the same: the CSV below its table, the workbook on a sheet of its own, with the 赤字.
    with unit_of_work(services.session_factory) as session:
        session.execute(update(Clinic).where(Clinic.label == "D病院").values(newly_started_house_calls=True))
    rows = centre.report(2024, format="csv").content.decode("utf-8-sig").splitlines()
    assert "判断前に終了,1" in rows and "受電件数（合計）,9" in rows
    book = load_workbook(io.BytesIO(centre.report(2024, format="xlsx").content))
    excluded = {row[0]: row[1] for row in book["除外"].iter_rows(values_only=True)}
    assert excluded["時間外"] == 1 and excluded["往診結果未記録"] == 1 and excluded["受電件数（合計）"] == 9
    table = book["令和6年度 医療機関別"]
    marked = {row[0]: row[6] for row in table.iter_rows(min_row=2, max_row=12, values_only=True)}
    assert marked["D病院"] == "○" and marked["Eクリニック"] is None
    assert next(r for r in centre.report(2024).json()["rows"] if r["clinic_label"] == "D病院")[
        "newly_started_house_calls"
    ]


def test_every_year_from_the_start_to_today_is_reportable_with_no_row_added(client, login, services, clock):
    clock.set(datetime(2026, 12, 1, 22, 0, tzinfo=TOKYO))  # 令和8年度; the programme's rows stop at FY2025
    centre = Centre(client, login)
    programme = client.get("/api/v1/programme", headers=centre.as_["prefecture"]).json()
    years = [(y["year"], y["label"], y["current"]) for y in programme["reportable_years"]]
    assert years == [
        (2023, "令和5年度", False),
        (2024, "令和6年度", False),
        (2025, "令和7年度", False),
        (2026, "令和8年度", True),
    ]
    assert programme["starts_on"] == "2023-04-01" and programme["current_fiscal_year"] == 2026
    centre.decide(centre.call(), **ADVICE)  # tonight's call counts in this year
    report = centre.report(2026).json()
    assert report["label"] == "令和8年度" and report["counts_consultations"]
    assert next(r for r in report["rows"] if r["clinic_label"] == "D病院")["consultations"] == 1
    for outside in (2022, 2027):  # before the start, after today
        response = centre.report(outside)
        assert response.status_code == 422 and response.json()["detail"].startswith("fiscal_year:")
    # A programme that began in 2019 offers 令和元年度 first.
    with unit_of_work(services.session_factory) as session:
        session.execute(update(Programme).values(starts_on=date(2019, 4, 1)))
    programme = client.get("/api/v1/programme", headers=centre.as_["prefecture"]).json()
    assert programme["reportable_years"][0] == {
        "year": 2019,
        "label": "令和元年度",
        "counts_consultations": True,
        "current": False,
    }
    assert centre.report(2019).json()["label"] == "令和元年度"


def test_reiwa_year_one_is_gannen_in_full_labels_and_r1_in_contract_months():
    assert [fiscal_year_label(y) for y in (2018, 2019, 2020, 2026)] == [
        "平成30年度",
        "令和元年度",
        "令和2年度",
        "令和8年度",
    ]
    assert reiwa(date(2019, 5, 1)) == "R1.5"
