"""Cases: list with filters, detail with the whole timeline (audited), cancel with a reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from tests.factories import intake_body


def _log(client, headers, **overrides) -> int:
    return client.post("/api/v1/cases", json=intake_body(**overrides), headers=headers).json()["id"]


def test_filters_by_state_clinic_and_call_time_in_tokyo(client, login, clock):
    op = login("operator")
    d_case = _log(client, op, called_at="2025-01-15T22:30:00+09:00")
    e_case = _log(client, op, patient={"clinic_patient_number": "E-0001"})
    client.post(f"/api/v1/cases/{d_case}/cancel", headers=op, json={"reason": "主治医が対応"})

    def ids(**params):
        response = client.get("/api/v1/cases", headers=op, params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids() == [e_case, d_case]  # newest call first
    assert ids(state="cancelled") == [d_case]
    assert ids(state=["triage_pending", "cancelled"]) == [e_case, d_case]
    assert ids(open_only="true") == [e_case]
    clinics = {c["label"]: c["id"] for c in client.get("/api/v1/clinics", headers=op).json()}
    assert ids(clinic_id=clinics["Eクリニック"]) == [e_case]
    assert ids(called_from="2025-01-15T22:45:00+09:00") == [e_case]
    assert ids(called_before="2025-01-15T22:45:00+09:00") == [d_case]
    assert ids(called_from="2025-01-15T13:45:00Z", called_before="2025-01-15T13:50:00Z") == []


def test_a_naive_filter_time_is_refused_in_words(client, login):
    response = client.get(
        "/api/v1/cases", headers=login("operator"), params={"called_from": "2025-01-15T00:00:00"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("called_from: give a time zone offset")


def test_the_detail_has_the_whole_timeline_and_the_read_is_audited(client, login, services, clock):
    op = login("operator")
    case_id = _log(client, op)
    clock.advance(timedelta(minutes=2))
    client.post(f"/api/v1/cases/{case_id}/claim", headers=login("consult"))
    detail = client.get(f"/api/v1/cases/{case_id}", headers=op).json()
    assert detail["chief_complaint"] == "夕方から息苦しさが強くなった"
    assert detail["intake"]["vitals"]["spo2_percent"] == 88
    assert [(e["kind"], e["to_state"], e["actor"]) for e in detail["timeline"]] == [
        ("created", "received", "user:operator"),
        ("transition", "triage_pending", "user:operator"),
        ("transition", "triaging", "user:consult"),
    ]
    assert detail["timeline"][2]["at"] > detail["timeline"][1]["at"]
    with services.session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id)))
    assert actions == ["case.intake", "case.read"]


def test_cancel_needs_a_reason_and_a_closed_case_cannot_be_cancelled_again(client, login):
    op = login("operator")
    case_id = _log(client, op)
    no_reason = client.post(f"/api/v1/cases/{case_id}/cancel", headers=op, json={"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    cancelled = client.post(f"/api/v1/cases/{case_id}/cancel", headers=op, json={"reason": "家族から取り下げ"})
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["closed_at"]
    again = client.post(f"/api/v1/cases/{case_id}/cancel", headers=op, json={"reason": "重複"})
    assert again.status_code == 409
    assert again.json()["current_state"] == "cancelled"
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=op).json()["timeline"]
    assert timeline[-1]["reason"] == "家族から取り下げ"


def test_a_clinic_admin_sees_only_their_clinics_cases(client, login):
    op = login("operator")
    d_case = _log(client, op)
    e_case = _log(client, op, patient={"clinic_patient_number": "E-0001"})
    clinic = login("clinic")  # D病院
    assert [c["id"] for c in client.get("/api/v1/cases", headers=clinic).json()] == [d_case]
    assert client.get(f"/api/v1/cases/{e_case}", headers=clinic).status_code == 404
