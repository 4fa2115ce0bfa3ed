"""Requests that race on a live server: parallel intakes under one Idempotency-Key, two coordinators at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.cases.models import Case
from dispatch.roster.models import Physician, PhysicianRole
from tests.factories import intake_body
from tests.night import start_night


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = calls[i]()
        except Exception as exc:  # reported by the assertions below
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def _post(url: str, path: str, headers: dict[str, str], body: dict) -> Callable[[], httpx.Response]:
    def call() -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as http:
            return http.post(path, headers=headers, json=body)

    return call


@pytest.mark.parametrize("same_body", [False, True], ids=["different-bodies", "same-body"])
def test_fifty_parallel_intakes_under_one_key_make_one_case(live_server, login, services, same_body):
    headers = {**login("operator"), "Idempotency-Key": "race-key-0001"}
    bodies = [intake_body(chief_complaint="息苦しい" if same_body else f"息苦しい {i}") for i in range(50)]
    answers = _at_once([_post(live_server.url, "/api/v1/cases", headers, b) for b in bodies])
    statuses = [a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers]
    assert set(statuses) <= {200, 201, 409, 422}, statuses
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    made = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(made) == 1
    if same_body:
        assert {a.json()["id"] for a in answers} == {made[0].json()["id"]}
    else:
        refused = [a.json() for a in answers if a.status_code == 422]
        assert len(refused) == 49 and all(r["errors"][0]["field"] == "idempotency_key" for r in refused)


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def test_two_coordinators_assigning_one_case_at_once_one_wins_the_other_is_told_who(night):
    with night.services.session_factory() as session:
        substitutes = session.scalars(
            select(Physician.id).where(Physician.role == PhysicianRole.substitute, Physician.active)
        ).all()
    first, second = substitutes[:2]
    coordinators = [night.headers("coordinator"), night.headers("admin")]
    for trial in range(10):
        case_id = night.call()
        night.decide_visit(case_id)
        path = f"/api/v1/cases/{case_id}/assign"
        answers = _at_once(
            [
                _post(night.url, path, coordinators[0], {"physician_id": first, "reason": "電話で承諾"}),
                _post(night.url, path, coordinators[1], {"physician_id": second, "reason": "電話で承諾"}),
            ]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 409], (trial, [a.text for a in answers])
        won = next(a for a in answers if a.status_code == 200).json()["assigned_physician_id"]
        lost = next(a for a in answers if a.status_code == 409).json()["detail"]
        assert f"physician {won} " in lost and f"replaces_physician_id={won}" in lost, lost
        assert night.case(case_id)["assigned_physician_id"] == won
        # A deliberate reassignment names whom it relieves.
        other = second if won == first else first
        again = night.http.post(
            path,
            headers=coordinators[0],
            json={"physician_id": other, "reason": "交代", "replaces_physician_id": won},
        )
        assert again.status_code == 200 and again.json()["assigned_physician_id"] == other, again.text
        cancel = night.http.post(
            f"/api/v1/cases/{case_id}/cancel", headers=coordinators[0], json={"reason": "試験の後片付け"}
        )
        assert cancel.status_code == 200, cancel.text
