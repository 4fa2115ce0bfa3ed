"""The consulting physician's queue: order, claims (one winner), decisions, idle claims."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from rq import SimpleWorker
from sqlalchemy import select

from dispatch.auth.models import Role
from dispatch.cases.models import CaseEvent
from dispatch.queue import QUEUE_NAME, dispatch_queue
from dispatch.roster.models import Physician
from tests.factories import add_user, decision_body, intake_body


def _log(client, headers, **overrides):
    response = client.post("/api/v1/cases", json=intake_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _second_consultant(services) -> dict[str, str]:
    with services.session_factory() as session:
        physician = session.scalar(select(Physician).where(Physician.name == "相談 花子"))
    return add_user(
        services, "consult2", Role.consulting_physician, display_name="相談医2", physician_id=physician.id
    )


def _headers(client, credentials) -> dict[str, str]:
    token = client.post("/api/v1/auth/login", json=credentials).json()["access_token"]
    client.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


def test_the_queue_puts_the_most_urgent_first_then_the_longest_waiting(client, login, clock):
    op = login("operator")
    calm = dict(consciousness="alert", breathing="normal", vitals={})
    yellow_old = _log(client, op, provisional_urgency="yellow", **calm)
    clock.advance(timedelta(minutes=1))
    unknown = _log(client, op, **calm)
    clock.advance(timedelta(minutes=1))
    green = _log(client, op, provisional_urgency="green", **calm)
    clock.advance(timedelta(minutes=1))
    red = _log(client, op, consciousness="unresponsive", breathing="normal", vitals={})
    clock.advance(timedelta(minutes=1))
    orange = _log(client, op, provisional_urgency="orange", **calm)
    queue = client.get("/api/v1/triage/queue", headers=login("consult")).json()
    assert [item["id"] for item in queue] == [red, orange, yellow_old, unknown, green]
    assert queue[0]["urgency"] == "red"  # suggested from "unresponsive"
    assert queue[2]["waiting_s"] == 240


def test_claim_then_decide_a_consultation_closes_the_case(client, login):
    case_id = _log(client, login("operator"))
    doctor = login("consult")
    claimed = client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor).json()
    assert claimed["state"] == "triaging"
    decided = client.post(
        f"/api/v1/cases/{case_id}/decision",
        headers=doctor,
        json=decision_body(disposition="advice_follow_up_attending", urgency="yellow", jtas_level=3),
    ).json()
    assert decided["state"] == "closed_consultation"
    assert decided["disposition"] == "advice_follow_up_attending"
    assert client.get("/api/v1/triage/queue", headers=doctor).json() == []


def test_an_ambulance_referral_leaves_as_referred_ems(client, login):
    case_id = _log(client, login("operator"))
    doctor = login("consult")
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    body = decision_body(disposition="ems_119", urgency="red", jtas_level=1)
    assert (
        client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=body).json()["state"]
        == "referred_ems"
    )


def test_a_visit_goes_to_dispatching_and_matching_is_enqueued_after_commit(client, login, services, worker_env):
    case_id = _log(client, login("operator"))
    doctor = login("consult")
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    decided = client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body()).json()
    assert decided["state"] == "dispatching" and decided["urgency"] == "orange"
    jobs = dispatch_queue(services.redis).get_jobs()
    assert [(j.func_name, j.args) for j in jobs] == [("workers.jobs.drive_case", (case_id,))]
    assert jobs[0].id.startswith(f"drive-{case_id}-")
    from workers import context

    context.services().clock = services.clock  # the worker runs on the test's night, not today's date
    assert SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    assert len(jobs[0].fetch(jobs[0].id, connection=services.redis).return_value()) == 1  # one offer SMS
    assert client.get(f"/api/v1/cases/{case_id}", headers=doctor).json()["state"] == "offered"


def test_a_second_physician_gets_409_naming_who_holds_the_case(client, login, services):
    case_id = _log(client, login("operator"))
    client.post(f"/api/v1/cases/{case_id}/claim", headers=login("consult"))
    other = _headers(client, _second_consultant(services))
    response = client.post(f"/api/v1/cases/{case_id}/claim", headers=other)
    assert response.status_code == 409
    assert response.json()["detail"]["current_state"] == "triaging"
    decide = client.post(f"/api/v1/cases/{case_id}/decision", headers=other, json=decision_body())
    assert decide.status_code == 409


def test_two_physicians_claiming_at_the_same_instant_exactly_one_wins(client, login, services, live_server):
    case_id = _log(client, login("operator"))
    doctors = [login("consult"), _headers(client, _second_consultant(services))]
    for _ in range(5):  # several rounds, to give a race every chance to show
        barrier = threading.Barrier(2)
        answers: list[httpx.Response | None] = [None, None]

        def claim(index, barrier=barrier, answers=answers):
            barrier.wait()
            url = f"{live_server.url}/api/v1/cases/{case_id}/claim"
            answers[index] = httpx.post(url, headers=doctors[index], timeout=10)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.status_code for a in answers) == [200, 409]
        winner = doctors[[a.status_code for a in answers].index(200)]
        released = client.post(f"/api/v1/cases/{case_id}/release", headers=winner)
        assert released.status_code == 200, released.text
    with services.session_factory() as session:
        claims = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.reason == "claimed")
        ).all()
    assert len(claims) == 5


def test_deciding_without_a_claim_is_409_with_the_current_state(client, login):
    case_id = _log(client, login("operator"))
    response = client.post(f"/api/v1/cases/{case_id}/decision", headers=login("consult"), json=decision_body())
    assert response.status_code == 409
    assert response.json()["current_state"] == "triage_pending"


def test_an_idle_claim_can_be_taken_over_and_is_swept_back_to_the_queue(
    client, login, services, clock, worker_env
):
    op = login("operator")
    first, second = _log(client, op), _log(client, op)
    doctor = login("consult")
    client.post(f"/api/v1/cases/{first}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{second}/claim", headers=doctor)
    clock.advance(timedelta(seconds=services.settings.triage_claim_idle_s + 1))
    queue = {i["id"]: i for i in client.get("/api/v1/triage/queue", headers=doctor).json()}
    assert queue[first]["claim_idle"] and queue[second]["claim_idle"]
    other = _headers(client, _second_consultant(services))
    assert client.post(f"/api/v1/cases/{first}/claim", headers=other).status_code == 200
    # The sweeper runs as a real job; the worker reads the clock from the wall, so give it the test's.
    from workers import context

    context.services().clock = clock
    dispatch_queue(services.redis).enqueue("workers.jobs.release_idle_claims")
    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    states = {i["id"]: i["state"] for i in client.get("/api/v1/triage/queue", headers=doctor).json()}
    assert states == {first: "triaging", second: "triage_pending"}


def test_a_jtas_level_that_does_not_fit_the_colour_is_refused_in_words(client, login):
    case_id = _log(client, login("operator"))
    doctor = login("consult")
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    response = client.post(
        f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body(urgency="red", jtas_level=5)
    )
    assert response.status_code == 422
    assert "jtas_level 5 does not fit urgency red; use 1 or 2" in response.json()["detail"]
