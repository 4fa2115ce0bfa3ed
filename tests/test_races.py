"""Requests that race on a live server: parallel intakes under one Idempotency-Key, two coordinators at once,
a physician's yes by SMS against a coordinator's hand, two consulting physicians claiming one case."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.auth.models import Role
from dispatch.cases.models import Case, CaseEvent
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.sms.models import SmsMessage
from tests.factories import add_user, intake_body
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
    calls = [_post(live_server.url, "/api/v1/cases", headers, b) for b in bodies]
    answers = _at_once(calls)
    # Fifty at once on two busy cores may find every pooled connection taken for longer than the pool waits:
    # that answer is a 503 with Retry-After, which tells the caller to send it again, as here.
    answers = [
        call() if isinstance(answer, httpx.Response) and answer.status_code == 503 else answer
        for call, answer in zip(calls, answers, strict=True)
    ]
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


# Who wins a race between people is decided by row locks (SELECT … FOR UPDATE), which SQLite does not take:
# these drills are PostgreSQL's, as production is.
row_locks = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="races between people are decided by PostgreSQL's row locks",
)


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


@row_locks
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


TRIALS = 10
# The yes reaches the case's lock about 20 ms after a hand move that left with it (a signed webhook, the
# inbound row written first), so the hand leaves 0 to 45 ms late across the trials: both sides of the race
# are seen, and in every trial the two requests overlap.
HAND_LATE_S = tuple(0.005 * step for step in range(10))


def _accepted_events(night, case_id: int) -> int:
    with night.services.session_factory() as session:
        return session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "transition", CaseEvent.to_state == "accepted"
            )
        )


@row_locks
@pytest.mark.parametrize("move", ["assign", "offers"])
def test_a_yes_by_sms_against_the_coordinators_hand_one_wins_and_the_loser_is_told(night, move):
    """The physician offered the case answers yes while a coordinator gives it to someone else by hand."""
    wins = {"sms": 0, "coordinator": 0}
    # Its own connection, made before the trials (making a client costs more than the race is long).
    with httpx.Client(base_url=night.url, headers=night.headers("coordinator"), timeout=30) as coordinator:
        for trial in range(TRIALS):
            winner = _yes_against_the_hand(night, coordinator, move, HAND_LATE_S[trial % len(HAND_LATE_S)])
            wins[winner] += 1
    print(
        f"\nsms yes against /{move}: {TRIALS} trials, the physician's yes won {wins['sms']}, "
        f"the coordinator won {wins['coordinator']}, every trial one winner"
    )


def _yes_against_the_hand(night, coordinator: httpx.Client, move: str, late_s: float) -> str:
    """One trial on a fresh case; who won ("sms" or "coordinator"), after checking what each side was told."""
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    with night.services.session_factory() as session:
        offered = session.scalar(select(Physician.id).where(Physician.phone_e164 == phone))
        other, other_phone = session.execute(
            select(Physician.id, Physician.phone_e164).where(
                Physician.role == PhysicianRole.substitute, Physician.active, Physician.id != offered
            )
        ).first()
    body = {"physician_id": other, **({"reason": "電話で承諾"} if move == "assign" else {})}

    def hand() -> httpx.Response:
        time.sleep(late_s)
        return coordinator.post(f"/api/v1/cases/{case_id}/{move}", json=body)

    sms, by_hand = _at_once([lambda: night.fake.send_inbound(phone, f"{case_id} Y"), hand])
    assert isinstance(sms, httpx.Response) and sms.status_code == 200, sms
    assert isinstance(by_hand, httpx.Response) and by_hand.status_code in (200, 409), by_hand
    case = night.case(case_id)
    with night.services.session_factory() as session:
        to_other = session.scalar(
            select(func.count())
            .select_from(SmsMessage)
            .where(
                SmsMessage.case_id == case_id,
                SmsMessage.phone_e164 == other_phone,
                SmsMessage.status != "withdrawn",  # assign's offer SMS, written and never sent
            )
        )
    if by_hand.status_code == 409:  # the physician's yes came first
        assert "受諾を受け付けました" in sms.text and "/visit/" in sms.text, sms.text
        detail = by_hand.json()["detail"]
        assert f"physician {offered} " in detail and f"replaces_physician_id={offered}" in detail, detail
        assert case["state"] == "accepted" and case["assigned_physician_id"] == offered
        assert to_other == 0  # the hand move left nothing behind
        winner = "sms"
    else:
        assert f"#K{case_id} はセンターで手配済みです" in sms.text and "/visit/" not in sms.text, sms.text
        if move == "assign":
            assert case["state"] == "accepted" and case["assigned_physician_id"] == other
        else:
            assert case["state"] == "offered" and case["assigned_physician_id"] is None
        assert to_other == 1  # the details link, or the offer
        winner = "coordinator"
    # Nothing half-written: one acceptance at most, on the winner's offer only.
    offers = night.http.get(f"/api/v1/cases/{case_id}/offers", headers=night.headers("coordinator")).json()
    accepted = [o["physician_id"] for o in offers if o["state"] == "accepted"]
    assert accepted == ([case["assigned_physician_id"]] if case["state"] == "accepted" else []), offers
    assert _accepted_events(night, case_id) == len(accepted)
    cancel = night.http.post(
        f"/api/v1/cases/{case_id}/cancel",
        headers=night.headers("coordinator"),
        json={"reason": "試験の後片付け"},
    )
    assert cancel.status_code == 200, cancel.text
    night.run_jobs()
    return winner


@row_locks
def test_two_consulting_physicians_claiming_one_case_one_wins_the_other_is_told_who(night):
    with night.services.session_factory() as session:
        second = session.scalar(select(Physician).where(Physician.name == "相談 花子"))
        first = session.scalar(select(Physician).where(Physician.name == "相談 一郎"))
    credentials = add_user(
        night.services, "consult2", Role.consulting_physician, display_name="相談医2", physician_id=second.id
    )
    token = night.http.post("/api/v1/auth/login", json=credentials).json()["access_token"]
    night.http.cookies.clear()
    doctors = [(night.headers("consult"), first), ({"Authorization": f"Bearer {token}"}, second)]
    wins = {first.name: 0, second.name: 0}
    for trial in range(TRIALS):
        case_id = night.call()
        path = f"/api/v1/cases/{case_id}/claim"
        answers = _at_once([_post(night.url, path, headers, {}) for headers, _ in doctors])
        statuses = [a.status_code for a in answers]
        assert sorted(statuses) == [200, 409], (trial, [a.text for a in answers])
        winner = doctors[statuses.index(200)][1]
        wins[winner.name] += 1
        lost = answers[statuses.index(409)].json()["detail"]
        assert lost["claimed_by_physician_id"] == winner.id and winner.name in lost["message"], lost
        with night.services.session_factory() as session:
            assert session.get(Case, case_id).triage_physician_id == winner.id
            claims = session.scalar(
                select(func.count())
                .select_from(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.reason == "claimed")
            )
        assert claims == 1
    print(f"\ntwo claims at once: {TRIALS} trials, wins {wins}, every loser told who won")
