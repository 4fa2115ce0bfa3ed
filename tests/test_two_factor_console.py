"""The console's side of two-factor login without a browser: the code step on the login page, the 二段階認証
page in every header, and a login that must enrol sent there from every page."""

from __future__ import annotations

import re

import pytest

from dispatch.twofactor.policy import TwoFactor
from tests.two_factor import enrol, logged_in, password_step


@pytest.fixture
def required(services, settings) -> None:
    services.two_factor = TwoFactor.from_settings(settings.model_copy(update={"two_factor_required": True}))


def test_the_login_page_has_the_code_step_with_remember_this_device_for_a_shift(client):
    page = client.get("/login").text
    assert 'id="code-form"' in page and 'autocomplete="one-time-code"' in page
    assert "この端末を記憶する（16時間）" in page and "リカバリーコード" in page


def test_every_page_links_to_the_two_factor_page_in_its_header(client, demo_logins):
    client.cookies.set(
        "dispatch_session", logged_in(client, "coordinator", "coordinator-demo")["Authorization"][7:]
    )
    for path in ("/dispatch", "/reports", "/two-factor"):
        page = client.get(path)
        assert page.status_code == 200 and '<a href="/two-factor" id="two-factor"' in page.text, path
    page = client.get("/two-factor").text
    assert "<h1>二段階認証</h1>" in page and "/static/two_factor.js" in page


def test_a_login_that_must_enrol_is_sent_to_enrol_from_every_page(client, demo_logins, clock, required):
    login = password_step(client, "operator", "operator-demo")  # the browser keeps the session cookie
    assert login.json()["enrolment_required"] is True
    for path in ("/", "/board", "/intake", "/cases/1"):
        moved = client.get(path, follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (303, "/two-factor"), path
    page = client.get("/two-factor")
    assert page.status_code == 200
    assert "href" not in re.findall(r"<nav>.*?</nav>", page.text, re.S)[0]  # no page to go to, yet
    assert client.get("/login", follow_redirects=True).url.path == "/two-factor"
    client.cookies.delete("dispatch_session")
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    enrol(client, clock, headers, "operator")
    client.cookies.set("dispatch_session", login.json()["access_token"])
    assert client.get("/board").status_code == 200
