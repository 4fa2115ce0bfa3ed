"""Reports per area, 保健所, district medical association and for the prefecture (広域連携): the figures add up
from association to 保健所 to area to prefecture, a cross-area house call shows as received in the patient's
area and given in the physician's and counts once, the files carry it, and each role reads what it may."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from dispatch.areas.models import HealthCentre, MedicalAssociation
from dispatch.cases.states import CaseState, Disposition
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode
from dispatch.programme.models import MedicalArea, Municipality, Programme
from tests.factories import insert_case, insert_patient

TOKYO = ZoneInfo("Asia/Tokyo")
TREATED, DEATH, NO_CONTACT = OutcomeCode.treated_at_home, OutcomeCode.death_pronounced, OutcomeCode.no_contact
COLUMNS = ("enrolled_patients", "enrolled_during_year", "newly_enrolled", "consultations", "house_calls")
COLUMNS += ("end_of_life",)


class Ids:
    """The demo's two areas as ids: programmes, areas, clinics, towns, 保健所 and associations by name."""

    def __init__(self, session) -> None:
        self.programme = dict(session.execute(select(Programme.code, Programme.id)).all())
        self.area = dict(session.execute(select(MedicalArea.code, MedicalArea.id)).all())
        self.clinic = dict(session.execute(select(Clinic.label, Clinic.id)).all())
        self.town = dict(session.execute(select(Municipality.name, Municipality.id)).all())
        self.centre = dict(session.execute(select(HealthCentre.name, HealthCentre.id)).all())
        self.association = dict(session.execute(select(MedicalAssociation.name, MedicalAssociation.id)).all())


def _at(day: int, hour: int = 23) -> datetime:
    return datetime(2024, 12, day, hour, 0, tzinfo=TOKYO)


@pytest.fixture
def two_areas(services, demo_areas) -> Ids:
    """A December of calls in 印旛 and 香取海匝, four house calls made by the other area's physician."""
    with unit_of_work(services.session_factory) as session:
        ids = Ids(session)
        inba, katori = ids.programme["inba"], ids.programme["katori-kaiso"]

        def call(programme, clinic, town, day, **extra):
            return insert_case(
                session,
                programme_id=programme,
                clinic_id=ids.clinic[clinic],
                municipality_id=ids.town[town],
                called_at=_at(day),
                **extra,
            )

        # 印旛: consultations, house calls (one a death at home), one by 香取海匝's physician, and exclusions.
        call(inba, "D病院", "成田市", 1)
        call(inba, "D病院", "成田市", 2)
        call(inba, "D病院", "成田市", 3, outcome=TREATED)
        call(inba, "D病院", "成田市", 4, outcome=DEATH)
        call(inba, "D病院", "成田市", 5, outcome=TREATED, visiting_area_id=ids.area["katori-kaiso"])
        call(inba, "Eクリニック", "佐倉市", 6, in_service_hours=False)
        call(inba, "Eクリニック", "佐倉市", 7)
        call(inba, "Eクリニック", "佐倉市", 8, state=CaseState.cancelled, disposition=None)
        # 香取海匝: three house calls by 印旛's physicians (香取市 ×2, one a death; 旭市 ×1) and its own.
        helped = {"visiting_area_id": ids.area["inba"]}
        call(katori, "香取ひばり診療所", "香取市", 9)
        call(katori, "香取ひばり診療所", "香取市", 10, outcome=TREATED, **helped)
        call(katori, "香取ひばり診療所", "香取市", 11, outcome=DEATH, **helped)
        call(katori, "香取ひばり診療所", "香取市", 12, in_contract=False)
        call(katori, "香取ひばり診療所", "旭市", 13, outcome=TREATED)  # the clinic's patient in 旭市
        call(katori, "旭なぎさクリニック", "旭市", 14)
        call(katori, "旭なぎさクリニック", "旭市", 15)
        call(
            katori,
            "旭なぎさクリニック",
            "旭市",
            16,
            state=CaseState.offered,
            disposition=Disposition.visit_urgent,
        )
        call(katori, "旭なぎさクリニック", "旭市", 17, outcome=TREATED, **helped)
        call(katori, "旭なぎさクリニック", "銚子市", 18, outcome=TREATED)
        call(katori, "旭なぎさクリニック", "銚子市", 19, outcome=NO_CONTACT)
        call(katori, "旭なぎさクリニック", "銚子市", 20, patient_id=None, disposition=None)
        # Enrolled patients in each association's towns (besides the demo's own).
        for clinic, town in [
            ("香取ひばり診療所", "香取市"),
            ("香取ひばり診療所", "旭市"),
            ("旭なぎさクリニック", "旭市"),
        ]:
            insert_patient(session, ids.town[town], clinic_id=ids.clinic[clinic])
        insert_patient(session, ids.town["銚子市"], clinic_id=ids.clinic["旭なぎさクリニック"])
    return ids


def _login(client, username: str, demo_areas) -> dict[str, str]:
    password = next(d.password for d in demo_areas if d.username == username)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _report(client, headers, fmt: str = "json", **unit):
    response = client.get(
        "/api/v1/reports/clinics", params={"fiscal_year": 2024, "format": fmt, **unit}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json() if fmt == "json" else response.content


def _figures(report: dict) -> dict:
    """Every figure that must add up: the total's columns, the calls, the exclusions, received cross-area."""
    return {
        **{k: report["total"][k] for k in COLUMNS},
        "calls": report["calls"],
        "not_counted": report["consultations_not_counted"],
        **{f"excluded.{k}": v for k, v in report["excluded"].items()},
        "cross_area.received": report["cross_area"]["received"],
        **{f"row.{r['clinic_label']}.{k}": r[k] for r in report["rows"] for k in COLUMNS},
    }


def _sum(reports: list[dict]) -> dict:
    summed: dict = {}
    for report in reports:
        for key, value in _figures(report).items():
            summed[key] = summed.get(key, 0) + (value or 0)
    return summed


def _nonzero(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if v}


def test_associations_add_up_to_their_health_centres_to_their_areas_to_the_prefecture(client, login, two_areas):
    ids, prefecture = two_areas, login("prefecture")
    by = {
        "association": {
            name: _report(client, prefecture, association=ids.association[name])
            for name in ("印旛市郡医師会", "香取郡市医師会", "銚子市医師会", "旭匝瑳医師会")
        },
        "health_centre": {
            name: _report(client, prefecture, health_centre=ids.centre[name])
            for name in ("印旛", "香取", "海匝")
        },
        "area": {code: _report(client, prefecture, area=code) for code in ("inba", "katori-kaiso")},
    }
    whole = _report(client, prefecture, scope="prefecture")
    association, centre, area = by["association"], by["health_centre"], by["area"]
    assert _nonzero(_sum([association["銚子市医師会"], association["旭匝瑳医師会"]])) == _nonzero(
        _figures(centre["海匝"])
    )
    assert _nonzero(_figures(association["香取郡市医師会"])) == _nonzero(_figures(centre["香取"]))
    assert _nonzero(_sum([centre["香取"], centre["海匝"]])) == _nonzero(_figures(area["katori-kaiso"]))
    assert _nonzero(_figures(association["印旛市郡医師会"])) == _nonzero(_figures(centre["印旛"]))
    assert _nonzero(_figures(centre["印旛"])) == _nonzero(_figures(area["inba"]))
    assert _nonzero(_sum(list(area.values()))) == _nonzero(_figures(whole))

    # The figures themselves, as the test's calls make them.
    katori = area["katori-kaiso"]
    assert {k: katori["total"][k] for k in ("consultations", "house_calls", "end_of_life")} == {
        "consultations": 4,  # 香取市 1, 旭市 2, 銚子市 1 (the no-contact trip)
        "house_calls": 5,
        "end_of_life": 1,
    }
    assert katori["calls"] == 12 and katori["excluded"]["out_of_contract"] == 1
    assert katori["excluded"]["open"] == 1 and katori["excluded"]["unidentified"] == 1
    # Rows are the clinics of the unit's calls and patients: 香取ひばり's patient in 旭市 puts it in 海匝.
    assert [r["clinic_label"] for r in centre["海匝"]["rows"]] == ["旭なぎさクリニック", "香取ひばり診療所"]
    assert [r["clinic_label"] for r in association["銚子市医師会"]["rows"]] == ["旭なぎさクリニック"]
    hibari = {name: next(r for r in centre[name]["rows"] if r["clinic_label"] == "香取ひばり診療所")
              for name in ("香取", "海匝")}  # fmt: skip
    assert (hibari["香取"]["enrolled_patients"], hibari["海匝"]["enrolled_patients"]) == (2, 1)  # with K-0001
    # The prefecture: both areas' rows, grouped, with each area's subtotal.
    assert [s["area_code"] for s in whole["areas"]] == ["inba", "katori-kaiso"]
    assert (
        whole["areas"][1]["subtotal"]["house_calls"] == 5 and whole["areas"][0]["subtotal"]["house_calls"] == 3
    )
    assert whole["unit"] == {
        "kind": "prefecture",
        "id": None,
        "code": None,
        "name": "千葉県",
        "area_code": None,
        "area_name": None,
    }


def test_a_cross_area_visit_is_received_in_the_patients_area_given_in_the_physicians_and_counted_once(
    client, login, two_areas
):
    prefecture = login("prefecture")
    inba, katori = (_report(client, prefecture, area=code) for code in ("inba", "katori-kaiso"))
    assert inba["cross_area"] == {
        "received": 1,
        "given": 3,
        "by_area": [{"area_code": "katori-kaiso", "area_name": "香取海匝", "received": 1, "given": 3}],
    }
    assert katori["cross_area"] == {
        "received": 3,
        "given": 1,
        "by_area": [{"area_code": "inba", "area_name": "印旛", "received": 3, "given": 1}],
    }
    # In the patient's area's table, as any house call; not in the physician's.
    assert next(r for r in inba["rows"] if r["clinic_label"] == "D病院")["house_calls"] == 3
    whole = _report(client, prefecture, scope="prefecture")
    assert whole["cross_area"]["received"] == whole["cross_area"]["given"] == 4
    assert [(a["area_code"], a["received"], a["given"]) for a in whole["cross_area"]["by_area"]] == [
        ("inba", 1, 3),
        ("katori-kaiso", 3, 1),
    ]
    assert whole["total"]["house_calls"] == 3 + 5  # the eight house calls made, each once
    # Below an area: what was received there; a 保健所 gives nothing of its own.
    centre = _report(client, prefecture, health_centre=two_areas.centre["香取"])
    assert centre["cross_area"] == {
        "received": 2,
        "given": None,
        "by_area": [{"area_code": "inba", "area_name": "印旛", "received": 2, "given": None}],
    }


def test_the_csv_has_the_bom_japanese_headers_area_subtotals_and_cross_area_both_ways(client, login, two_areas):
    prefecture = login("prefecture")
    content = _report(client, prefecture, "csv", area="katori-kaiso")
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["医療機関名", "契約患者数", "医療相談", "往診", "看取り", "契約時期"]
    assert rows[3][0] == "合計" and rows[3][2:5] == ["4", "5", "1"]
    start = rows.index(["広域連携（他圏域の医師による往診）", "受入", "応援"])
    assert rows[start + 1 : start + 3] == [["印旛", "3", "1"], ["合計", "3", "1"]]
    assert rows[start + 3][0].startswith("※受入")

    whole = list(
        csv.reader(io.StringIO(_report(client, prefecture, "csv", scope="prefecture").decode("utf-8-sig")))
    )
    assert whole[0] == ["二次医療圏", "医療機関名", "契約患者数", "医療相談", "往診", "看取り", "契約時期"]
    subtotals = [r for r in whole if len(r) > 1 and r[1] == "小計"]
    assert [(r[0], r[4]) for r in subtotals] == [("印旛", "3"), ("香取海匝", "5")]
    total = next(r for r in whole if len(r) > 1 and r[1] == "合計")
    assert total[0] == "千葉県" and total[4] == "8"
    assert ["集計に含めない受電", "印旛", "香取海匝", "合計"] in whole and ["時間外", "1", "0", "1"] in whole
    assert ["印旛", "1", "3"] in whole and ["香取海匝", "3", "1"] in whole and ["合計", "4", "4"] in whole


def test_the_workbook_opens_with_its_sheets(client, login, two_areas):
    prefecture = login("prefecture")
    book = load_workbook(io.BytesIO(_report(client, prefecture, "xlsx", scope="prefecture")))
    assert book.sheetnames == ["令和6年度 医療機関別", "除外", "広域連携"]
    table = [row for row in book["令和6年度 医療機関別"].iter_rows(values_only=True)]
    assert table[0][:2] == ("二次医療圏", "医療機関名")
    assert ("香取海匝", "小計") in [row[:2] for row in table] and ("千葉県", "合計") in [
        row[:2] for row in table
    ]
    cross = [row for row in book["広域連携"].iter_rows(values_only=True)]
    assert cross[0] == ("広域連携（他圏域の医師による往診）", "受入", "応援")
    assert ("合計", 4, 4) in cross
    monthly = client.get(
        "/api/v1/reports/monthly",
        params={
            "from": "2024-12",
            "to": "2024-12",
            "format": "xlsx",
            "health_centre": two_areas.centre["海匝"],
        },
        headers=prefecture,
    )
    book = load_workbook(io.BytesIO(monthly.content))
    assert book.sheetnames == ["令和6年度 医療機関別", "除外", "広域連携", "月別利用状況"]
    assert book["広域連携"]["A2"].value == "印旛" and book["広域連携"]["B2"].value == 1


def test_the_monthly_report_takes_the_same_units_and_adds_up(client, login, two_areas):
    prefecture = login("prefecture")

    def december(**unit) -> dict:
        params = {"from": "2024-12", "to": "2024-12", **unit}
        response = client.get("/api/v1/reports/monthly", params=params, headers=prefecture)
        assert response.status_code == 200, response.text
        return response.json()["months"][0]

    inba, katori, whole = december(area="inba"), december(area="katori-kaiso"), december(scope="prefecture")
    assert katori["totals"] == {"consultations": 4, "house_calls": 5, "end_of_life": 1}
    assert whole["calls"] == inba["calls"] + katori["calls"] == 8 + 12
    for key in ("consultations", "house_calls", "end_of_life"):
        assert whole["totals"][key] == inba["totals"][key] + katori["totals"][key]
    centre = december(health_centre=two_areas.centre["海匝"])
    assert set(centre["by_municipality"]) == {"旭市", "銚子市"}


def test_two_areas_clinics_of_one_name_stay_apart_in_the_prefectures_monthly_rows(
    client, login, services, two_areas
):
    # A clinic's label is unique within its area only: 香取海匝 may well have a "D病院" too.
    with unit_of_work(services.session_factory) as session:
        session.get_one(Clinic, two_areas.clinic["旭なぎさクリニック"]).label = "D病院"
    params = {"from": "2024-12", "to": "2024-12", "scope": "prefecture"}
    response = client.get("/api/v1/reports/monthly", params=params, headers=login("prefecture"))
    assert response.status_code == 200, response.text
    month = response.json()["months"][0]
    by_clinic = month["by_clinic"]
    assert {"D病院（印旛）", "D病院（香取海匝）"} <= set(by_clinic), by_clinic
    assert by_clinic["D病院（印旛）"]["house_calls"] == 3
    for key in ("consultations", "house_calls", "end_of_life"):
        assert sum(row[key] for row in by_clinic.values()) == month["totals"][key]


def test_each_call_counts_by_its_own_programmes_rules(client, login, services, two_areas, clock):
    """FY2023: 印旛 did not count consultations, 香取海匝 (demo) did; the prefecture's table says both."""
    ids = two_areas
    with unit_of_work(services.session_factory) as session:
        for programme, clinic, town in [
            ("inba", "D病院", "成田市"),
            ("katori-kaiso", "旭なぎさクリニック", "旭市"),
        ]:
            insert_case(
                session,
                programme_id=ids.programme[programme],
                clinic_id=ids.clinic[clinic],
                municipality_id=ids.town[town],
                called_at=datetime(2024, 1, 10, 23, 0, tzinfo=TOKYO),
            )
    response = client.get(
        "/api/v1/reports/clinics",
        params={"fiscal_year": 2023, "scope": "prefecture"},
        headers=login("prefecture"),
    )
    whole = response.json()
    inba, katori = whole["areas"]
    assert (
        inba["counts_consultations"],
        inba["subtotal"]["consultations"],
        inba["consultations_not_counted"],
    ) == (
        False,
        None,
        1,
    )
    assert (katori["counts_consultations"], katori["subtotal"]["consultations"]) == (True, 1)
    assert whole["total"]["consultations"] == 1 and whole["consultations_not_counted"] == 1
    assert whole["counts_consultations"] is False


def test_who_reads_which_unit(client, login, services, two_areas, demo_areas):
    ids = two_areas
    katori_coordinator = _login(client, "coordinator-katori", demo_areas)

    def status(headers, **unit) -> tuple[int, str]:
        response = client.get("/api/v1/reports/clinics", params={"fiscal_year": 2024, **unit}, headers=headers)
        return response.status_code, response.json().get("detail", "") if response.status_code != 200 else ""

    units = [
        {"area": "inba"},
        {"area": "katori-kaiso"},
        {"health_centre": ids.centre["印旛"]},
        {"health_centre": ids.centre["海匝"]},
        {"association": ids.association["旭匝瑳医師会"]},
        {"scope": "prefecture"},
    ]
    for who in ("prefecture", "coordinator", "admin"):
        assert [status(login(who), **unit)[0] for unit in units] == [200] * 6, who
    # An area coordinator: their area, its 保健所 and associations; nothing else, and told why.
    codes = [status(katori_coordinator, **unit) for unit in units]
    assert [code for code, _ in codes] == [403, 200, 403, 200, 200, 403]
    assert "area coordinator reads the reports of their own area only (katori-kaiso" in codes[0][1]
    own = client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=katori_coordinator).json()
    assert own["unit"]["code"] == "katori-kaiso" and own["total"]["house_calls"] == 5
    # A clinic admin: their own clinic's row, in their programme's area only.
    clinic = login("clinic")
    assert [status(clinic, **unit)[0] for unit in units] == [200, 403, 403, 403, 403, 403]
    assert "clinic admin" in status(clinic, area="katori-kaiso")[1]
    mine = client.get("/api/v1/reports/clinics?fiscal_year=2024&area=inba", headers=clinic).json()
    assert [r["clinic_label"] for r in mine["rows"]] == ["D病院"] and mine["cross_area"]["given"] is None
    # Unknown units and bad asks, named.
    prefecture = login("prefecture")
    assert status(prefecture, area="nowhere") == (
        404,
        "area: no area has the code 'nowhere' (GET /api/v1/reports/units lists them)",
    )
    assert status(prefecture, area="chiba")[0] == 404 and "no programme" in status(prefecture, area="chiba")[1]
    assert status(prefecture, health_centre=99999)[0] == 404
    assert status(prefecture, association=99999)[0] == 404
    both = status(prefecture, area="inba", scope="prefecture")
    assert both == (422, "area/scope: ask for one unit at a time")
    assert (
        client.get(
            "/api/v1/reports/clinics", params={"fiscal_year": 2024, "scope": "nation"}, headers=prefecture
        ).status_code
        == 422
    )
    monthly = client.get(
        "/api/v1/reports/monthly",
        params={"from": "2024-12", "to": "2024-12", "area": "inba"},
        headers=katori_coordinator,
    )
    assert monthly.status_code == 403


def test_the_units_index_lists_what_each_reader_may_open(client, login, two_areas, demo_areas):
    everything = client.get("/api/v1/reports/units", headers=login("prefecture")).json()
    assert everything["prefecture"] == "千葉県" and len(everything["areas"]) == 9
    assert everything["default"]["code"] == "inba"
    katori = next(a for a in everything["areas"] if a["code"] == "katori-kaiso")
    assert katori["programme"] == "katori-kaiso"
    assert [(c["name"], [a["name"] for a in c["associations"]]) for c in katori["health_centres"]] == [
        ("香取", ["香取郡市医師会"]),
        ("海匝", ["銚子市医師会", "旭匝瑳医師会"]),
    ]
    assert katori["health_centres"][1]["id"] == two_areas.centre["海匝"]
    assert next(a for a in everything["areas"] if a["code"] == "chiba")["programme"] is None
    own = client.get("/api/v1/reports/units", headers=_login(client, "coordinator-katori", demo_areas)).json()
    assert own["prefecture"] is None and [a["code"] for a in own["areas"]] == ["katori-kaiso"]
    assert own["default"]["code"] == "katori-kaiso"
    clinic = client.get("/api/v1/reports/units", headers=login("clinic")).json()
    assert [(a["code"], a["health_centres"]) for a in clinic["areas"]] == [("inba", [])]
    assert client.get("/api/v1/reports/units", headers=login("operator")).status_code == 403


def test_the_cli_prints_the_prefecture_grouped_by_area(services, two_areas, monkeypatch):
    from typer.testing import CliRunner

    from dispatch.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    runner = CliRunner()
    table = runner.invoke(cli, ["report", "clinics", "--fiscal-year", "2024", "--prefecture"])
    assert table.exit_code == 0, table.output
    assert re.search(r"^香取海匝 +小計 +5 +4 +5 +1$", table.output, re.M), table.output
    assert re.search(r"^合計 +4 +4$", table.output, re.M)  # 広域連携: received and given, once each
    area = runner.invoke(cli, ["report", "clinics", "--fiscal-year", "2024", "--area", "katori-kaiso"])
    assert area.exit_code == 0 and "旭なぎさクリニック" in area.output and "D病院" not in area.output
    unknown = runner.invoke(cli, ["report", "clinics", "--fiscal-year", "2024", "--area", "nowhere"])
    assert unknown.exit_code != 0 and "no area has the code" in unknown.output
