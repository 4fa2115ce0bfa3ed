"""In Chromium: an alarm shows for an unanswered case and clears, without a reload, once the coordinator
assigns a physician by phone from the picker."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from rq import SimpleWorker

from dispatch.embedded import free_port
from dispatch.flow import reconciler
from dispatch.queue import QUEUE_NAME
from tests.browser import assert_accessible, require_chromium, screenshot
from tests.conftest import LiveServer
from tests.factories import decision_body, intake_body

expect.set_options(timeout=10_000)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, port):
    return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})


@pytest.fixture
def stack(client, services, demo_logins, port, worker_env):
    from workers import context

    context.install(services)
    with LiveServer(client.app, port=port) as server:
        yield server


@pytest.fixture
def browser() -> Browser:
    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


def run_jobs(services) -> None:
    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)


def test_the_alarm_shows_for_an_unanswered_case_and_clears_when_the_coordinator_assigns_by_phone(
    stack, browser, client, login, services, clock, demo_logins
):
    password = next(d.password for d in demo_logins if d.username == "coordinator")
    context = browser.new_context(
        base_url=stack.url, timezone_id="UTC", viewport={"width": 1440, "height": 900}
    )
    board = context.new_page()
    board.goto("/board")
    board.fill('input[name="username"]', "coordinator")
    board.fill('input[name="password"]', password)
    board.press('input[name="password"]', "Enter")
    expect(board).to_have_url(f"{stack.url}/board")
    expect(board.locator("#live")).to_have_text("ライブ更新中")
    board.evaluate("window.sameBoard = true")

    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
    run_jobs(services)
    for _ in range(3):  # three offers left unanswered past their deadlines
        clock.advance(timedelta(minutes=4))
        reconciler.reconcile(services)
        run_jobs(services)
    expect(board.locator("#escalations")).to_contain_text(f"K{case_id}")
    expect(board).to_have_title(re.compile("^⚠1 "))
    assert_accessible(board, "alarm_board")

    case_page = context.new_page()
    case_page.goto(f"/cases/{case_id}")
    expect(case_page.locator("#case-title .flag.alert")).to_be_visible()
    assert_accessible(case_page, "alarm_case_page")

    # The dispatch view says why offers stopped and lists who is on shift, with travel time and phone.
    dispatch = context.new_page()
    dispatch.goto("/dispatch")
    card = dispatch.locator(f'.dispatch-case[data-case-id="{case_id}"]')
    expect(card.locator(".stop-reason")).to_contain_text("候補の代診医が全員辞退・時間切れ")
    sakura = card.locator("table.picker tr", has_text="代診 佐倉")
    expect(sakura.locator('a[href^="tel:+81"]')).to_have_text("090-1111-0102")
    expect(sakura).to_contain_text("分")
    screenshot(dispatch, "alarm_dispatch_picker")
    assert_accessible(dispatch, "alarm_dispatch_picker")

    # The coordinator reached 佐倉 by phone and records it: the board's alarm goes, with no reload.
    physician_id = sakura.get_attribute("data-physician-id")
    card.locator('select[name="physician_id"]').select_option(physician_id)
    card.locator('input[name="reason"]').fill("電話で依頼し承諾を得た")
    card.locator("button.assign-by-hand").click()
    expect(board.locator("#escalations")).to_be_hidden()
    expect(board).not_to_have_title(re.compile("⚠"))
    expect(board.locator(f'[data-case-id="{case_id}"] .flag.alert')).to_have_count(0)
    expect(board.locator("#toast")).to_be_hidden()  # nor does the toast that announced it linger
    assert board.evaluate("window.sameBoard") is True
    expect(case_page.locator("#case-title .flag.alert")).to_have_count(0)  # the case page too, live
    screenshot(board, "alarm_board_cleared")
    assert_accessible(board, "alarm_board_cleared")
