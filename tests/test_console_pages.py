"""The console's pages without a browser: who may open what, where a stranger is sent, the language, and
that every word a page or script asks for exists in both languages."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from config.settings import SmsProvider
from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.cases.schemas import AttendingUnavailable, Breathing, CallerRelation, Consciousness
from dispatch.cases.states import CaseEnding, CaseState, Disposition, Urgency
from dispatch.db import unit_of_work
from dispatch.offers.models import OfferState
from dispatch.outcomes.models import CertificateBy, OutcomeCode
from dispatch.patients.models import EndReason
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.services import Services
from dispatch.web import i18n
from dispatch.web.router import NAV_KEYS
from tests.factories import add_user

WEB = Path(__file__).parent.parent / "dispatch" / "web"


def browser_login(client, login, username: str) -> None:
    """Log in as a browser does: the session cookie, not a header."""
    token = login(username)["Authorization"].removeprefix("Bearer ")
    client.cookies.set("dispatch_session", token)


def test_a_stranger_is_sent_to_log_in_and_comes_back_after(client, demo_logins):
    response = client.get("/board", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/board"
    page = client.get("/login?next=/board")
    assert page.status_code == 200 and "ログイン" in page.text and 'data-next="/board"' in page.text


@pytest.mark.parametrize(
    "next_path",
    ["//evil.example/board", "https://evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example"],
)
def test_the_login_page_never_sends_anyone_to_another_site(client, next_path):
    page = client.get("/login", params={"next": next_path})
    assert 'data-next="/"' in page.text


@pytest.mark.parametrize(
    ("username", "home", "nav"),
    [
        ("operator", "/board", {"/board", "/intake", "/triage", "/dispatch", "/handoffs", "/outbox", "/phone"}),
        ("consult", "/triage", {"/board", "/triage", "/dispatch"}),
        (
            "coordinator",
            "/dispatch",
            {
                "/board",
                "/triage",
                "/dispatch",
                "/gaps",
                "/handoffs",
                "/reports",
                "/submissions",
                "/swaps",
                "/roster",
                "/outbox",
                "/phone",
            },
        ),
        ("clinic", "/handoffs", {"/handoffs", "/reports"}),
        ("prefecture", "/reports", {"/reports", "/submissions"}),
        ("substitute", "/phone", {"/swaps", "/phone", "/me"}),
    ],
)
def test_each_role_starts_on_its_own_page_and_sees_only_its_pages(client, login, username, home, nav):
    browser_login(client, login, username)
    start = client.get("/", follow_redirects=False)
    assert start.headers["location"] == home
    page = client.get(home)
    assert page.status_code == 200
    links = set(re.findall(r"<nav>.*?</nav>", page.text, re.S)[0].split('href="')[1:])
    assert {link.split('"')[0] for link in links} == nav


def test_the_prefecture_is_refused_the_board_with_a_page_that_points_home(client, login):
    browser_login(client, login, "prefecture")
    page = client.get("/board")
    assert page.status_code == 403
    assert "この画面は使えません" in page.text and 'href="/reports"' in page.text


def test_english_is_one_click_away_and_stays_chosen(client, login):
    browser_login(client, login, "operator")
    assert "案件ボード" in client.get("/board").text
    switched = client.get("/language/en", params={"next": "/board"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/board"
    page = client.get("/board")
    assert 'lang="en"' in page.text and "Open cases" in page.text and "案件ボード" not in page.text
    assert client.get("/language/fr").status_code == 404


def test_names_on_a_page_are_escaped_in_the_markup_and_in_the_script_data(client, services, demo_logins):
    credentials = add_user(
        services, "mallory", Role.operator, display_name="</script><script>alert(1)</script>"
    )
    token = client.post("/api/v1/auth/login", json=credentials)
    assert token.status_code == 200
    page = client.get("/board").text
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # the header
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page  # the boot data cannot close its tag


LABELLED: dict[str, type[StrEnum]] = {
    "role": Role,
    "state": CaseState,
    "urgency": Urgency,
    "disposition": Disposition,
    "outcome": OutcomeCode,
    "caller_relation": CallerRelation,
    "consciousness": Consciousness,
    "breathing": Breathing,
    "attending_unavailable": AttendingUnavailable,
    "offer_state": OfferState,
    "certificate_by": CertificateBy,
    "ending": CaseEnding,
    "end_reason": EndReason,
}


@pytest.mark.parametrize("group", sorted(LABELLED))
def test_every_value_a_page_shows_has_a_label_in_both_languages(group):
    values = {member.value for member in LABELLED[group]}
    assert set(i18n.LABELS[group]) == values
    assert all(ja and en for ja, en in i18n.LABELS[group].values())


def test_every_message_a_page_or_script_asks_for_exists():
    asked = set()
    for path in (WEB / "templates").glob("*.html"):
        asked |= set(re.findall(r't\["([\w.]+)"\]', path.read_text()))
    for path in (WEB / "static").glob("*.js"):
        asked |= set(re.findall(r'\bt\("([\w.]+)"\)', path.read_text()))
    asked |= set(NAV_KEYS.values())
    assert len(asked) > 60
    assert asked - set(i18n.MESSAGES) == set()


def test_the_phone_simulator_is_absent_outside_the_console_adapter(settings, clock):
    twilio = settings.model_copy(
        update={
            "sms_provider": SmsProvider.twilio,
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": SecretStr("x" * 32),
            "twilio_from_number": "+815000000000",
        }
    )
    services = Services.build(twilio, clock=clock)
    try:
        from fastapi.testclient import TestClient

        from dispatch.seed.demo import seed_demo
        from dispatch.seed.reference import load_programme_data

        services.redis.flushdb()
        with unit_of_work(services.session_factory) as session:
            logins = seed_demo(session, load_programme_data("inba"), services.clock, services.passwords)
        password = next(d.password for d in logins if d.username == "operator")
        with TestClient(create_app(services=services)) as client:
            client.post("/api/v1/auth/login", json={"username": "operator", "password": password})
            assert client.get("/phone").status_code == 404
            assert 'href="/phone"' not in client.get("/board").text
            assert client.get("/api/v1/sms/simulator/phones").status_code == 404
            password = next(d.password for d in logins if d.username == "substitute")
            client.post("/api/v1/auth/login", json={"username": "substitute", "password": password})
            assert client.get("/", follow_redirects=False).headers["location"] == "/me"  # their own page
    finally:
        services.close()


def test_a_substitute_sees_and_answers_from_their_own_phone_only(client, login, services):
    browser_login(client, login, "substitute")
    phones = client.get("/api/v1/sms/simulator/phones").json()
    assert len(phones) == 1
    own = phones[0]["phone_e164"]
    with services.session_factory() as session:
        others = session.scalars(
            select(Physician.phone_e164).where(
                Physician.role == PhysicianRole.substitute, Physician.phone_e164 != own
            )
        ).all()
    client.cookies.clear()
    headers = login("substitute")
    refused = client.post("/api/v1/sms/simulator", headers=headers, json={"from_phone": others[0], "body": "Y"})
    assert refused.status_code == 403 and "own phone" in refused.json()["detail"]
    mine = client.post("/api/v1/sms/simulator", headers=headers, json={"from_phone": own, "body": "Y"})
    assert mine.status_code == 200


def test_a_write_that_another_site_started_is_refused_even_with_the_cookie(client, login):
    browser_login(client, login, "consult")
    for site in ("cross-site", "same-site"):  # same-site: another port on this host
        refused = client.post("/api/v1/cases/1/claim", headers={"Sec-Fetch-Site": site})
        assert refused.status_code == 403 and "another site" in refused.json()["detail"]
    refused = client.post("/api/v1/cases/1/claim", headers={"Origin": "http://127.0.0.1:9999"})
    assert refused.status_code == 403
    own = client.post("/api/v1/cases/1/claim", headers={"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 404  # through the guard: there is no case 1
    assert client.get("/api/v1/triage/queue", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_every_form_posts_so_nothing_typed_reaches_a_url():
    """With the script not yet loaded, Enter submits the form natively: it must never be a GET."""
    for path in (WEB / "templates").glob("*.html"):
        for form in re.findall(r"<form[^>]*>", path.read_text()):
            assert 'method="post"' in form, f"{path.name}: {form}"


def test_pages_allow_only_their_own_scripts_and_no_framing(client, login):
    browser_login(client, login, "operator")
    policy = client.get("/board").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("username", ["operator", "substitute", "prefecture", "admin"])
def test_every_role_changes_its_password_and_logs_out_everywhere_from_its_account_page(client, login, username):
    browser_login(client, login, username)
    home = client.get("/", follow_redirects=True)
    assert 'href="/account"' in home.text  # the name in the header leads there
    page = client.get("/account")
    assert page.status_code == 200
    assert "パスワードの変更" in page.text and "すべての端末からログアウト" in page.text
    form = re.search(r'<form id="password-form"[^>]*>', page.text)
    assert form and 'method="post"' in form.group(0)
    for field in ("current_password", "new_password", "new_password_again"):
        assert f'name="{field}" type="password"' in page.text


def test_only_the_admin_manages_users_from_the_console(client, login):
    browser_login(client, login, "admin")
    board = client.get("/board").text
    assert 'href="/users"' in re.findall(r"<nav>.*?</nav>", board, re.S)[0]
    page = client.get("/users")
    assert page.status_code == 200 and "利用者の管理" in page.text and "/static/users.js" in page.text
    client.cookies.clear()
    browser_login(client, login, "coordinator")
    refused = client.get("/users")
    assert refused.status_code == 403 and "この画面は使えません" in refused.text
    assert 'href="/users"' not in client.get("/dispatch").text
