"""The details page on a phone (390×844, Chromium): the physician opens the link from the SMS, records 出発,
到着 and 完了 each with a confirmation, then a death at home with its record; never a sideways scroll,
every target at least 44 px high. Phone-size screenshots are saved beside the console's."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests import test_console_browser as console
from tests.browser import assert_accessible, screenshot
from tests.test_visit_page import accepted_link

# The console walk's fixtures: the stack under uvicorn on a free port, and Debian's Chromium.
port, settings, stack, browser = console.port, console.settings, console.stack, console.browser

PHONE = {"width": 390, "height": 844}
TARGETS = "a, button, select, textarea, input:not([type=radio]), label.choice"
SMALL_TARGETS = f"""() => [...document.querySelectorAll('{TARGETS}')]
  .filter((node) => node.offsetParent !== null)
  .map((node) => [node.id || node.textContent.trim().slice(0, 20), node.getBoundingClientRect().height])
  .filter(([, height]) => height < 44)"""


def fits_the_phone(page: Page) -> None:
    """Nothing wider than the screen, and nothing too small to tap."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert width <= inner, f"{width} px wide on a {inner} px screen"
    assert page.evaluate(SMALL_TARGETS) == []


def take_step(page: Page, button: str, question: str, recorded: str) -> None:
    """One tap on the next step asks first; 「記録する」 records it and the time appears."""
    expect(page.locator("#next-step")).to_have_text(button)
    page.click("#next-step")
    expect(page.locator("#confirm-text")).to_have_text(question)
    expect(page.locator("#next-step")).to_be_hidden()
    fits_the_phone(page)
    page.click("#confirm-yes")
    expect(page.locator("#steps")).to_contain_text(recorded)


def test_the_physician_walks_the_visit_and_records_a_death_from_the_phone(
    stack, browser, client, login, services, clock, worker_env
):
    _case_id, link = accepted_link(client, login, services)
    context = browser.new_context(
        base_url=stack.url,
        viewport=PHONE,
        timezone_id="UTC",
        locale="ja-JP",
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,  # the page forbids other scripts; axe-core is injected for the accessibility checks
    )
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#acp")).to_contain_text("DNAR：心肺蘇生を希望しない")
    expect(page.locator("#next-step")).to_have_text("出発")
    assert page.locator('a[href^="tel:"]').count() >= 3  # the key person, the caller, the clinic
    expect(page.locator("#tel-callback")).to_have_text("090-1234-5678")
    fits_the_phone(page)
    screenshot(page, "phone_01_details")
    assert_accessible(page, "phone_01_details")

    clock.advance(timedelta(minutes=9))  # 23:09
    page.click("#next-step")
    page.click("#confirm-no")  # changed their mind: nothing recorded
    expect(page.locator("#next-step")).to_be_visible()
    take_step(page, "出発", "本当に出発を記録しますか？", "出発 23:09")
    screenshot(page, "phone_02_departed")
    assert_accessible(page, "phone_02_departed")
    clock.advance(timedelta(minutes=17))  # 23:26
    take_step(page, "到着", "本当に到着を記録しますか？", "到着 23:26")
    expect(page.locator("#outcome-form")).to_be_visible()
    fits_the_phone(page)
    clock.advance(timedelta(minutes=20))  # 23:46
    take_step(page, "完了", "本当に完了を記録しますか？", "完了 23:46")
    expect(page.locator("#next-step")).to_have_count(0)
    expect(page.locator("#state")).to_have_text("往診完了")

    # A transport must say where to: the programme's hospitals are listed on the page, no login needed.
    page.check('[name="outcome"][value="transported_admitted"]')
    assert page.locator("#destination_hospital_id option").count() > 1
    page.click("#save-outcome")
    expect(page.locator("#error-destination")).to_have_text("搬送先の病院を選ぶか、病院名を入力してください")

    # A death at home: the record's times default to now; the rest is asked, never assumed.
    page.check('[name="outcome"][value="death_pronounced"]')
    expect(page.locator("#death")).to_be_visible()
    expect(page.locator("#confirmed_at")).to_have_value("2025-01-15T23:46")
    page.fill("#noticed_at", "2025-01-15T23:20")
    page.fill("#findings", "呼吸停止、心停止、瞳孔散大を確認")
    page.click("#save-outcome")
    expect(page.locator("#error-certificate_by")).to_have_text("選んでください")
    expect(page.locator("#error-police")).to_have_text("選んでください")
    fits_the_phone(page)
    screenshot(page, "phone_03_death_form")
    assert_accessible(page, "phone_03_death_form")
    page.check('[name="related"][value="true"]')
    page.check('[name="certificate_by"][value="substitute"]')
    page.check('[name="police"][value="false"]')
    page.click("#save-outcome")
    saved = page.locator("#outcome-saved")
    expect(saved).to_contain_text("死亡確認（看取り）")
    expect(saved).to_contain_text("01/15 23:46")
    expect(saved).to_contain_text("私（代診医）が書く")
    expect(page.locator("#outcome-form")).to_be_hidden()
    fits_the_phone(page)
    screenshot(page, "phone_04_outcome_saved")
    assert_accessible(page, "phone_04_outcome_saved")

    # 訂正 opens the recorded outcome again, as it was.
    page.click("#correct")
    expect(page.locator('[name="outcome"][value="death_pronounced"]')).to_be_checked()
    expect(page.locator("#noticed_at")).to_have_value("2025-01-15T23:20")
    fits_the_phone(page)
    context.close()
