"""In Chromium: the centre's board names each case's area and filters by it; 香取海匝's coordinator sees a
board of their area only, named in the header, and 印旛's new calls never reach it live."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import test_console_browser as walk
from tests.browser import assert_accessible, screenshot
from tests.factories import intake_body
from tests.test_console_browser import log_in

# The browser test's fixtures (a live server with a worker, Chromium), reused as they are.
port, settings, stack, browser = walk.port, walk.settings, walk.stack, walk.browser

KATORI_CALL = intake_body(patient={"clinic_patient_number": "K-0001"})


def card(page, case_id: int):
    return page.locator(f'.card[data-case-id="{case_id}"]')


def test_each_board_shows_the_areas_its_reader_may_see(stack, browser, client, login, demo_areas):
    operator = login("operator")
    inba = client.post("/api/v1/cases", headers=operator, json=intake_body()).json()["id"]
    katori = client.post("/api/v1/cases", headers=operator, json=KATORI_CALL).json()["id"]

    centre = log_in(browser, stack.url, "coordinator", "coordinator-demo", "/board")
    expect(card(centre, inba)).to_contain_text("印旛")
    expect(card(centre, katori)).to_contain_text("香取海匝")
    expect(centre.locator("#area-scope")).to_have_count(0)
    centre.select_option("#area-filter", "katori-kaiso")
    expect(card(centre, inba)).to_have_count(0)
    expect(card(centre, katori)).to_be_visible()
    screenshot(centre, "area-board-centre-filtered")

    own = log_in(browser, stack.url, "coordinator-katori", "coordinator-katori-demo", "/board")
    expect(own.locator("#area-scope")).to_have_text("香取海匝 コーディネーター")
    expect(card(own, katori)).to_be_visible()
    expect(card(own, inba)).to_have_count(0)
    expect(own.locator("#area-filter")).to_have_count(0)
    expect(own.locator("#live")).to_have_class("live on")
    # Live: 香取海匝's next call appears without a reload; 印旛's does not, before or after it.
    later_inba = client.post("/api/v1/cases", headers=operator, json=intake_body()).json()["id"]
    later_katori = client.post("/api/v1/cases", headers=operator, json=KATORI_CALL).json()["id"]
    expect(card(own, later_katori)).to_be_visible()
    expect(card(own, later_inba)).to_have_count(0)
    expect(own.locator(".card")).to_have_count(2)
    assert_accessible(own, "the area coordinator's board")
    screenshot(own, "area-board-katori")

    page = own.context.new_page()
    page.goto(f"/cases/{inba}")
    expect(page.locator("h1")).to_have_text("見つかりません")
