"""Every area's operations (広域連携), not just the centre's programme: each area's coverage gaps alerted to
its own coordinator, the SMS-cap alert to the case's area, service hours by an area's rule, submissions,
rotations, patient search and the outbox held to an area coordinator's area."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

import workers.context
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.patients.models import Patient
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.roster import service as roster
from dispatch.roster.models import Physician, Shift, ShiftCover, shift_coverage
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import queue_sms
from tests.factories import add_user, intake_body, new_area_hours
from tests.test_area_roles import KATORI, login_as

TOKYO = ZoneInfo("Asia/Tokyo")
INBA_PHONE = "+819011110900"  # 印旛's coordinator (config/programmes/inba.toml)
KATORI_PHONE = "+819011110950"  # 香取海匝's (config/programmes/katori-kaiso.toml)
TAKO = "12347"  # 多古町, in 香取海匝


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in January 2025 (the 20th to the 22nd are plain weekdays: 18:00–08:00)."""
    return datetime(2025, 1, day, hour, minute, tzinfo=TOKYO)


def towns_of(services, area: str) -> dict[str, int]:
    with services.session_factory() as session:
        query = select(Municipality.code, Municipality.id).join(MedicalArea).where(MedicalArea.code == area)
        return dict(session.execute(query).all())


def physician(services, name: str) -> int:
    with services.session_factory() as session:
        return session.scalar(select(Physician.id).where(Physician.name == name))


@pytest.fixture
def two_areas(client, login, services, demo_areas):
    """Both areas' towns, their physicians, and the headers of the centre's and 香取海匝's coordinators."""
    return SimpleNamespace(
        inba=towns_of(services, "inba"),
        katori=towns_of(services, "katori-kaiso"),
        centre=login("coordinator"),
        katori_headers=login_as(client, KATORI),
    )


def _coordinator_sms(services, phone: str, purpose: str) -> list[str]:
    with services.session_factory() as session:
        query = select(SmsMessage.body).where(SmsMessage.purpose == purpose, SmsMessage.phone_e164 == phone)
        return list(session.scalars(query.order_by(SmsMessage.id)))


def test_a_gap_in_katori_tonight_alerts_katoris_coordinator_once_and_not_inbas(
    client, services, clock, two_areas, monkeypatch
):
    from workers.jobs import coverage_gaps_tonight

    monkeypatch.setattr(workers.context, "_services", services)
    with unit_of_work(services.session_factory) as session:
        for table in (ShiftCover, shift_coverage, Shift):
            session.execute(delete(table))
        inba_night = [id_ for id_ in two_areas.inba.values()]
        katori_night = [id_ for code, id_ in two_areas.katori.items() if code != TAKO]  # 多古町 left short
        roster.add_shift(session, physician(services, "代診 成田"), at(20, 18), at(21, 8), inba_night)
        roster.add_shift(session, physician(services, "代診 香取"), at(20, 18), at(21, 8), katori_night)

    clock.set(at(20, 15))
    assert coverage_gaps_tonight() == {"alerted": [TAKO]}
    assert coverage_gaps_tonight() == {"alerted": []}  # run twice: alerted once
    assert _coordinator_sms(services, KATORI_PHONE, "coverage_gap") == [
        "【当番の空き】今夜 多古町 18:00–08:00 当番不在"
    ]
    assert _coordinator_sms(services, INBA_PHONE, "coverage_gap") == []

    katori = login_as(client, KATORI)  # logged in on the test's clock
    own = client.get("/api/v1/roster/gap-alerts", headers=katori).json()
    assert [(a["area"], a["area_name"], [g["municipality"] for g in a["gaps"]]) for a in own] == [
        ("katori-kaiso", "香取海匝", ["多古町"])
    ]
    centre = login_as(client, "coordinator", "coordinator-demo")
    assert [a["area"] for a in client.get("/api/v1/roster/gap-alerts", headers=centre).json()] == [
        "katori-kaiso"
    ]
    assert client.get("/api/v1/roster/gap-alerts", params={"area": "inba"}, headers=centre).json() == []
    # An area coordinator's list holds their own area whatever the filter, as the case list does.
    assert client.get("/api/v1/roster/gap-alerts", params={"area": "inba"}, headers=katori).json() == []
    bad = client.get("/api/v1/roster/gap-alerts", params={"area": "atlantis"}, headers=centre)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("area:")

    # The coming nights by area: the centre names one; an area coordinator cannot name another.
    nights = {"from": "2025-01-20", "to": "2025-01-20"}
    gaps = client.get("/api/v1/roster/gaps", params={**nights, "area": "katori-kaiso"}, headers=centre).json()
    assert [g["municipality_code"] for g in gaps] == [TAKO]
    assert client.get("/api/v1/roster/gaps", params=nights, headers=centre).json() == []  # 印旛: all covered
    other = client.get("/api/v1/roster/gaps", params={**nights, "area": "inba"}, headers=katori)
    assert other.status_code == 404 and other.json()["detail"].startswith("area:")


def _add_katori_rule(services, weekday_from: str) -> None:
    """A second version of 香取海匝's hours (only theirs) in force since 2024-04."""
    new_area_hours(services, "katori-kaiso", datetime(2024, 4, 1, tzinfo=TOKYO), weekday_from=weekday_from)


def test_service_hours_follow_the_area_asked_for_or_the_area_coordinators(client, login, services, two_areas):
    _add_katori_rule(services, "19:00")
    operator = login("operator")
    evening = "2025-01-20T18:30:00+09:00"  # a Monday: 印旛 is in its night hours, 香取海匝 not yet

    def hours(headers, **params) -> bool:
        response = client.get(
            "/api/v1/programme/service-hours", params={"at": evening, **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()["in_service_hours"]

    assert hours(operator) is True  # the centre's programme, as before
    assert hours(operator, area="katori-kaiso") is False
    assert hours(operator, municipality=TAKO) is False
    assert hours(operator, area="inba") is True
    assert hours(two_areas.katori_headers) is False  # an area coordinator: their area's by default
    for params, field, status in (
        ({"area": "atlantis"}, "area", 422),
        ({"municipality": "99999"}, "municipality", 422),
        ({"area": "inba", "municipality": TAKO}, "area/municipality", 422),
    ):
        response = client.get(
            "/api/v1/programme/service-hours", params={"at": evening, **params}, headers=operator
        )
        assert response.status_code == status and response.json()["detail"].startswith(f"{field}:"), params
    elsewhere = client.get(
        "/api/v1/programme/service-hours", params={"area": "inba"}, headers=two_areas.katori_headers
    )
    assert elsewhere.status_code == 404 and elsewhere.json()["detail"].startswith("area:")


def test_submissions_of_each_area_by_role(client, login, two_areas):
    centre, katori = two_areas.centre, two_areas.katori_headers
    made = client.post(
        "/api/v1/submissions", params={"area": "katori-kaiso"}, json={"month": "2024-12"}, headers=centre
    )
    assert made.status_code == 201, made.text
    own = client.post("/api/v1/submissions", json={"month": "2024-11"}, headers=katori)
    assert own.status_code == 201, own.text
    admin = login("admin")
    assert (
        client.post("/api/v1/submissions", json={"month": "2024-12"}, headers=admin).status_code == 201
    )  # 印旛

    def months(headers, **params) -> list[tuple[str, int]]:
        response = client.get("/api/v1/submissions", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [(s["month"], s["version"]) for s in response.json()]

    analyst = login("prefecture")
    assert months(analyst) == [("2024-12", 1)]  # without an area: the centre's programme, as before
    assert months(analyst, area="katori-kaiso") == [("2024-12", 1), ("2024-11", 1)]
    assert months(centre, area="katori-kaiso") == months(katori) == [("2024-12", 1), ("2024-11", 1)]
    assert months(admin, area="inba") == [("2024-12", 1)]
    read = client.get("/api/v1/submissions/2024-11", params={"area": "katori-kaiso"}, headers=analyst)
    assert read.status_code == 200 and read.json()["month"] == "2024-11"
    assert client.get("/api/v1/submissions/2024-11", headers=analyst).status_code == 404  # 印旛 has no 11月
    sheet = client.get("/api/v1/submissions/2024-12.csv", params={"area": "katori-kaiso"}, headers=analyst)
    assert sheet.status_code == 200

    # 香取海匝's coordinator: another area's submissions are not there to see, nor to submit.
    for method, path, body in (
        ("GET", "/api/v1/submissions", None),
        ("GET", "/api/v1/submissions/2024-12", None),
        ("GET", "/api/v1/submissions/2024-12.csv", None),
        ("POST", "/api/v1/submissions", {"month": "2024-10"}),
    ):
        response = client.request(method, path, params={"area": "inba"}, json=body, headers=katori)
        assert response.status_code == 404 and response.json()["detail"].startswith("area:"), (method, path)
    unknown = client.get("/api/v1/submissions", params={"area": "atlantis"}, headers=analyst)
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("area:")


def test_a_month_generated_for_each_area_follows_that_areas_hours(client, services, two_areas):
    _add_katori_rule(services, "19:00")
    centre, katori = two_areas.centre, two_areas.katori_headers
    rotation = {"kind": "weekly", "weekdays": [0], "starts_on": "2025-02-01", "ends_on": None}
    for name, physician_name, towns in (
        ("月曜 香取", "代診 香取", list(two_areas.katori.values())),
        ("月曜 成田", "代診 成田", list(two_areas.inba.values())),
    ):
        body = {
            **rotation,
            "name": name,
            "physician_ids": [physician(services, physician_name)],
            "coverage": towns,
        }
        assert client.post("/api/v1/roster/rotations", json=body, headers=centre).status_code == 201

    assert {r["name"] for r in client.get("/api/v1/roster/rotations", headers=katori).json()} == {"月曜 香取"}
    listed = client.get("/api/v1/roster/rotations", params={"area": "katori-kaiso"}, headers=centre).json()
    assert [r["name"] for r in listed] == ["月曜 香取"]

    # The centre generates every area's month at once: each rotation's nights in its own area's hours.
    made = client.post("/api/v1/roster/months/2025-02/generate", headers=centre)
    assert made.status_code == 200 and made.json()["created"] == 8, made.text
    shifts = client.get("/api/v1/roster/months/2025-02", headers=centre).json()
    starts = {
        (s["physician_name"], datetime.fromisoformat(s["starts_at"]).astimezone(TOKYO).hour) for s in shifts
    }
    # Weekday evenings by each area's rule; 2/24 (振替休日) from the morning hand-back in both.
    assert starts == {("代診 香取", 19), ("代診 成田", 18), ("代診 香取", 8), ("代診 成田", 8)}

    # 香取海匝's coordinator works on theirs alone: 印旛's month is not there for them.
    own = client.get("/api/v1/roster/months/2025-02", headers=katori).json()
    assert {s["physician_name"] for s in own} == {"代診 香取"} and len(own) == 4
    for method, path in (
        ("GET", "/api/v1/roster/months/2025-02"),
        ("POST", "/api/v1/roster/months/2025-02/generate"),
        ("POST", "/api/v1/roster/months/2025-02/publish"),
        ("GET", "/api/v1/roster/rotations"),
    ):
        response = client.request(method, path, params={"area": "inba"}, headers=katori)
        assert response.status_code == 404, (method, path, response.text)
    published = client.post("/api/v1/roster/months/2025-02/publish", headers=katori).json()
    assert published["published"] == 4
    centre_view = client.get("/api/v1/roster/months/2025-02", params={"area": "inba"}, headers=centre).json()
    assert {s["published"] for s in centre_view} == {False}  # 印旛's drafts stay drafts


def test_the_area_coordinator_finds_opens_and_reads_messages_of_their_area_only(
    client, login, services, two_areas
):
    operator = login("operator")
    inba_case = client.post("/api/v1/cases", headers=operator, json=intake_body()).json()["id"]
    katori_body = intake_body(patient={"clinic_patient_number": "K-0001"})
    katori_case = client.post("/api/v1/cases", headers=operator, json=katori_body).json()["id"]
    with services.session_factory() as session:
        inba_patient = session.scalar(select(Patient.id).where(Patient.family_name_kana == "インバ"))
        katori_patient = session.scalar(select(Patient.id).where(Patient.family_name_kana == "タコ"))
    katori, centre = two_areas.katori_headers, two_areas.centre

    def found(headers, body) -> set[int]:
        response = client.post("/api/v1/patients/search", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return {m["id"] for m in response.json()}

    assert found(katori, {"clinic_patient_number": "D-0001"}) == set()
    assert found(katori, {"clinic_patient_number": "K-0001"}) == {katori_patient}
    assert found(katori, {"name_kana": "イ"}) == set()
    assert found(centre, {"clinic_patient_number": "D-0001"}) == {inba_patient}
    assert found(centre, {"name_kana": "タ"}) == {katori_patient}
    opened = client.get(f"/api/v1/patients/{inba_patient}", headers=katori)
    assert opened.status_code == 404 and "that you may see" in opened.json()["detail"]
    assert client.get(f"/api/v1/patients/{katori_patient}", headers=katori).status_code == 200
    with services.session_factory() as session:
        reads = session.scalars(
            select(AuditEntry.patient_id).where(
                AuditEntry.action.in_(("patient.search.match", "patient.care_profile.read"))
            )
        ).all()
    assert inba_patient in reads and reads.count(katori_patient) >= 2  # every match and read audited

    with unit_of_work(services.session_factory) as session:
        queue_sms(
            session, services.clock, INBA_PHONE, "【テスト】印旛のコーディネーターへ", "coordinator_alert"
        )
        queue_sms(
            session, services.clock, KATORI_PHONE, "【テスト】香取海匝のコーディネーターへ", "coordinator_alert"
        )
        katori_doctor = session.scalar(select(Physician.phone_e164).where(Physician.name == "代診 香取"))
        queue_sms(session, services.clock, katori_doctor, "【テスト】代診 香取へ", "swap")

    def outbox(headers, **params) -> list[dict]:
        response = client.get("/api/v1/sms/messages", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    seen = outbox(katori)
    assert {m["body"] for m in seen} >= {"【テスト】香取海匝のコーディネーターへ", "【テスト】代診 香取へ"}
    assert "【テスト】印旛のコーディネーターへ" not in {m["body"] for m in seen}
    assert all(m["case_id"] in (None, katori_case) for m in seen)
    assert outbox(katori, case_id=inba_case) == []
    everything = outbox(centre)
    assert {"【テスト】印旛のコーディネーターへ", "【テスト】香取海匝のコーディネーターへ"} <= {
        m["body"] for m in everything
    }
    assert "【テスト】代診 香取へ" in {m["body"] for m in everything}


def test_the_admin_adds_to_another_areas_lists_and_the_centre_makes_its_handoffs(
    client, login, services, two_areas
):
    admin, centre, katori = login("admin"), two_areas.centre, two_areas.katori_headers
    tako = two_areas.katori[TAKO]
    hospital = {
        "name": "多古みなと病院（テスト）",
        "municipality_id": tako,
        "backup_support": True,
        "backup_beds": 1,
    }
    added = client.post("/api/v1/hospitals", params={"area": "katori-kaiso"}, json=hospital, headers=admin)
    assert added.status_code == 201, added.text
    names = lambda headers, **params: {  # noqa: E731
        h["name"] for h in client.get("/api/v1/hospitals", params=params, headers=headers).json()
    }
    assert names(katori) == names(centre, area="katori-kaiso") == {"多古みなと病院（テスト）"}
    assert "多古みなと病院（テスト）" not in names(centre)  # the centre's own list, as before
    assert client.get("/api/v1/hospitals/tonight", params={"area": "inba"}, headers=katori).status_code == 404

    clinic = {"label": "多古テスト診療所", "kind": "clinic", "municipality_id": tako}
    made = client.post("/api/v1/clinics", params={"area": "katori-kaiso"}, json=clinic, headers=admin)
    assert made.status_code == 201, made.text
    with services.session_factory() as session:
        programme = session.scalar(
            select(Programme.code)
            .join(Clinic, Clinic.programme_id == Programme.id)
            .where(Clinic.id == made.json()["id"])
        )
        katori_clinic = session.scalar(select(Clinic.id).where(Clinic.label == "香取ひばり診療所"))
        inba_clinic = session.scalar(select(Clinic.id).where(Clinic.label == "D病院"))
    assert programme == "katori-kaiso"
    labels = {c["label"] for c in client.get("/api/v1/clinics", headers=katori).json()}
    assert labels == {"香取ひばり診療所", "旭なぎさクリニック", "多古テスト診療所"}
    assert "D病院" in {c["label"] for c in client.get("/api/v1/clinics", headers=centre).json()}

    # The centre's coordinator hands off a 香取海匝 clinic's night (nothing yet: 409, not "no clinic").
    nothing = client.post("/api/v1/handoffs", json={"clinic_id": katori_clinic}, headers=centre)
    assert nothing.status_code == 409 and nothing.json()["detail"].startswith("clinic_id:"), nothing.text
    other = client.post("/api/v1/handoffs", json={"clinic_id": inba_clinic}, headers=katori)
    assert other.status_code == 422 and other.json()["detail"] == f"clinic_id: no clinic {inba_clinic}"


def test_the_monthly_report_command_takes_an_area(client, login, services, two_areas, monkeypatch):
    import json

    from typer.testing import CliRunner

    from dispatch.cli import app as cli

    operator = login("operator")
    katori_body = intake_body(patient={"clinic_patient_number": "K-0001"})
    assert client.post("/api/v1/cases", headers=operator, json=katori_body).status_code == 201
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    month = ["report", "monthly", "--from", "2025-01", "--to", "2025-01", "--format", "json"]

    def calls(*extra: str) -> int:
        result = CliRunner().invoke(cli, [*month, *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["months"][0]["calls"]

    assert calls("--area", "katori-kaiso") == 1
    assert calls() == 0  # the centre's programme (印旛) had no call
    unknown = CliRunner().invoke(cli, [*month, "--area", "atlantis"])
    assert unknown.exit_code != 0 and "--area" in unknown.output


def test_a_swap_of_a_katori_shift_asks_katoris_coordinator_to_approve(client, services, clock, two_areas):
    with services.session_factory() as session:
        shift_id = session.scalar(
            select(Shift.id)
            .where(Shift.physician_id == physician(services, "代診 香取"), Shift.starts_at > clock.now())
            .order_by(Shift.starts_at)
            .limit(1)
        )
    asked = client.post(
        "/api/v1/swaps", json={"shift_id": shift_id, "kind": "give_away"}, headers=two_areas.centre
    )
    assert asked.status_code == 201, asked.text
    narita = add_user(
        services, "narita", Role.substitute_physician, physician_id=physician(services, "代診 成田")
    )
    taker = login_as(client, "narita", narita["password"])
    taken = client.post(f"/api/v1/swaps/{asked.json()['id']}/take", json={}, headers=taker)
    assert taken.status_code == 200 and taken.json()["state"] == "taken", taken.text
    assert any("承認" in body for body in _coordinator_sms(services, KATORI_PHONE, "swap_approval"))
    assert _coordinator_sms(services, INBA_PHONE, "swap_approval") == []
