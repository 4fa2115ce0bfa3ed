"""Reading a care profile shows what the physician needs and leaves an audit entry; clinics see only theirs."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import User
from dispatch.patients.models import Enrolment


def _patient_ids(services) -> dict[str, int]:
    with services.session_factory() as session:
        return dict(session.execute(select(Enrolment.clinic_patient_number, Enrolment.patient_id)).all())


def test_the_care_profile_has_what_a_triage_decision_needs(client, login, services):
    patient_id = _patient_ids(services)["D-0001"]
    response = client.get(f"/api/v1/patients/{patient_id}", headers=login("consult"))
    assert response.status_code == 200
    profile = response.json()
    assert profile["diagnoses"] == ["慢性心不全", "2型糖尿病"]
    assert profile["acp"]["dnar"] is True
    assert profile["devices"] == ["在宅酸素療法"]
    assert profile["key_person"]["relation"] == "妻"
    assert profile["enrolments"][0]["clinic_label"] == "D病院"
    assert profile["enrolments"][0]["attending_physician"] == "主治 D病院"


def test_every_read_is_audited_with_who_which_patient_and_when(client, login, services):
    patient_id = _patient_ids(services)["E-0001"]
    client.get(f"/api/v1/patients/{patient_id}", headers=login("operator"))
    client.get(f"/api/v1/patients/{patient_id}", headers=login("consult"))
    with services.session_factory() as session:
        rows = session.execute(
            select(User.username, AuditEntry.role, AuditEntry.action, AuditEntry.patient_id, AuditEntry.at)
            .join(User, User.id == AuditEntry.user_id)
            .order_by(AuditEntry.id)
        ).all()
    now = services.clock.now()
    assert [tuple(r) for r in rows] == [
        ("operator", "operator", "patient.care_profile.read", patient_id, now),
        ("consult", "consulting_physician", "patient.care_profile.read", patient_id, now),
    ]
    listed = client.get(f"/api/v1/audit?patient_id={patient_id}", headers=login("admin")).json()
    assert [e["role"] for e in listed] == ["consulting_physician", "operator"]


def test_a_clinic_admin_sees_only_their_own_clinics_patients(client, login, services):
    ids = _patient_ids(services)
    headers = login("clinic")  # D病院
    assert client.get(f"/api/v1/patients/{ids['D-0001']}", headers=headers).status_code == 200
    other = client.get(f"/api/v1/patients/{ids['E-0001']}", headers=headers)
    assert other.status_code == 404
    assert "慢性" not in other.text and "四街道" not in other.text
    clinics = client.get("/api/v1/clinics", headers=headers).json()
    assert [c["label"] for c in clinics] == ["D病院"]


def test_an_unknown_patient_is_a_404_naming_the_field(client, login):
    response = client.get("/api/v1/patients/999999", headers=login("operator"))
    assert response.status_code == 404
    assert response.json()["detail"].startswith("patient_id:")


def test_a_malformed_patient_id_is_a_422_naming_the_field(client, login):
    response = client.get("/api/v1/patients/abc", headers=login("operator"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "patient_id"


def test_the_prefecture_never_reads_a_patient(client, login, services):
    patient_id = _patient_ids(services)["D-0001"]
    assert client.get(f"/api/v1/patients/{patient_id}", headers=login("prefecture")).status_code == 403
    with services.session_factory() as session:
        assert session.scalar(select(AuditEntry.id)) is None
