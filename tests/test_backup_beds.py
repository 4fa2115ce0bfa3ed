"""Backup beds for home patients (在宅療養支援病床): the coordinator marks tonight's free beds, the consulting
physician sees them, and a transport names the hospital it went to."""

from __future__ import annotations

from datetime import timedelta

from rq import SimpleWorker
from sqlalchemy import select

import workers.context
from dispatch.audit.models import AuditEntry
from dispatch.queue import QUEUE_NAME
from tests.factories import decision_body, intake_body

NARITA, SAKURA, INZAI, YACHIMATA = (
    "成田なのはな病院",
    "佐倉やまぶき病院",
    "印西かしの木病院",
    "八街ひまわり病院",
)


def _ids(client, headers) -> dict[str, int]:
    return {h["name"]: h["id"] for h in client.get("/api/v1/hospitals", headers=headers).json()}


def _tonight(client, headers) -> dict[str, dict]:
    response = client.get("/api/v1/hospitals/tonight", headers=headers)
    assert response.status_code == 200, response.text
    return {row["name"]: row for row in response.json()}


def test_the_coordinator_marks_tonights_beds_and_the_consulting_physician_sees_them(
    client, login, services, clock
):
    doctor, coordinator = login("consult"), login("coordinator")
    listed = client.get("/api/v1/hospitals", headers=doctor).json()
    assert [h["name"] for h in listed[:2]] == [SAKURA, NARITA]  # 在宅療養後方支援病院 first
    assert {h["name"] for h in listed} == {NARITA, SAKURA, INZAI, YACHIMATA}
    ids = _ids(client, doctor)

    # 23:00: the demo marked one hospital; the others are not marked tonight, and one holds no backup bed.
    before = _tonight(client, doctor)
    assert YACHIMATA not in before
    assert (
        before[NARITA]["free"] == 1 and before[SAKURA]["free"] is None and before[SAKURA]["updated_at"] is None
    )
    assert before[SAKURA]["night"] == "2025-01-15" and before[NARITA]["night_phone"] == "+81476110901"

    marked = client.put(
        f"/api/v1/hospitals/{ids[SAKURA]}/beds/tonight", headers=coordinator, json={"free": 2, "note": "個室1"}
    )
    assert marked.status_code == 200, marked.text
    row = _tonight(client, doctor)[SAKURA]
    assert (row["free"], row["note"], row["updated_by"]) == (2, "個室1", "user:coordinator")
    assert row["updated_at"] is not None and _tonight(client, doctor)[INZAI]["free"] is None

    # Later the same night a bed is taken: the latest mark wins, the earlier one is kept.
    clock.advance(timedelta(hours=3))  # 02:00 on the 16th is still the night of the 15th
    client.put(f"/api/v1/hospitals/{ids[SAKURA]}/beds/tonight", headers=coordinator, json={"free": 1})
    assert _tonight(client, doctor)[SAKURA]["free"] == 1
    history = client.get(f"/api/v1/hospitals/{ids[SAKURA]}/beds", headers=doctor).json()
    assert [h["free"] for h in history] == [1, 2]
    with services.session_factory() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "hospital.beds.mark")).all()
    assert len(audited) == 2 and audited[0].patient_id is None

    too_many = client.put(f"/api/v1/hospitals/{ids[INZAI]}/beds/tonight", headers=coordinator, json={"free": 3})
    assert too_many.status_code == 422 and too_many.json()["detail"].startswith("free:")
    for role in ("operator", "prefecture"):
        refused = client.put(
            f"/api/v1/hospitals/{ids[INZAI]}/beds/tonight", headers=login(role), json={"free": 1}
        )
        assert refused.status_code == 403

    # 09:00: a new night has not been marked yet.
    clock.advance(timedelta(hours=7))
    after = _tonight(client, doctor)
    assert after[SAKURA]["free"] is None and after[SAKURA]["night"] == "2025-01-16"


def test_the_admin_keeps_the_list_of_hospitals(client, login):
    admin, doctor = login("admin"), login("consult")
    body = {"name": "栄みずほ病院", "municipality_id": None, "night_phone": "0476-11-0905", "backup_beds": 1}
    assert client.post("/api/v1/hospitals", headers=login("coordinator"), json=body).status_code == 403
    added = client.post("/api/v1/hospitals", headers=admin, json=body)
    assert added.status_code == 201, added.text
    assert added.json()["night_phone"] == "+81476110905"
    again = client.post("/api/v1/hospitals", headers=admin, json=body)
    assert again.status_code == 422 and again.json()["detail"].startswith("name:")
    assert _tonight(client, doctor)["栄みずほ病院"]["free"] is None
    hospital_id = added.json()["id"]
    changed = client.patch(f"/api/v1/hospitals/{hospital_id}", headers=admin, json={"active": False})
    assert changed.status_code == 200 and changed.json()["name"] == "栄みずほ病院"
    assert "栄みずほ病院" not in _tonight(client, doctor)


def _on_scene(client, login, services) -> int:
    """A visit under way, walked through the API: called in, decided, offered, accepted, arrived."""
    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    offer = next(m for m in client.get("/api/v1/sms/messages", headers=op).json() if m["purpose"] == "offer")
    client.post("/api/v1/sms/simulator", headers=op, json={"from_phone": offer["phone_e164"], "body": "Y"})
    assert (
        client.post(f"/api/v1/cases/{case_id}/progress", headers=op, json={"step": "arrived"}).status_code
        == 200
    )
    return case_id


def test_a_transport_names_its_hospital_and_takes_a_backup_bed_there(client, login, services, monkeypatch):
    monkeypatch.setattr(workers.context, "_services", services)  # the offer job runs on this test's wiring
    case_id = _on_scene(client, login, services)
    op, doctor = login("operator"), login("consult")
    ids = _ids(client, doctor)
    path = f"/api/v1/cases/{case_id}/outcome"
    transport = {"outcome": "transported_admitted", "findings": "心不全増悪、酸素化不良"}

    nowhere = client.post(path, headers=op, json=transport)
    assert nowhere.status_code == 422 and "destination_hospital_id" in nowhere.json()["detail"]
    unknown = client.post(path, headers=op, json={**transport, "destination_hospital_id": 99999})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "destination_hospital_id: no hospital 99999"
    home = client.post(path, headers=op, json={"outcome": "treated_at_home", "destination_note": "成田赤十字"})
    assert home.status_code == 422 and "destination_hospital_id: only for" in home.json()["detail"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=op).json()["state"] == "on_scene"

    to_narita = {**transport, "destination_hospital_id": ids[NARITA]}
    assert client.post(path, headers=op, json=to_narita).status_code == 200
    read = client.get(path, headers=op).json()
    assert read["destination_hospital_id"] == ids[NARITA] and read["destination_hospital_name"] == NARITA
    # The one bed marked free there tonight is taken, and the timeline says so; a correction takes no other.
    assert _tonight(client, doctor)[NARITA]["free"] == 0
    assert client.post(path, headers=op, json={**to_narita, "treatment": "酸素投与"}).status_code == 200
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=op).json()["timeline"]
    taken = [e for e in timeline if e["kind"] == "backup_bed.taken"]
    assert len(taken) == 1 and taken[0]["reason"] == f"backup bed taken at {NARITA} (0 free tonight)"

    elsewhere = {**transport, "destination_note": "県外の病院（リストにない）"}
    assert client.post(path, headers=op, json=elsewhere).status_code == 200
    read = client.get(path, headers=op).json()
    assert read["destination_hospital_name"] is None and read["destination_note"].startswith("県外")


def test_the_triage_page_shows_tonights_beds_and_the_dispatch_page_marks_them(client, login):
    client.cookies.set("dispatch_session", login("consult")["Authorization"].removeprefix("Bearer "))
    triage = client.get("/triage")
    assert "今夜の後方支援病床" in triage.text and 'data-editable="false"' in triage.text
    assert "/static/beds.js" in triage.text
    client.cookies.set("dispatch_session", login("coordinator")["Authorization"].removeprefix("Bearer "))
    assert 'id="beds" data-editable="true"' in client.get("/dispatch").text
