"""The embedded default (SQLite, the demo's data) on a normal walk: no 500 while the worker sends offers as
decisions arrive; the demo's first offer goes to the substitute login; a handoff made on demand."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import func, select, text

from config.settings import Environment, Settings
from dispatch import schema
from dispatch.app import create_app
from dispatch.auth.models import User
from dispatch.clinics.models import Clinic
from dispatch.clock import ManualClock
from dispatch.db import unit_of_work
from dispatch.handoffs.models import Handoff
from dispatch.handoffs.service import make_handoffs
from dispatch.offers.models import Offer
from dispatch.programme.service import get_programme
from dispatch.queue import QUEUE_NAME
from dispatch.seed.demo import seed_demo
from dispatch.seed.reference import load_programme_data
from dispatch.services import Services
from dispatch.sms.models import SmsMessage
from tests.conftest import NIGHT, LiveServer
from tests.factories import decision_body, intake_body
from tests.test_console_browser import browser, port, settings, stack  # noqa: F401 - the browser's fixtures

PASSWORDS = {"operator": "operator-demo", "consult": "consult-demo", "substitute": "substitute-demo"}
DECISIONS = 12


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, as `make demo` makes (`var/dispatch.sqlite3`)."""
    path = tmp_path_factory.mktemp("embedded") / "template.sqlite3"
    schema.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def embedded(sqlite_template: str, redis_url: str, tmp_path: Path) -> Iterator[Services]:
    """The demo's wiring on its own SQLite file and the test's Redis database, seeded as `make demo` seeds."""
    copy = tmp_path / "dispatch.sqlite3"
    copy.write_bytes(Path(sqlite_template).read_bytes())
    demo_settings = Settings(
        _env_file=None,
        environment=Environment.development,
        database_url=f"sqlite:///{copy}",
        redis_url=redis_url,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
    )
    services = Services.build(demo_settings, clock=ManualClock(NIGHT))
    services.redis.flushdb()
    with unit_of_work(services.session_factory) as session:
        seed_demo(session, load_programme_data("inba"), services.clock, services.passwords)
    import workers.context

    workers.context.install(services)
    try:
        yield services
    finally:
        workers.context.reset()  # closes the services
        Services.build(demo_settings).redis.flushdb()


def _headers(http: httpx.Client | TestClient, username: str) -> dict[str, str]:
    response = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_decisions_while_the_worker_sends_offers_never_answer_500(embedded: Services):
    statuses: list[int] = []
    with (
        LiveServer(create_app(services=embedded)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        operator, consult = _headers(http, "operator"), _headers(http, "consult")
        cases = []
        for n in range(DECISIONS):
            response = http.post(
                "/api/v1/cases", json=intake_body(callback_phone=f"090-1234-{n:04d}"), headers=operator
            )
            assert response.status_code == 201, response.text
            cases.append(response.json()["id"])

        def decide(case_id: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                claim = own.post(f"/api/v1/cases/{case_id}/claim", headers=consult)
                decision = own.post(f"/api/v1/cases/{case_id}/decision", headers=consult, json=decision_body())
                board = own.get("/api/v1/cases?open_only=true", headers=operator)
                statuses.extend([claim.status_code, decision.status_code, board.status_code])

        done = threading.Event()
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(decide, case_id) for case_id in cases]
            threading.Thread(target=lambda: ([f.result() for f in futures], done.set()), daemon=True).start()
            while not done.is_set():  # the worker takes the offers' jobs as the decisions queue them
                SimpleWorker([QUEUE_NAME], connection=embedded.redis).work(burst=True)
        SimpleWorker([QUEUE_NAME], connection=embedded.redis).work(burst=True)

    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(200) == 3 * DECISIONS
    with embedded.session_factory() as session:
        assert session.scalar(text("PRAGMA journal_mode")) == "wal"
        assert session.scalar(text("PRAGMA busy_timeout")) >= 1000
        # A write transaction takes the write lock before it reads (BEGIN IMMEDIATE), never upgrades a read.
        assert session.connection().connection.driver_connection.isolation_level == "IMMEDIATE"
        assert session.scalar(select(Offer.id).limit(1)) is not None


def test_the_demos_first_offer_goes_to_the_substitute_login(embedded: Services):
    """The README's walk: a call about D-0001 (佐倉市), a visit decided; the substitute demo login sees the
    offer on its phone (/phone)."""
    with TestClient(create_app(services=embedded)) as client:
        headers = {name: _headers(client, name) for name in PASSWORDS}
        case = client.post("/api/v1/cases", json=intake_body(), headers=headers["operator"]).json()
        assert client.post(f"/api/v1/cases/{case['id']}/claim", headers=headers["consult"]).status_code == 200
        decided = client.post(
            f"/api/v1/cases/{case['id']}/decision", headers=headers["consult"], json=decision_body()
        )
        assert decided.status_code == 200, decided.text
        SimpleWorker([QUEUE_NAME], connection=embedded.redis).work(burst=True)

        with embedded.session_factory() as session:
            substitute = session.scalar(select(User).where(User.username == "substitute"))
            offer = session.scalar(select(Offer).where(Offer.case_id == case["id"]).order_by(Offer.id))
        assert offer is not None and offer.physician_id == substitute.physician_id
        phones = client.get("/api/v1/sms/simulator/phones", headers=headers["substitute"]).json()
        assert [p["physician_id"] for p in phones] == [substitute.physician_id]
        assert any(m["body"].startswith(f"【往診依頼】#K{case['id']} ") for m in phones[0]["messages"])


def test_the_coordinator_makes_a_clinics_handoff_on_demand_once(client, login, services):
    operator, coordinator = login("operator"), login("coordinator")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=operator).json()["id"]
    with services.session_factory() as session:
        clinics = {c.label: c.id for c in session.scalars(select(Clinic))}
    d_hospital = clinics["D病院"]

    for username in ("operator", "clinic", "consult"):
        refused = client.post("/api/v1/handoffs", json={"clinic_id": d_hospital}, headers=login(username))
        assert refused.status_code == 403, username
    unknown = client.post("/api/v1/handoffs", json={"clinic_id": 999_999}, headers=coordinator)
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("clinic_id:")
    empty = client.post("/api/v1/handoffs", json={"clinic_id": clinics["Jクリニック"]}, headers=coordinator)
    assert empty.status_code == 409 and "no case to hand off" in empty.json()["detail"]

    made = client.post("/api/v1/handoffs", json={"clinic_id": d_hospital}, headers=coordinator)
    assert made.status_code == 201, made.text
    assert made.json()["clinic_label"] == "D病院" and made.json()["cases"] == 1
    report = client.get(f"/api/v1/handoffs/{made.json()['id']}", headers=login("clinic")).json()
    assert [item["id"] for item in report["items"]] == [case_id]

    again = client.post("/api/v1/handoffs", json={"clinic_id": d_hospital}, headers=login("admin"))
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    # The 08:00 job finds the case handed off already: no second report carries it.
    services.clock.advance(timedelta(hours=9, minutes=5))
    with unit_of_work(services.session_factory) as session:
        programme = get_programme(session, services.settings.programme_code)
        assert make_handoffs(session, services.clock, programme, services.settings.handoff_time) == []
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 1
        told = session.scalars(select(SmsMessage.body).where(SmsMessage.purpose == "handoff")).all()
    assert len(told) == 1 and told[0].startswith("【申し送り】D病院")


def test_a_lock_held_past_the_busy_timeout_answers_503_in_words_then_the_decision_goes_through(
    embedded: Services, monkeypatch
):
    """Another process holding SQLite's write lock too long: the decision is refused with 503 (never a 500),
    saying the database is busy; pressed again once the lock is gone, it goes through."""
    import dispatch.db

    monkeypatch.setattr(dispatch.db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    services = Services.build(embedded.settings, clock=embedded.clock)
    path = services.engine.url.database
    try:
        with TestClient(create_app(services=services)) as client:
            operator, consult = _headers(client, "operator"), _headers(client, "consult")
            case_id = client.post("/api/v1/cases", json=intake_body(), headers=operator).json()["id"]
            assert client.post(f"/api/v1/cases/{case_id}/claim", headers=consult).status_code == 200
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another process's write, not yet committed
            refused = client.post(f"/api/v1/cases/{case_id}/decision", headers=consult, json=decision_body())
            other.execute("ROLLBACK")
            other.close()
            assert refused.status_code == 503
            assert refused.json()["code"] == "database_busy" and refused.headers["Retry-After"] == "5"
            again = client.post(f"/api/v1/cases/{case_id}/decision", headers=consult, json=decision_body())
            assert again.status_code == 200 and again.json()["state"] == "dispatching"
    finally:
        services.engine.dispose()


def test_the_console_says_a_server_failure_in_japanese_and_keeps_the_case(request, client, login, demo_logins):
    """A decision answered 500, then a decision that went through but whose re-read failed (503): each time
    the consulting physician reads Japanese words and the case stays on the screen. Then the coordinator
    makes a clinic's handoff from /handoffs."""
    from tests.test_console_browser import log_in, passwords

    server, chromium = request.getfixturevalue("stack"), request.getfixturevalue("browser")
    pw = passwords(demo_logins)
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=login("operator")).json()["id"]
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=login("consult")).status_code == 200
    page = log_in(chromium, server.url, "consult", pw["consult"], "/triage")
    page.locator(f'.queue-item[data-case-id="{case_id}"]').click()
    detail = page.locator("#triage-detail")
    expect(detail).to_be_visible()

    def decide() -> None:
        page.select_option('#decision-form [name="disposition"]', "visit_urgent")
        page.select_option('#decision-form [name="urgency"]', "orange")
        page.select_option('#decision-form [name="jtas_level"]', "2")
        page.click("#decide")

    page.route(
        f"**/api/v1/cases/{case_id}/decision", lambda r: r.fulfill(status=500, body="Internal Server Error")
    )
    decide()
    expect(page.locator("#toast")).to_contain_text("一時的に応答できませんでした")
    expect(detail).to_be_visible()
    page.unroute(f"**/api/v1/cases/{case_id}/decision")
    page.route(f"**/api/v1/cases/{case_id}", lambda r: r.fulfill(status=503, json={"detail": "busy"}))
    decide()
    expect(page.locator("#toast")).to_contain_text("表示中の内容はそのまま残しています")
    expect(detail).to_be_visible()
    expect(page.locator("#triage-title")).to_contain_text(f"K{case_id}")

    coordinator = log_in(chromium, server.url, "coordinator", pw["coordinator"], "/handoffs")
    coordinator.select_option("#make-clinic", label="D病院")
    coordinator.once("dialog", lambda dialog: dialog.accept())
    coordinator.click("#make-button")
    expect(coordinator.locator("#toast")).to_contain_text("申し送りを作成しました")
    expect(coordinator.locator("#handoff-items li")).to_have_count(1)
