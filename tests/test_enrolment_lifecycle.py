"""Enrolments end (by hand, or by a death at home recorded on a house call) and reopen; a later call is out
of contract with the reason shown; 契約患者数 counts who is enrolled at the year's end; an unidentified call
linked to its patient afterwards counts for that patient's clinic if the contract covered the call."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition
from dispatch.patients.models import Enrolment
from dispatch.roster.models import Physician, PhysicianRole
from tests.factories import decision_body, intake_body

TOKYO = ZoneInfo("Asia/Tokyo")


def _enrolment(services, number: str) -> Enrolment:
    with services.session_factory() as session:
        return session.scalar(select(Enrolment).where(Enrolment.clinic_patient_number == number))


def _row(client, headers, clinic_id: int, year: int = 2024) -> dict:
    report = client.get("/api/v1/reports/clinics", params={"fiscal_year": year}, headers=headers)
    assert report.status_code == 200, report.text
    return next(r for r in report.json()["rows"] if r["clinic_id"] == clinic_id)


def _call(client, login, at: datetime, **patient) -> dict:
    body = intake_body(called_at=at.isoformat(), patient=patient or {"clinic_patient_number": "D-0001"})
    response = client.post("/api/v1/cases", json=body, headers=login("operator"))
    assert response.status_code == 201, response.text
    return response.json()


def _on_scene(services, case_id: int) -> None:
    """The visit under way (offering is tested elsewhere): decided, accepted, the physician on scene."""
    with services.session_factory() as session:
        case = session.get(Case, case_id)
        physician = session.scalar(select(Physician.id).where(Physician.role == PhysicianRole.substitute))
        case.state, case.disposition, case.assigned_physician_id = (
            CaseState.on_scene,
            Disposition.expected_death_visit,
            physician,
        )
        case.decided_at = case.accepted_at = case.arrived_at = case.called_at + timedelta(minutes=10)
        session.commit()


def _death(confirmed: datetime) -> dict:
    return {
        "outcome": "death_pronounced",
        "death": {
            "noticed_at": (confirmed - timedelta(minutes=40)).isoformat(),
            "confirmed_at": confirmed.isoformat(),
            "related_to_treated_disease": True,
            "certificate_by": "attending",
            "police_informed": False,
        },
    }


def test_a_death_at_home_in_february_ends_the_enrolment_and_a_correction_reopens_it(
    client, login, services, clock
):
    d0001 = _enrolment(services, "D-0001")
    admin, operator = login("admin"), login("operator")
    before = _row(client, admin, d0001.clinic_id)
    assert before["enrolled_patients"] == before["enrolled_during_year"] >= 1

    clock.set(datetime(2025, 2, 10, 2, 0, tzinfo=TOKYO))
    admin, operator = login("admin"), login("operator")  # a new shift logs in again
    case = _call(client, login, datetime(2025, 2, 10, 1, 0, tzinfo=TOKYO))
    _on_scene(services, case["id"])
    died = datetime(2025, 2, 10, 1, 40, tzinfo=TOKYO)
    recorded = client.post(f"/api/v1/cases/{case['id']}/outcome", json=_death(died), headers=operator)
    assert recorded.status_code == 200, recorded.text
    ended = _enrolment(services, "D-0001")
    assert (ended.end_reason.value, ended.ended_at, ended.ended_by_case_id) == ("deceased", died, case["id"])
    assert str(ended.ended_on) == "2025-02-10"
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{case['id']}", headers=operator).json()["timeline"]]
    assert kinds.count("enrolment.ended") == 1
    # Recorded again unchanged: nothing moves; the confirmed time corrected: the ending follows it.
    client.post(f"/api/v1/cases/{case['id']}/outcome", json=_death(died), headers=operator)
    later = died + timedelta(minutes=10)
    client.post(f"/api/v1/cases/{case['id']}/outcome", json=_death(later), headers=operator)
    assert _enrolment(services, "D-0001").ended_at == later
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{case['id']}", headers=operator).json()["timeline"]]
    assert (kinds.count("enrolment.ended"), kinds.count("enrolment.ending_moved")) == (1, 1)
    # A hand reopening is refused: the death record is corrected on its case.
    refused = client.post(
        f"/api/v1/patients/{d0001.patient_id}/enrolments/{d0001.id}/reopen", json={"reason": "x"}, headers=admin
    )
    assert refused.status_code == 409 and f"#K{case['id']}" in refused.json()["detail"]

    # Two days later the family calls again: logged, out of contract, and the operator sees why.
    clock.set(datetime(2025, 2, 12, 23, 30, tzinfo=TOKYO))
    admin, operator = login("admin"), login("operator")  # a new shift logs in again
    found = client.post("/api/v1/patients/search", json={"clinic_patient_number": "D-0001"}, headers=operator)
    assert (found.json()[0]["end_reason"], found.json()[0]["ended_on"]) == ("deceased", "2025-02-10")
    again = _call(client, login, clock.now())
    assert (again["clinic_id"], again["in_contract"]) == (d0001.clinic_id, False)
    detail = client.get(f"/api/v1/cases/{again['id']}", headers=operator).json()
    assert detail["intake"]["enrolment_ended"] == {"reason": "deceased", "ended_on": "2025-02-10"}

    # At the year's end the patient is no longer enrolled, but was during the year.
    clock.set(datetime(2025, 4, 2, 9, 0, tzinfo=TOKYO))
    admin, operator = login("admin"), login("operator")  # a new shift logs in again
    after = _row(client, admin, d0001.clinic_id)
    assert after["enrolled_patients"] == before["enrolled_patients"] - 1
    assert after["enrolled_during_year"] == before["enrolled_during_year"]

    # The death was recorded on the wrong case: corrected to another outcome, the enrolment reopens.
    corrected = client.post(
        f"/api/v1/cases/{case['id']}/outcome", json={"outcome": "treated_at_home"}, headers=operator
    )
    assert corrected.status_code == 200, corrected.text
    reopened = _enrolment(services, "D-0001")
    assert (reopened.ended_at, reopened.end_reason, reopened.ended_by_case_id) == (None, None, None)
    assert _row(client, admin, d0001.clinic_id)["enrolled_patients"] == before["enrolled_patients"]
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{case['id']}", headers=operator).json()["timeline"]]
    assert kinds[-1] == "enrolment.reopened"


def test_an_enrolment_is_ended_and_reopened_by_those_who_may(client, login, services):
    d0001, e0001 = _enrolment(services, "D-0001"), _enrolment(services, "E-0001")
    path = f"/api/v1/patients/{d0001.patient_id}/enrolments/{d0001.id}"
    ending = {"ended_on": "2025-01-10", "reason": "moved", "note": "県外へ転居"}
    clinic_d = login("clinic")  # the clinic admin of D病院

    assert client.post(path + "/end", json=ending, headers=login("operator")).status_code == 403
    other = client.post(
        f"/api/v1/patients/{e0001.patient_id}/enrolments/{e0001.id}/end", json=ending, headers=clinic_d
    )
    assert other.status_code == 404  # another clinic's patient: not found, rather than forbidden
    early = client.post(path + "/end", json={**ending, "ended_on": "2024-03-31"}, headers=clinic_d)
    assert early.status_code == 422 and early.json()["detail"].startswith("ended_on: 2024-03-31 is before")
    future = client.post(path + "/end", json={**ending, "ended_on": "2025-01-16"}, headers=clinic_d)
    assert future.status_code == 422 and "in the future" in future.json()["detail"]

    ended = client.post(path + "/end", json=ending, headers=clinic_d)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["end_reason"], ended.json()["ended_at"]) == ("moved", "2025-01-10T15:00:00Z")
    assert client.post(path + "/end", json=ending, headers=clinic_d).status_code == 409
    profile = client.get(f"/api/v1/patients/{d0001.patient_id}", headers=login("coordinator")).json()
    assert [(e["end_reason"], e["ended_on"]) for e in profile["enrolments"]] == [("moved", "2025-01-10")]
    # The 15th is after the last covered day: out of contract, with the reason.
    case = _call(client, login, datetime(2025, 1, 15, 22, 0, tzinfo=TOKYO))
    assert case["in_contract"] is False

    reopened = client.post(path + "/reopen", json={"reason": "入力誤り"}, headers=login("coordinator"))
    assert reopened.status_code == 200 and reopened.json()["ended_on"] is None
    assert client.post(path + "/reopen", json={"reason": "x"}, headers=clinic_d).status_code == 409
    assert _call(client, login, datetime(2025, 1, 15, 22, 30, tzinfo=TOKYO))["in_contract"] is True
    with services.session_factory() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.patient_id == d0001.patient_id))
        assert {"patient.enrolment.end", "patient.enrolment.reopen"} <= set(actions)


def test_an_unidentified_call_linked_later_counts_for_the_clinic_if_its_enrolment_covered_the_call(
    client, login, services
):
    d0001, e0001 = _enrolment(services, "D-0001"), _enrolment(services, "E-0001")
    admin, operator, consult = login("admin"), login("operator"), login("consult")
    unidentified = {"unidentified": True}
    case = _call(client, login, datetime(2025, 1, 15, 22, 0, tzinfo=TOKYO), **unidentified)
    assert (case["patient_id"], case["clinic_id"], case["in_contract"]) == (None, None, False)
    assert client.post(f"/api/v1/cases/{case['id']}/claim", headers=consult).status_code == 200
    decided = client.post(
        f"/api/v1/cases/{case['id']}/decision",
        json=decision_body(disposition="advice_only", urgency="green", jtas_level=5),
        headers=consult,
    )
    assert decided.status_code == 200, decided.text
    before = _row(client, admin, d0001.clinic_id)["consultations"]

    link = {"patient_id": d0001.patient_id, "reason": "翌朝、家族から折り返しで判明"}
    assert (
        client.post(f"/api/v1/cases/{case['id']}/patient", json=link, headers=login("clinic")).status_code
        == 403
    )
    linked = client.post(f"/api/v1/cases/{case['id']}/patient", json=link, headers=operator)
    assert linked.status_code == 200, linked.text
    assert (linked.json()["patient_id"], linked.json()["clinic_id"], linked.json()["in_contract"]) == (
        d0001.patient_id,
        d0001.clinic_id,
        True,
    )
    assert _row(client, admin, d0001.clinic_id)["consultations"] == before + 1
    timeline = client.get(f"/api/v1/cases/{case['id']}", headers=operator).json()["timeline"]
    event = next(e for e in timeline if e["kind"] == "patient.linked")
    assert event["data"]["patient_id"] == d0001.patient_id and "印旛" not in str(event["data"])
    again = client.post(f"/api/v1/cases/{case['id']}/patient", json=link, headers=operator)
    assert again.status_code == 409

    # E-0001's enrolment ended on the 10th: a call on the 15th linked to them stays out of contract.
    ended = client.post(
        f"/api/v1/patients/{e0001.patient_id}/enrolments/{e0001.id}/end",
        json={"ended_on": "2025-01-10", "reason": "admitted"},
        headers=login("coordinator"),
    )
    assert ended.status_code == 200, ended.text
    other = _call(client, login, datetime(2025, 1, 15, 22, 30, tzinfo=TOKYO), **unidentified)
    linked = client.post(
        f"/api/v1/cases/{other['id']}/patient",
        json={"patient_id": e0001.patient_id},
        headers=login("coordinator"),
    )
    assert (linked.json()["clinic_id"], linked.json()["in_contract"]) == (e0001.clinic_id, False)
    detail = client.get(f"/api/v1/cases/{other['id']}", headers=operator).json()
    assert detail["intake"]["enrolment_ended"] == {"reason": "admitted", "ended_on": "2025-01-10"}


def test_a_death_recorded_before_the_patient_was_known_ends_the_enrolment_when_the_case_is_linked(
    client, login, services
):
    d0001 = _enrolment(services, "D-0001")
    case = _call(client, login, datetime(2025, 1, 15, 22, 0, tzinfo=TOKYO), unidentified=True)
    _on_scene(services, case["id"])
    confirmed = datetime(2025, 1, 15, 22, 50, tzinfo=TOKYO)
    recorded = client.post(
        f"/api/v1/cases/{case['id']}/outcome", json=_death(confirmed), headers=login("operator")
    )
    assert recorded.status_code == 200, recorded.text
    assert _enrolment(services, "D-0001").ended_at is None  # nobody to end yet

    link = {"patient_id": d0001.patient_id, "reason": "訪問看護師の報告で判明"}
    linked = client.post(f"/api/v1/cases/{case['id']}/patient", json=link, headers=login("coordinator"))
    assert linked.status_code == 200, linked.text
    ended = _enrolment(services, "D-0001")
    assert (ended.end_reason.value, ended.ended_by_case_id, ended.ended_on.isoformat()) == (
        "deceased",
        case["id"],
        "2025-01-15",
    )
    kinds = [
        e["kind"]
        for e in client.get(f"/api/v1/cases/{case['id']}", headers=login("operator")).json()["timeline"]
    ]
    assert kinds.index("patient.linked") < kinds.index("enrolment.ended")
