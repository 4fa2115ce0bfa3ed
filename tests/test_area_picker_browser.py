"""The centre's area picker in headless Chromium (広域連携): the centre's coordinator picks 香取海匝 on the
coverage gaps, submissions and roster pages and reads, submits and generates that area's, the choice kept in
the address; 香取海匝's own coordinator has no picker and sees their area only, whatever the address says."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import delete

from dispatch.db import unit_of_work
from dispatch.roster.models import Shift, ShiftCover, shift_coverage
from tests import test_console_browser as walk
from tests.browser import assert_accessible, check_on_a_phone, screenshot
from tests.test_area_operations import physician, towns_of

port, settings, stack, browser = walk.port, walk.settings, walk.stack, walk.browser

INBA_TOWN, KATORI_TOWN = "成田市", "多古町"


def no_shifts(services) -> None:
    """Every town short on every night, in both areas."""
    with unit_of_work(services.session_factory) as session:
        for table in (ShiftCover, shift_coverage, Shift):
            session.execute(delete(table))


def monday_rotations(client, login, services) -> None:
    """A Monday rotation in each area, by the centre's coordinator through the API."""
    centre = login("coordinator")
    for name, doctor, area in (("月曜 香取", "代診 香取", "katori-kaiso"), ("月曜 成田", "代診 成田", "inba")):
        body = {
            "name": name,
            "kind": "weekly",
            "weekdays": [0],
            "starts_on": "2025-02-01",
            "ends_on": None,
            "physician_ids": [physician(services, doctor)],
            "coverage": list(towns_of(services, area).values()),
        }
        assert client.post("/api/v1/roster/rotations", json=body, headers=centre).status_code == 201


def log_in_here(page: Page, path: str, username: str, password: str) -> None:
    """Open `path` logged out, log in on the login page it leads to, and land back on `path`."""
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.press('input[name="password"]', "Enter")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def test_the_centre_picks_katori_on_gaps_submissions_and_roster_and_katori_sees_no_picker(
    stack, browser, client, login, services, demo_areas
):
    no_shifts(services)
    monday_rotations(client, login, services)
    pw = walk.passwords(demo_areas)
    page = walk.log_in(browser, stack.url, "coordinator", pw["coordinator"], path="/gaps")
    page.on("dialog", lambda dialog: dialog.accept())
    gaps, picker = page.locator("#gap-nights"), page.locator("#area-picker")

    # Coverage gaps: 印旛's by default; 香取海匝's once picked, kept in the address across a reload.
    expect(picker).to_have_value("inba")
    expect(page.get_by_label("表示する二次医療圏")).to_be_visible()
    expect(picker.locator("option")).to_have_text(["印旛", "香取海匝"])
    expect(gaps).to_contain_text(INBA_TOWN)
    picker.select_option(label="香取海匝")
    expect(page).to_have_url(re.compile(r"/gaps\?area=katori-kaiso$"))
    expect(gaps).to_contain_text(KATORI_TOWN)
    expect(gaps).not_to_contain_text(INBA_TOWN)
    page.reload()
    expect(picker).to_have_value("katori-kaiso")
    expect(gaps).to_contain_text(KATORI_TOWN)
    expect(gaps).not_to_contain_text(INBA_TOWN)
    screenshot(page, "area_picker_gaps")
    assert_accessible(page, "area_picker_gaps")
    check_on_a_phone(page, "area_picker_gaps")

    # Submissions: 香取海匝's December, submitted there and not in 印旛.
    page.goto("/submissions")
    months = page.locator("#months")
    expect(picker).to_have_value("inba")
    picker.focus()
    page.keyboard.press("ArrowDown")  # by keyboard: the next area, 香取海匝
    expect(page).to_have_url(re.compile(r"/submissions\?area=katori-kaiso$"))
    december = months.locator('tr[data-month="2024-12"]')
    expect(december).to_contain_text("未提出")
    december.get_by_role("button", name="提出", exact=True).click()
    expect(page.locator("#toast")).to_have_text("香取海匝 2024-12を提出しました（第1版）")
    expect(december).to_contain_text("提出済")
    expect(page.locator("#submission-csv")).to_have_attribute(
        "href", "/api/v1/submissions/2024-12.csv?area=katori-kaiso"
    )
    assert_accessible(page, "area_picker_submissions")
    picker.select_option("inba")
    expect(december).to_contain_text("未提出")
    expect(page.locator("#submission")).to_be_hidden()

    # The month roster: 全圏域 by default; 香取海匝's rotations and its month generated alone.
    page.goto("/roster")
    expect(picker).to_have_value("")
    expect(page.locator("#rotations tbody th")).to_have_text(["月曜 成田", "月曜 香取"])
    picker.select_option("katori-kaiso")
    expect(page.locator("#rotations tbody th")).to_have_text(["月曜 香取"])
    expect(page.locator("#r-towns")).to_contain_text(KATORI_TOWN)
    expect(page.locator("#r-towns")).not_to_contain_text(INBA_TOWN)
    page.fill("#month", "2025-02")
    page.dispatch_event("#month", "change")
    page.click("#generate")
    expect(page.locator("#toast")).to_have_text("作成しました（新規4件、変更済・公開済のまま0件）")
    nights = page.locator("#nights tbody tr")
    expect(nights).to_have_count(4)
    expect(nights.locator("td:nth-child(3)")).to_have_text(["代診 香取"] * 4)
    screenshot(page, "area_picker_roster")
    check_on_a_phone(page, "area_picker_roster")
    centre = login("coordinator")
    inba_month = client.get("/api/v1/roster/months/2025-02", params={"area": "inba"}, headers=centre)
    assert inba_month.json() == []  # 印旛's month is not generated

    # 香取海匝's coordinator: no picker, their area only, even from an address naming 印旛.
    page.click("#logout")
    expect(page).to_have_url(re.compile("/login"))
    log_in_here(page, "/gaps?area=inba", "coordinator-katori", pw["coordinator-katori"])
    expect(gaps).to_contain_text(KATORI_TOWN)
    expect(gaps).not_to_contain_text(INBA_TOWN)
    expect(picker).to_have_count(0)
    page.goto("/roster")
    expect(page.locator("#rotations tbody th")).to_have_text(["月曜 香取"])
    expect(picker).to_have_count(0)
    assert_accessible(page, "area_picker_roster_katori")
