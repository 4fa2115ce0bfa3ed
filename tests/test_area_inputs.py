"""What an area coordinator names in a request's body is held to their area as the objects in its path are:
a patient linked to a call, a physician's clinic. Another area's answers as one that does not exist. And the
roster's lists are bounded, a list too long refused naming the field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from dispatch.clinics.models import Clinic
from dispatch.patients.models import Enrolment
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician
from tests.factories import intake_body
from tests.test_area_roles import KATORI, _snapshot, login_as, physician_id

MISSING = 999_999


def _ids(services) -> SimpleNamespace:
    """The two areas' patients, clinics and a town of each (demo data)."""
    with services.session_factory() as session:

        def patient(number: str) -> int:
            return session.scalar(select(Enrolment.patient_id).where(Enrolment.clinic_patient_number == number))

        def clinic(area: str) -> int:
            query = select(Clinic.id).join(Programme).where(Programme.code == area).order_by(Clinic.id)
            return session.scalar(query.limit(1))

        def town(name: str) -> int:
            return session.scalar(select(Municipality.id).where(Municipality.name == name))

        return SimpleNamespace(
            inba_patient=patient("D-0001"),
            katori_patient=patient("K-0001"),
            inba_clinic=clinic("inba"),
            katori_clinic=clinic("katori-kaiso"),
            sakura=town("佐倉市"),
            tako=town("多古町"),
        )


@pytest.fixture
def ids(client, login, services, demo_areas):
    ids = _ids(services)
    ids.katori = login_as(client, KATORI)
    ids.centre = login("coordinator")
    ids.operator = login("operator")
    return ids


def _unidentified_call(client, ids) -> int:
    """A call from 多古町 (香取海匝) whose patient the operator could not identify."""
    body = intake_body(patient={"unidentified": True, "municipality_id": ids.tako})
    response = client.post("/api/v1/cases", headers=ids.operator, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_area_coordinator_links_a_call_only_to_a_patient_of_their_area(client, services, ids):
    case = _unidentified_call(client, ids)
    link = f"/api/v1/cases/{case}/patient"
    before = _snapshot(services, case)

    other = client.post(link, headers=ids.katori, json={"patient_id": ids.inba_patient, "reason": "本人と確認"})
    missing = client.post(link, headers=ids.katori, json={"patient_id": MISSING, "reason": "本人と確認"})
    # Answered as for a patient that does not exist: nothing says 印旛's patient is there.
    assert other.status_code == 422, other.text
    assert (other.status_code, other.json()["detail"]) == (422, f"patient_id: no patient {ids.inba_patient}")
    assert (missing.status_code, missing.json()["detail"]) == (422, f"patient_id: no patient {MISSING}")
    assert _snapshot(services, case) == before  # nothing written, not even an audit entry

    own = client.post(link, headers=ids.katori, json={"patient_id": ids.katori_patient})
    assert own.status_code == 200, own.text
    assert (own.json()["patient_id"], own.json()["clinic_id"]) == (ids.katori_patient, ids.katori_clinic)

    # The centre's coordinator links any area's patient, as before.
    again = _unidentified_call(client, ids)
    centre = client.post(
        f"/api/v1/cases/{again}/patient", headers=ids.centre, json={"patient_id": ids.inba_patient}
    )
    assert centre.status_code == 200 and centre.json()["patient_id"] == ids.inba_patient, centre.text


def _physicians(services) -> int:
    with services.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Physician))


def test_the_area_coordinator_registers_physicians_of_their_areas_clinics_only(client, services, ids):
    def register(headers, clinic_id: int, phone: str):
        body = {"name": "在宅 新人", "role": "attending", "phone": phone, "clinic_id": clinic_id}
        return client.post(
            "/api/v1/roster/physicians", headers=headers, json=body | {"base_municipality_id": ids.tako}
        )

    count = _physicians(services)
    other = register(ids.katori, ids.inba_clinic, "090-1111-0991")
    missing = register(ids.katori, MISSING, "090-1111-0991")
    assert other.status_code == 422, other.text
    assert (other.status_code, other.json()["detail"]) == (422, f"clinic_id: no clinic {ids.inba_clinic}")
    assert (missing.status_code, missing.json()["detail"]) == (422, f"clinic_id: no clinic {MISSING}")
    assert _physicians(services) == count

    own = register(ids.katori, ids.katori_clinic, "090-1111-0992")
    assert own.status_code == 201 and own.json()["clinic_id"] == ids.katori_clinic, own.text
    centre = register(ids.centre, ids.inba_clinic, "090-1111-0993")  # the centre: any area's clinic
    assert centre.status_code == 201 and centre.json()["clinic_id"] == ids.inba_clinic, centre.text


def _too_long(response, field: str, limit: int) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["field"], error["type"], error["context"]) == (field, "too_long", {"max_length": limit})


def test_a_roster_list_too_long_is_refused_naming_the_field(client, services, ids):
    katori_doctor = physician_id(services, "代診 香取")
    towns = [ids.tako] * 101
    rotation = {"name": "毎週", "kind": "weekly", "weekdays": [5], "physician_ids": [katori_doctor]}
    rotation |= {"starts_on": "2025-02-01"}
    _too_long(
        client.post("/api/v1/roster/rotations", headers=ids.centre, json=rotation | {"coverage": towns}),
        "coverage",
        100,
    )
    shift = {"physician_id": katori_doctor, "starts_at": "2025-02-01T18:00:00+09:00"}
    shift |= {"ends_at": "2025-02-02T08:00:00+09:00"}
    _too_long(
        client.post("/api/v1/roster/shifts", headers=ids.centre, json=shift | {"coverage": towns}),
        "coverage",
        100,
    )

    # Every one of the area's towns still fits.
    with services.session_factory() as session:
        every = list(session.scalars(select(Municipality.id)))
    assert len(every) <= 100
    made = client.post("/api/v1/roster/rotations", headers=ids.centre, json=rotation | {"coverage": every})
    assert made.status_code == 201 and sorted(made.json()["coverage"]) == sorted(every), made.text
