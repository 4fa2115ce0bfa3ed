"""The console in headless Chromium: one case walked from the phone call to the prefecture's table, by the
people who would walk it, each in their own browser. Every page is saved as a screenshot."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from rq import SimpleWorker
from sqlalchemy import func, select

from dispatch.audit.models import AuditEntry
from dispatch.cases.models import Case
from dispatch.embedded import free_port
from dispatch.queue import QUEUE_NAME
from dispatch.twofactor.policy import TwoFactor
from tests.browser import (
    PHONE,
    assert_accessible,
    broken_lines,
    check_on_a_phone,
    require_chromium,
    screenshot,
    sideways_overflow,
)
from tests.conftest import TOKYO, LiveServer
from tests.factories import decision_body, intake_body

expect.set_options(timeout=10_000)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, port):
    # Links in SMS answers and webhook signatures use the address the browser reaches.
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


def passwords(demo_logins) -> dict[str, str]:
    return {d.username: d.password for d in demo_logins}


def log_in(browser: Browser, url: str, username: str, password: str, path: str = "/") -> Page:
    """A person at their own browser, set to UTC, so the page must show Tokyo time by itself."""
    context = browser.new_context(base_url=url, timezone_id="UTC", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.press('input[name="password"]', "Enter")
    expect(page).not_to_have_url(re.compile("/login"))
    return page


def lose_the_first_answer(page: Page) -> None:
    """The first logged call reaches the server (the case is made) but its answer never comes back."""
    lost = {"done": False}

    def route(request_route):
        if lost["done"]:
            request_route.continue_()
            return
        request_route.fetch()
        lost["done"] = True
        request_route.abort()

    page.route("**/api/v1/cases", route)


def fill_a_call(page: Page, complaint: str) -> None:
    """On the intake page: the demo patient found by chart number, and a call about them, not yet sent."""
    page.fill('#search-form [name="clinic_patient_number"]', "D-0001")
    page.press('#search-form [name="clinic_patient_number"]', "Enter")
    page.locator(".match").first.click()
    page.select_option('[name="caller_relation"]', "family")
    page.fill('[name="callback_phone"]', "090-1234-5678")
    page.select_option('[name="attending_unavailable"]', "no_answer")
    page.fill('[name="chief_complaint"]', complaint)


def run_jobs(services) -> None:
    """Let an RQ worker (in this process, on the test's clock) take everything queued."""
    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)


def cases_in_db(services) -> int:
    with services.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_whole_case_walked_through_the_console(stack, browser, services, clock, demo_logins):
    url, pw = stack.url, passwords(demo_logins)

    # 23:00 on a Wednesday night: the operator's board is open, and stays open (never reloaded) all night.
    board = log_in(browser, url, "operator", pw["operator"])
    expect(board).to_have_url(f"{url}/board")
    expect(board.locator("#live")).to_have_text("ライブ更新中")
    board.evaluate("window.sameBoard = true")
    screenshot(board, "01_board_empty")
    assert_accessible(board, "01_board_empty")

    # A call: find the patient by kana, read the care profile, log the call.
    intake = board.context.new_page()
    intake.goto("/intake")
    intake.fill('#search-form [name="name_kana"]', "インバ")
    intake.press('#search-form [name="name_kana"]', "Enter")
    intake.locator(".match").first.press("Enter")
    expect(intake.locator("#profile")).to_contain_text("慢性心不全")
    expect(intake.locator("#profile")).to_contain_text("自宅での看取りを希望")
    intake.select_option('[name="caller_relation"]', "family")
    intake.fill('[name="caller_name"]', "印旛 花子")
    intake.fill('[name="callback_phone"]', "090-12")
    intake.select_option('[name="attending_unavailable"]', "no_answer")
    intake.fill('[name="chief_complaint"]', "夕方から息苦しさが強くなった")
    intake.select_option('[name="breathing"]', "laboured")
    intake.fill('[name="vitals.spo2_percent"]', "88")
    intake.select_option('[name="provisional_urgency"]', "orange")
    intake.click("#intake-submit")
    # Inline, beside the field, in words; and nothing was logged.
    expect(intake.locator('label:has([name="callback_phone"]) .field-error')).to_have_text(
        "「090-12」は電話番号として正しくありません。090-1234-5678 や 043-123-4567 の形で入力してください"
    )
    screenshot(intake, "02_intake_validation")
    assert_accessible(intake, "02_intake_validation")
    assert cases_in_db(services) == 0

    # The first answer is lost on the way back (the case was made); the operator presses again, twice.
    lose_the_first_answer(intake)
    intake.fill('[name="callback_phone"]', "090-1234-5678")
    intake.click("#intake-submit")
    expect(intake.locator("#toast")).to_contain_text("二重登録にはなりません")
    intake.dblclick("#intake-submit")
    expect(intake.locator("#logged")).to_contain_text("K")
    screenshot(intake, "03_intake_logged")
    assert_accessible(intake, "03_intake_logged")
    assert cases_in_db(services) == 1
    case_id = int(intake.locator("#logged a").get_attribute("href").rsplit("/", 1)[1])
    card = f'[data-case-id="{case_id}"]'

    # The board shows it without a reload.
    expect(board.locator(f'[data-column="intake"] {card}')).to_be_visible()
    expect(board.locator(card)).to_contain_text("相談待ち")

    # The consulting physician: queue, profile, claim, decision.
    triage = log_in(browser, url, "consult", pw["consult"])
    expect(triage).to_have_url(f"{url}/triage")
    triage.click(f".queue-item{card}")
    expect(triage.locator("#profile")).to_contain_text("在宅酸素療法")
    triage.click("#claim")
    expect(triage.locator("#decision-form")).to_be_visible()
    triage.select_option('[name="disposition"]', "visit_urgent")
    triage.select_option('[name="urgency"]', "orange")
    triage.select_option('[name="jtas_level"]', "2")
    screenshot(triage, "04_triage_decision")
    assert_accessible(triage, "04_triage_decision")
    triage.click("#decide")
    expect(triage.locator("#triage-title")).to_contain_text("代診医を探索中")
    expect(board.locator(f'[data-column="dispatch"] {card}')).to_be_visible()

    # A worker matches and sends the offer SMS; the board sees it offered.
    run_jobs(services)
    expect(board.locator(f'{card}[data-state="offered"]')).to_be_visible()

    # The coordinator's dispatch view: the offer with its deadline counting down.
    coordinator = log_in(browser, url, "coordinator", pw["coordinator"])
    expect(coordinator).to_have_url(f"{url}/dispatch")
    offer_row = coordinator.locator(f".dispatch-case{card} tr.o-pending")
    expect(offer_row.locator(".countdown")).to_contain_text(re.compile(r"残り \d+:\d\d"))
    # The coordinator could offer it by hand to anyone on call.
    assert coordinator.locator(f'.dispatch-case{card} select[name="physician_id"] option').count() >= 2
    screenshot(coordinator, "05_dispatch_offer")
    assert_accessible(coordinator, "05_dispatch_offer")

    # The physician's phone (the demo simulator): the offer carries no patient data; one word accepts.
    coordinator.goto("/phone")
    phone = coordinator.locator('.phone:has([data-purpose="offer"])')
    expect(phone.locator('[data-purpose="offer"]')).to_contain_text("【往診依頼】")
    expect(phone.locator('[data-purpose="offer"]')).not_to_contain_text("印旛")
    phone.locator("button.accept").click()
    expect(phone.locator(".details-link")).to_be_visible()
    screenshot(coordinator, "06_phone_accepted")
    assert_accessible(coordinator, "06_phone_accepted")
    details = coordinator.context.new_page()
    details.goto(phone.locator(".details-link").get_attribute("href"))
    expect(details.locator("body")).to_contain_text("印旛 太郎")
    screenshot(details, "07_details_link")

    # The board, still the same page, has moved the case to the visit column.
    expect(board.locator(f'[data-column="visit"] {card}')).to_contain_text("受諾")
    assert board.evaluate("window.sameBoard") is True
    screenshot(board, "08_board_accepted")
    assert_accessible(board, "08_board_accepted")
    check_on_a_phone(board, "08_board_accepted")

    # Arrival phoned in; the visit ends in a death at home, recorded with its death record.
    clock.advance(timedelta(minutes=50))
    case = board.context.new_page()
    case.goto(f"/cases/{case_id}")
    expect(case.locator("#call-body")).to_contain_text("23:00")  # Tokyo time on a UTC browser
    case.click('[data-step="arrived"]')
    expect(case.locator("#case-title")).to_contain_text("到着")
    case.select_option('#outcome-form [name="outcome"]', "death_pronounced")
    expect(case.locator("#death")).to_be_visible()
    case.fill('[name="death.noticed_at"]', "2025-01-15T23:30")
    case.fill('[name="death.confirmed_at"]', "2025-01-15T23:45")
    case.fill('[name="findings"]', "呼吸停止、心停止、瞳孔散大を確認")
    case.click("#save-outcome")
    # Who certifies, whether it relates to the treated disease, the police: asked, never assumed.
    expect(case.locator("#outcome-form .form-error")).to_be_visible()
    case.select_option('[name="death.certificate_by"]', "substitute")
    case.select_option('[name="death.related_to_treated_disease"]', "true")
    case.select_option('[name="death.police_informed"]', "false")
    case.click("#save-outcome")
    expect(case.locator("#case-title")).to_contain_text("往診完了")
    expect(case.locator("#outcome-body")).to_contain_text("看取り")
    expect(case.locator("#timeline")).to_contain_text("往診完了")
    screenshot(case, "09_case_outcome")
    assert_accessible(case, "09_case_outcome")
    check_on_a_phone(case, "09_case_outcome")
    expect(board.locator(f'[data-column="after"] {card}')).to_be_visible()

    # 08:00: the morning handoff; the clinic reads and acknowledges it, which closes the case.
    clock.set(datetime(2025, 1, 16, 8, 5, tzinfo=TOKYO))
    from workers import jobs

    jobs.handoffs()
    clinic = log_in(browser, url, "clinic", pw["clinic"])
    expect(clinic).to_have_url(f"{url}/handoffs")
    clinic.locator("#handoffs tbody tr").first.click()
    expect(clinic.locator("#handoff-items")).to_contain_text("看取り")
    expect(clinic.locator("#handoff-items .patient")).to_have_text("印旛 太郎（D-0001）")
    clinic.click("#acknowledge")
    expect(clinic.locator("#handoff-title")).to_contain_text("確認済")
    screenshot(clinic, "10_handoff_acknowledged")
    assert_accessible(clinic, "10_handoff_acknowledged")
    expect(board.locator(card)).to_have_count(0)

    # The prefecture sees the reports and the monthly submissions only, and the case counted: one house call,
    # one end of life.
    prefecture = log_in(browser, url, "prefecture", pw["prefecture"])
    expect(prefecture).to_have_url(f"{url}/reports")
    expect(prefecture.locator(".top nav a")).to_have_count(2)
    row = prefecture.locator('#clinic-report tr[data-clinic="D病院"]')
    expect(row.locator("td").nth(2)).to_have_text("1")  # 往診
    expect(row.locator("td").nth(3)).to_have_text("1")  # 看取り
    expect(
        prefecture.locator('#monthly-chart rect[data-month="2025-01"][data-series="house_calls"]')
    ).to_have_count(1)
    # The chart's text alternative: the same figures in a table, for a screen reader or a reader who asks.
    prefecture.get_by_text("月別の件数を表で見る").click()
    expect(prefecture.locator('#monthly-table tr[data-month="2025-01"] td').nth(1)).to_have_text("1")  # 往診
    screenshot(prefecture, "11_reports")
    assert_accessible(prefecture, "11_reports")
    csv = prefecture.context.request.get(prefecture.locator("#csv").get_attribute("href"))
    assert csv.status == 200 and "D病院" in csv.text()
    xlsx = prefecture.context.request.get(prefecture.locator("#xlsx").get_attribute("href"))
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"
    prefecture.goto("/board")
    expect(prefecture.locator("h1")).to_have_text("この画面は使えません")

    # Every look at the patient's record on the way was written to the audit log, by whom.
    with services.session_factory() as session:
        readers = set(
            session.execute(
                select(AuditEntry.role, AuditEntry.action).where(AuditEntry.patient_id.is_not(None))
            ).all()
        )
    assert {role for role, _ in readers} >= {"operator", "consulting_physician", "clinic_admin"}

    # The outbox lists what was sent, without the details link; the console switches to English.
    outbox = board.context.new_page()
    outbox.goto("/outbox")
    expect(outbox.locator("#outbox")).to_contain_text("【往診依頼】")
    screenshot(outbox, "12_outbox")
    assert_accessible(outbox, "12_outbox")
    board.click("#language")
    expect(board.locator("h1")).to_contain_text("Open cases")
    screenshot(board, "13_board_english")
    assert_accessible(board, "13_board_english")


def test_on_a_phone_the_login_and_the_board_fit_the_screen_and_the_header_keeps_its_words_whole(
    stack, browser, demo_logins
):
    page = browser.new_context(base_url=stack.url, timezone_id="UTC", viewport=PHONE).new_page()
    page.goto("/board")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    screenshot(page, "00_login_phone")
    assert sideways_overflow(page) <= 0
    assert_accessible(page, "00_login_phone")
    page.fill('input[name="username"]', "operator")
    page.fill('input[name="password"]', passwords(demo_logins)["operator"])
    page.press('input[name="password"]', "Enter")
    expect(page.locator("#live")).to_have_text("ライブ更新中")
    screenshot(page, "01_board_empty_phone")
    assert sideways_overflow(page) <= 0
    # Each page link, the user's name, 二段階認証 and ログアウト on one line each, not a letter a line.
    assert broken_lines(page, ".top a, .top button, .top .live, .top .clock") == []
    assert_accessible(page, "01_board_empty_phone")


def test_after_logging_in_the_browser_stays_on_this_site_however_next_is_written(stack, browser, demo_logins):
    page = log_in(
        browser,
        stack.url,
        "operator",
        passwords(demo_logins)["operator"],
        path="/login?next=/%09/evil.example/x",
    )
    expect(page).to_have_url(re.compile(rf"^{re.escape(stack.url)}/"))


def offered_case(client, login, services) -> int:
    """A call decided for a visit through the API, its first offer sent by a worker."""
    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
    run_jobs(services)
    return case_id


def on_scene_case(client, login, services) -> int:
    """A visit under way, walked through the API: called in, decided, offered, accepted, arrived."""
    case_id = offered_case(client, login, services)
    op = login("operator")
    offer = next(m for m in client.get("/api/v1/sms/messages", headers=op).json() if m["purpose"] == "offer")
    client.post("/api/v1/sms/simulator", headers=op, json={"from_phone": offer["phone_e164"], "body": "Y"})
    client.post(f"/api/v1/cases/{case_id}/progress", headers=op, json={"step": "arrived"})
    return case_id


def test_correcting_an_outcome_in_the_console_keeps_what_the_page_does_not_show(
    stack, browser, client, login, services, demo_logins
):
    case_id = on_scene_case(client, login, services)
    op = login("operator")
    recorded = {
        "outcome": "treated_at_home",
        "findings": "肺うっ血",
        "medication": "フロセミド 20mg 静注",
        "arrived_at": "2025-01-15T23:30:00+09:00",
        "ended_at": "2025-01-16T00:10:00+09:00",
    }
    assert client.post(f"/api/v1/cases/{case_id}/outcome", headers=op, json=recorded).status_code == 200
    page = log_in(browser, stack.url, "operator", passwords(demo_logins)["operator"], path=f"/cases/{case_id}")
    expect(page.locator('#outcome-form [name="findings"]')).to_have_value("肺うっ血")
    page.fill('#outcome-form [name="findings"]', "肺うっ血、SpO2 改善")
    page.click("#save-outcome")
    expect(page.locator("#outcome-body")).to_contain_text("SpO2 改善")
    kept = client.get(f"/api/v1/cases/{case_id}/outcome", headers=op).json()
    assert kept["medication"] == "フロセミド 20mg 静注"
    assert datetime.fromisoformat(kept["ended_at"]) == datetime(2025, 1, 16, 0, 10, tzinfo=TOKYO)


def test_a_call_changed_after_a_lost_answer_points_to_the_case_already_made(
    stack, browser, services, demo_logins
):
    page = log_in(browser, stack.url, "operator", passwords(demo_logins)["operator"], path="/intake")
    fill_a_call(page, "発熱")
    lose_the_first_answer(page)
    page.click("#intake-submit")
    expect(page.locator("#toast")).to_contain_text("二重登録にはなりません")
    page.fill('[name="chief_complaint"]', "発熱と悪寒")  # changed before pressing again
    page.click("#intake-submit")
    expect(page.locator("#intake-form .form-error")).to_contain_text("既に受付されています")
    expect(page.locator("#intake-form .form-error a")).to_have_text("K1")
    assert cases_in_db(services) == 1


def test_an_escalation_shows_on_the_board_at_a_glance(
    stack, browser, client, login, services, clock, demo_logins
):
    from dispatch.flow import reconciler

    board = log_in(browser, stack.url, "operator", passwords(demo_logins)["operator"])
    expect(board.locator("#live")).to_have_text("ライブ更新中")
    case_id = offered_case(client, login, services)
    expect(board.locator("#escalations")).to_be_hidden()
    for _ in range(3):  # three offers left unanswered past their deadlines
        clock.advance(timedelta(minutes=4))
        reconciler.reconcile(services)
        run_jobs(services)
    expect(board.locator("#escalations")).to_contain_text("代診医が決まらない案件: K1")
    expect(board.locator(f'[data-case-id="{case_id}"] .flag.alert')).to_be_visible()
    expect(board).to_have_title(re.compile("^⚠"))
    screenshot(board, "14_board_escalation")
    assert_accessible(board, "14_board_escalation")


def test_a_board_left_open_catches_up_after_the_server_comes_back(
    client, services, demo_logins, port, worker_env, browser, login
):
    """The API restarts in the night; a call logged while it was down shows on the open board once the
    stream is back (the board re-reads on every reconnection, not only on the events it receives)."""
    from workers import context

    context.install(services)
    first = LiveServer(client.app, port=port, graceful_s=1)
    with first:
        board = log_in(browser, first.url, "operator", passwords(demo_logins)["operator"])
        expect(board.locator("#live")).to_have_text("ライブ更新中")
    expect(board.locator("#live")).to_have_text("再接続中…")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=login("operator")).json()["id"]
    with LiveServer(client.app, port=port, graceful_s=1):
        expect(board.locator("#live")).to_have_text("ライブ更新中", timeout=20_000)
        expect(board.locator(f'[data-column="intake"] [data-case-id="{case_id}"]')).to_be_visible()


def test_a_login_that_lapses_mid_call_keeps_the_form(stack, browser, services, demo_logins):
    page = log_in(browser, stack.url, "operator", passwords(demo_logins)["operator"], path="/intake")
    fill_a_call(page, "夕方から息苦しさが強くなった")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "dispatch_session")
    page.context.request.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    page.click("#intake-submit")
    expect(page.locator("#lapsed")).to_contain_text("ログインの有効期限が切れました")
    expect(page).to_have_url(f"{stack.url}/intake")
    expect(page.locator('[name="chief_complaint"]')).to_have_value("夕方から息苦しさが強くなった")
    assert cases_in_db(services) == 0


def test_a_password_changed_and_a_user_deactivated_in_the_console_end_their_other_logins(
    stack, browser, demo_logins
):
    url, pw = stack.url, passwords(demo_logins)
    # The operator changes their password at one desk; their login at another desk ends, this one stays.
    other_desk = log_in(browser, url, "operator", pw["operator"])
    page = log_in(browser, url, "operator", pw["operator"], path="/account")
    page.fill('[name="current_password"]', pw["operator"])
    page.fill('[name="new_password"]', "short")
    page.fill('[name="new_password_again"]', "short")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#password-form .field-error")).to_have_text("12文字以上で入力してください")
    page.fill('[name="new_password"]', "夜勤の新しいパスワード-01")
    page.fill('[name="new_password_again"]', "夜勤の新しいパスワード-01")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#toast")).to_contain_text(
        "パスワードを変更しました。他の端末のログイン1件を終了しました"
    )
    screenshot(page, "20_account")
    assert_accessible(page, "20_account")
    other_desk.reload()
    expect(other_desk).to_have_url(re.compile(r"/login\?next=/board"))
    page.goto("/board")
    expect(page).to_have_url(f"{url}/board")

    # The admin deactivates the coordinator, whose open page is sent to log in at its next read.
    coordinator = log_in(browser, url, "coordinator", pw["coordinator"])
    admin = log_in(browser, url, "admin", pw["admin"], path="/users")
    row = admin.locator("#users tr", has=admin.get_by_role("cell", name="coordinator", exact=True))
    expect(admin.locator("#users tr", has=admin.get_by_role("cell", name="admin", exact=True))).to_contain_text(
        "（自分）"
    )
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="無効化").click()
    expect(row).to_contain_text("無効")
    expect(row.get_by_role("button", name="有効化")).to_be_visible()
    row.get_by_role("button", name="パスワード再設定").click()
    admin.fill('#reset-form [name="new_password"]', "コーディネーター用-2025")
    screenshot(admin, "21_users")
    assert_accessible(admin, "21_users")
    admin.click("#reset-form button[type=submit]")
    expect(admin.locator("#toast")).to_contain_text("パスワードを再設定しました")
    expect(admin.locator("#reset-panel")).to_be_hidden()
    coordinator.reload()
    expect(coordinator).to_have_url(re.compile(r"/login\?next="))

    # Logging out everywhere from the account page ends this login too.
    page.goto("/account")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#logout-everywhere")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/board")
    expect(page).to_have_url(re.compile(r"/login\?next=/board"))


def test_two_factor_enrolled_and_used_in_the_console(stack, browser, services, settings, clock, demo_logins):
    """As in production (two factors required): the first login can only enrol; the QR code's key goes into
    an authenticator app; the recovery codes are shown once; the next login asks for the app's code and may
    remember the browser for a shift; a recovery code stands in for a phone left at home."""
    services.two_factor = TwoFactor.from_settings(settings.model_copy(update={"two_factor_required": True}))
    url, pw = stack.url, passwords(demo_logins)["coordinator"]
    first = log_in(browser, url, "coordinator", pw, path="/dispatch")
    expect(first).to_have_url(f"{url}/two-factor")
    expect(first.locator("#tf-required")).to_contain_text("二段階認証が必須です")
    first.click("#tf-begin")
    expect(first.locator("#tf-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    app = pyotp.TOTP(first.locator("#tf-secret").inner_text().replace(" ", ""))  # typed in by hand
    screenshot(first, "two_factor_01_enrol")
    assert_accessible(first, "two_factor_01_enrol")
    first.fill('#tf-confirm-form [name="code"]', app.at(clock.now()))
    first.press('#tf-confirm-form [name="code"]', "Enter")
    expect(first.locator("#tf-code-list li")).to_have_count(10)
    recovery = first.locator("#tf-code-list li").first.inner_text()
    screenshot(first, "two_factor_02_recovery_codes")
    assert_accessible(first, "two_factor_02_recovery_codes")
    first.click("#tf-done")
    expect(first).to_have_url(f"{url}/dispatch")

    def password_then(page: Page, *, code: str | None = None, recovery_code: str | None = None, remember=False):
        page.goto("/login")
        page.fill('input[name="username"]', "coordinator")
        page.fill('input[name="password"]', pw)
        page.press('input[name="password"]', "Enter")
        if code is None and recovery_code is None:
            return
        expect(page.locator("#code-form")).to_be_visible()
        if recovery_code:
            page.click("#use-recovery")
            page.fill('[name="recovery_code"]', recovery_code)
        else:
            page.fill('#code-form [name="code"]', code or "")
        if remember:
            page.check('[name="remember_device"]')
        page.click("#code-form button[type=submit]")

    clock.advance(timedelta(seconds=30))
    second = browser.new_context(base_url=url, timezone_id="UTC").new_page()
    password_then(second, code="000000" if app.at(clock.now()) != "000000" else "111111")
    expect(second.locator("#code-error")).to_have_text("コードが違うか、期限切れです")
    second.fill('#code-form [name="code"]', app.at(clock.now()))
    second.check('[name="remember_device"]')
    screenshot(second, "two_factor_03_code")
    assert_accessible(second, "two_factor_03_code")
    second.click("#code-form button[type=submit]")
    expect(second).to_have_url(f"{url}/dispatch")
    second.click("#logout")
    expect(second).to_have_url(re.compile("/login"))
    password_then(second)  # remembered: no code this shift
    expect(second).to_have_url(f"{url}/dispatch")

    third = browser.new_context(base_url=url, timezone_id="UTC").new_page()
    password_then(third, recovery_code=recovery)
    expect(third).to_have_url(f"{url}/dispatch")
    third.goto("/two-factor")
    expect(third.locator("#tf-left")).to_have_text("9")  # one recovery code spent
    expect(third.locator("#tf-devices")).to_have_text("1")  # the second browser, for this shift
    screenshot(third, "two_factor_04_manage")
    assert_accessible(third, "two_factor_04_manage")
