"""The intake page in Chromium: a patient found by hiragana, the birth date in 和暦 with age, a call logged late
with its real time, and whether that time is in service hours shown before the call is sent."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import select

from dispatch.cases.models import Case
from tests.browser import require_chromium, screenshot
from tests.conftest import TOKYO
from tests.test_console_browser import log_in, passwords

expect.set_options(timeout=10_000)


@pytest.fixture
def browser() -> Browser:
    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


def test_hiragana_finds_the_patient_and_a_late_call_shows_its_hours(
    live_server, browser, services, demo_logins
):
    # 23:00 on a Wednesday (the test's clock); the operator's browser is set to UTC.
    page = log_in(browser, live_server.url, "operator", passwords(demo_logins)["operator"], "/intake")
    page.fill('#search-form [name="name_kana"]', "いんば")
    page.press('#search-form [name="name_kana"]', "Enter")
    match = page.locator(".match")
    expect(match).to_have_count(1)
    expect(match).to_contain_text("インバ タロウ")
    expect(match).to_contain_text("男性 昭和13年5月12日（86歳）")
    eras = page.evaluate("['2019-04-30', '2019-05-01', '1989-01-07', '1989-01-08'].map(fmtBirthDate)")
    assert [e.split("（")[0] for e in eras] == [
        "平成31年4月30日",
        "令和元年5月1日",
        "昭和64年1月7日",
        "平成元年1月8日",
    ]
    match.click()
    expect(page.locator("#profile")).to_contain_text("昭和13年5月12日（86歳）")

    # The call time is now, in Tokyo, and marked required; tonight is in service hours.
    called_at = page.locator("#called-at")
    expect(called_at).to_have_value("2025-01-15T23:00")
    expect(called_at).to_have_attribute("aria-required", "true")
    expect(page.locator("label:has(#called-at) .req")).to_have_text("必須")
    flag = page.locator("#hours-flag")
    expect(flag).to_have_text("時間内（夜間・休日）")

    # A call taken this morning, logged late: the page says 時間外 before anything is sent.
    called_at.fill("2025-01-15T10:00")
    expect(flag).to_have_text("時間外")
    page.select_option('[name="caller_relation"]', "family")
    page.fill('[name="callback_phone"]', "090-1234-5678")
    page.select_option('[name="attending_unavailable"]', "no_answer")
    page.fill('[name="chief_complaint"]', "朝から発熱があった")
    screenshot(page, "intake_late_call")
    page.click("#intake-submit")
    expect(page.locator("#logged")).to_be_visible()
    with services.session_factory() as session:
        case = session.scalar(select(Case))
    assert case.called_at == datetime(2025, 1, 15, 10, 0, tzinfo=TOKYO)
    assert case.in_service_hours is False
    expect(called_at).to_have_value("2025-01-15T23:00")  # ready for the next call, which is live
