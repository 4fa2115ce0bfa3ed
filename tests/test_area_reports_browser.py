"""The report page's unit picker in headless Chromium (広域連携): the prefecture's analyst opens the whole
prefecture grouped by area with subtotals and the cross-area house calls, then a 保健所; an area coordinator's
picker holds their own area only."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import test_console_browser as walk
from tests.browser import assert_accessible, screenshot
from tests.test_area_reports import two_areas  # noqa: F401 (a fixture)

port, settings, stack, browser = walk.port, walk.settings, walk.stack, walk.browser


def test_the_prefecture_picks_a_unit_and_reads_it_in_japanese(stack, browser, two_areas, demo_areas):  # noqa: F811
    pw = walk.passwords(demo_areas)
    page = walk.log_in(browser, stack.url, "prefecture", pw["prefecture"], path="/reports")
    picker = page.locator("#unit")
    expect(picker).to_have_value("area=inba")
    expect(page.locator("#report-label")).to_have_text("令和6年度 印旛（二次医療圏）")
    expect(page.locator("#cross-received")).to_have_text("1")
    expect(page.locator("#cross-given")).to_have_text("3")

    picker.select_option("scope=prefecture")
    expect(page.locator("#report-label")).to_have_text("令和6年度 千葉県（全圏域）")
    heads = page.locator("#clinic-report tr.area-head")
    expect(heads).to_have_text(["印旛", "香取海匝"])
    subtotal = page.locator('#clinic-report tr.subtotal[data-clinic="香取海匝 小計"] td')
    expect(subtotal.nth(2)).to_have_text("5")  # 往診
    expect(page.locator("#cross-area-other")).to_have_text("二次医療圏")
    expect(page.locator("#cross-received")).to_have_text("4")
    expect(page.locator("#cross-given")).to_have_text("4")
    assert "scope=prefecture" in page.locator("#csv").get_attribute("href")
    screenshot(page, "area_reports_prefecture")
    assert_accessible(page, "area_reports_prefecture")

    picker.select_option(label="　海匝保健所")
    expect(page.locator("#report-label")).to_have_text("令和6年度 香取海匝 海匝保健所")
    expect(page.locator('#cross-area tr[data-area="inba"] td')).to_have_text(["1", "—"])
    expect(page.locator("#cross-given")).to_have_text("—")


def test_an_area_coordinators_picker_holds_their_own_area(stack, browser, two_areas, demo_areas):  # noqa: F811
    pw = walk.passwords(demo_areas)
    page = walk.log_in(browser, stack.url, "coordinator-katori", pw["coordinator-katori"], path="/reports")
    expect(page.locator("#unit")).to_have_value("area=katori-kaiso")
    expect(page.locator("#unit option")).to_have_text(
        [
            "香取海匝（二次医療圏）",
            "　香取保健所",
            "　　香取郡市医師会",
            "　海匝保健所",
            "　　銚子市医師会",
            "　　旭匝瑳医師会",
        ]
    )
    expect(page.locator("#report-label")).to_have_text("令和6年度 香取海匝（二次医療圏）")
    expect(page.locator("#cross-received")).to_have_text("3")
