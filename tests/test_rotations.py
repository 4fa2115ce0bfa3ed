"""Rotations through the API: a month's roster made from them over the service hours (holidays and 年末年始
all day), weekly turns and alternate Saturdays, publish before matching sees them, overrides kept."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.roster.models import Physician
from tests.browser import assert_accessible, require_chromium, screenshot
from tests.night import start_night

TOKYO = ZoneInfo("Asia/Tokyo")
SAKURA, YACHIMATA, INZAI, SHIROI = "代診 佐倉", "代診 八街", "代診 印西", "代診 白井"


def jst(day: str, hm: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=TOKYO)


class Coordinator:
    """The coordinator's side of the API, with the demo's physicians and towns by name."""

    def __init__(self, http, headers: dict[str, str], physicians: dict[str, int]) -> None:
        self.http, self.headers, self.physicians = http, headers, physicians
        programme = http.get("/api/v1/programme", headers=headers).json()
        self.towns = {m["name"]: m["id"] for m in programme["municipalities"]}

    def rotation(self, kind: str, weekdays: list[int], names: list[str], starts_on: str, towns=("佐倉市",)):
        body = {
            "name": f"{kind} {'・'.join(names)}",
            "kind": kind,
            "weekdays": weekdays,
            "physician_ids": [self.physicians[n] for n in names],
            "coverage": [self.towns[t] for t in towns],
            "starts_on": starts_on,
        }
        response = self.http.post("/api/v1/roster/rotations", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def generate(self, month: str) -> dict:
        response = self.http.post(f"/api/v1/roster/months/{month}/generate", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def publish(self, month: str) -> int:
        response = self.http.post(f"/api/v1/roster/months/{month}/publish", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["published"]

    def month(self, month: str) -> dict[str, dict]:
        """The month's generated shifts by day."""
        response = self.http.get(f"/api/v1/roster/months/{month}", headers=self.headers)
        assert response.status_code == 200, response.text
        return {s["day"]: s for s in response.json() if s["generated"]}

    def on_call(self, at: datetime) -> set[str]:
        response = self.http.get("/api/v1/roster/on-call", params={"at": at.isoformat()}, headers=self.headers)
        return {slot["physician_name"] for slot in response.json()}


def _physicians(services) -> dict[str, int]:
    with services.session_factory() as session:
        return {p.name: p.id for p in session.scalars(select(Physician))}


@pytest.fixture
def coordinator(client, login, services) -> Coordinator:
    return Coordinator(client, login("coordinator"), _physicians(services))


def window(shift: dict) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(shift["starts_at"]), datetime.fromisoformat(shift["ends_at"])


def test_a_month_with_holidays_and_the_year_end_gets_the_service_hours_windows(coordinator):
    coordinator.rotation("weekly", [0, 1, 2, 3, 4, 5, 6], [INZAI], "2024-12-01", towns=("印西市", "栄町"))
    assert coordinator.generate("2025-01")["created"] == 31
    days = coordinator.month("2025-01")
    assert len(days) == 31
    assert all(not s["published"] and s["physician_name"] == INZAI for s in days.values())
    assert sorted(days["2025-01-06"]["coverage"]) == sorted(["印西市", "栄町"])
    # 元日 (Wed), 1/2-1/3 (年末年始, Thu-Fri), Sunday 1/5 and 成人の日 (Mon 1/13): all day, 08:00 to 08:00.
    for day, after in [("01-01", "01-02"), ("01-02", "01-03"), ("01-03", "01-04"), ("01-05", "01-06")]:
        assert window(days[f"2025-{day}"]) == (jst(f"2025-{day}", "08:00"), jst(f"2025-{after}", "08:00"))
    assert window(days["2025-01-13"]) == (jst("2025-01-13", "08:00"), jst("2025-01-14", "08:00"))
    # A Saturday from noon; weekdays from 18:00, month end included; a Monday that is no holiday.
    assert window(days["2025-01-04"]) == (jst("2025-01-04", "12:00"), jst("2025-01-05", "08:00"))
    assert window(days["2025-01-06"]) == (jst("2025-01-06", "18:00"), jst("2025-01-07", "08:00"))
    assert window(days["2025-01-31"]) == (jst("2025-01-31", "18:00"), jst("2025-02-01", "08:00"))
    # The year-end break starts on 29 December, a Sunday here, and Monday 30 December is all day too.
    coordinator.generate("2024-12")
    december = coordinator.month("2024-12")
    assert window(december["2024-12-30"]) == (jst("2024-12-30", "08:00"), jst("2024-12-31", "08:00"))
    assert window(december["2024-12-27"]) == (jst("2024-12-27", "18:00"), jst("2024-12-28", "08:00"))

    # Drafts are nobody's night yet; published, they are.
    assert INZAI not in coordinator.on_call(jst("2025-01-13", "10:00"))
    assert coordinator.publish("2025-01") == 31
    assert INZAI in coordinator.on_call(jst("2025-01-13", "10:00"))
    assert INZAI in coordinator.on_call(jst("2025-01-07", "07:59"))
    assert coordinator.publish("2025-01") == 0


def test_a_weekly_turn_goes_through_the_list_in_order(coordinator):
    # Saturdays, week 0 from the week of Monday 6 January; 4 January comes before the rotation starts.
    coordinator.rotation("weekly_turn", [5, 6], [SAKURA, YACHIMATA, INZAI], "2025-01-06")
    coordinator.generate("2025-01")
    coordinator.generate("2025-02")
    nights = {**coordinator.month("2025-01"), **coordinator.month("2025-02")}
    turns = [(day, s["physician_name"]) for day, s in sorted(nights.items())]
    assert turns[:7] == [
        ("2025-01-11", SAKURA),
        ("2025-01-12", SAKURA),
        ("2025-01-18", YACHIMATA),
        ("2025-01-19", YACHIMATA),
        ("2025-01-25", INZAI),
        ("2025-01-26", INZAI),
        ("2025-02-01", SAKURA),
    ]
    assert "2025-01-04" not in nights and "2025-01-05" not in nights


def test_alternate_saturdays_from_the_anchor(coordinator):
    coordinator.rotation("alternate_weeks", [5], [SHIROI], "2025-01-04")
    coordinator.generate("2025-01")
    nights = coordinator.month("2025-01")
    assert sorted(nights) == ["2025-01-04", "2025-01-18"]
    assert window(nights["2025-01-18"]) == (jst("2025-01-18", "12:00"), jst("2025-01-19", "08:00"))
    bad = coordinator.http.post(
        "/api/v1/roster/rotations",
        json={
            "name": "二人",
            "kind": "alternate_weeks",
            "weekdays": [5],
            "physician_ids": [coordinator.physicians[SHIROI], coordinator.physicians[SAKURA]],
            "coverage": [coordinator.towns["佐倉市"]],
            "starts_on": "2025-01-04",
        },
        headers=coordinator.headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("physician_ids:")


def test_overrides_survive_a_regenerate_and_hand_made_shifts_are_never_touched(coordinator, services):
    coordinator.rotation("weekly", [0], [YACHIMATA], "2025-01-01")
    by_hand = coordinator.http.post(
        "/api/v1/roster/shifts",
        json={
            "physician_id": coordinator.physicians[SHIROI],
            "starts_at": jst("2025-01-08", "18:00").isoformat(),
            "ends_at": jst("2025-01-09", "08:00").isoformat(),
            "coverage": [coordinator.towns["白井市"]],
        },
        headers=coordinator.headers,
    ).json()
    first = coordinator.generate("2025-01")
    assert first["created"] == 4  # Mondays 6, 13, 20, 27
    again = coordinator.generate("2025-01")
    assert (again["created"], again["replaced"]) == (4, 4)
    nights = coordinator.month("2025-01")
    patch = coordinator.http.patch
    changed = patch(
        f"/api/v1/roster/shifts/{nights['2025-01-06']['id']}",
        json={"physician_id": coordinator.physicians[SAKURA]},
        headers=coordinator.headers,
    )
    assert changed.status_code == 200 and changed.json()["overridden"] is True
    removed = patch(
        f"/api/v1/roster/shifts/{nights['2025-01-13']['id']}",
        json={"removed": True},
        headers=coordinator.headers,
    )
    assert removed.status_code == 200 and removed.json()["removed"] is True
    refused = patch(
        f"/api/v1/roster/shifts/{by_hand['id']}", json={"removed": True}, headers=coordinator.headers
    )
    assert refused.status_code == 409 and refused.json()["detail"].startswith("shift_id:")
    neither = patch(f"/api/v1/roster/shifts/{nights['2025-01-20']['id']}", json={}, headers=coordinator.headers)
    assert neither.status_code == 422

    third = coordinator.generate("2025-01")
    assert (third["created"], third["kept"]) == (2, 2)
    after = coordinator.month("2025-01")
    assert after["2025-01-06"]["physician_name"] == SAKURA
    assert after["2025-01-06"]["id"] == nights["2025-01-06"]["id"]
    assert after["2025-01-13"]["removed"] is True
    assert sorted(after) == ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]
    hand_made = coordinator.http.get("/api/v1/roster/months/2025-01", headers=coordinator.headers).json()
    assert [(s["generated"], s["published"]) for s in hand_made if s["id"] == by_hand["id"]] == [(False, True)]
    assert coordinator.publish("2025-01") == 3  # the removed night stays off
    assert coordinator.on_call(jst("2025-01-13", "20:00")) == set()
    assert coordinator.on_call(jst("2025-01-06", "20:00")) == {SAKURA}

    with services.session_factory() as session:
        actions = [a for a in session.scalars(select(AuditEntry.action)) if a.startswith("roster.")]
    assert actions.count("roster.month.generate") == 3 and actions.count("roster.shift.override") == 2
    assert {"roster.rotation.add", "roster.month.publish"} <= set(actions)


def test_only_the_coordinator_and_admin_change_the_roster(client, login):
    for username in ("operator", "substitute"):
        headers = login(username)
        for method, path in [
            ("POST", "/api/v1/roster/months/2025-01/generate"),
            ("POST", "/api/v1/roster/months/2025-01/publish"),
            ("GET", "/api/v1/roster/months/2025-01"),
            ("PATCH", "/api/v1/roster/shifts/1"),
            ("POST", "/api/v1/roster/rotations"),
        ]:
            response = client.request(method, path, headers=headers, json={"removed": True})
            assert response.status_code == 403, f"{username} {method} {path}: {response.status_code}"
    month = client.post("/api/v1/roster/months/2025-13/generate", headers=login("admin"))
    assert month.status_code == 422 and month.json()["detail"].startswith("month:")
    for username, status in (("operator", 403), ("coordinator", 200)):
        client.cookies.set("dispatch_session", login(username)["Authorization"].removeprefix("Bearer "))
        page = client.get("/roster")
        assert page.status_code == status
    assert "ローテーションから作成" in page.text and 'src="/static/roster.js"' in page.text


def test_a_published_rotation_night_is_offered_the_call(settings, clock):
    with start_night(settings, clock) as night:
        http = night.http
        coordinator = Coordinator(http, night.headers("coordinator"), _physicians(night.services))
        # Nobody else is on in February: the demo's shifts run to the end of January.
        coordinator.rotation("weekly", [0], [YACHIMATA], "2025-02-01")
        coordinator.generate("2025-02")
        coordinator.publish("2025-02")
        clock.set(jst("2025-02-03", "20:00"))
        case_id = night.call()
        night.decide_visit(case_id)
        assert night.state(case_id) == "offered"
        assert night.offer_for(case_id).to == night.phone(YACHIMATA)


def test_the_coordinator_adds_a_rotation_then_generates_and_publishes_the_month_in_chromium(
    live_server, demo_logins
):
    from playwright.sync_api import expect, sync_playwright

    executable = require_chromium()
    password = next(d.password for d in demo_logins if d.username == "coordinator")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        try:
            context = chromium.new_context(
                base_url=live_server.url, timezone_id="UTC", viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto("/roster")
            page.fill('input[name="username"]', "coordinator")
            page.fill('input[name="password"]', password)
            page.press('input[name="password"]', "Enter")
            expect(page).to_have_url(f"{live_server.url}/roster")
            # The month's table and the rotations above the form load first: the form moves down as they
            # do, and a click at a checkbox's old place (a loaded machine) would miss it.
            expect(page.locator("#summary")).to_have_text("下書き0件・公開中0件")
            expect(page.locator("#rotations-empty")).to_be_visible()
            page.fill("#r-name", "月曜夜")
            page.check('#r-weekdays input[value="0"]')
            page.select_option("#r-physician", label=YACHIMATA)
            page.click("#r-add-physician")
            page.get_by_label("佐倉市").check()
            page.click('#rotation-form button[type="submit"]')  # from today, Wednesday 15 January
            expect(page.locator("#rotations tbody")).to_contain_text(f"月曜夜毎週月{YACHIMATA}佐倉市")
            page.click("#generate")
            drafts = page.locator("#nights tbody tr", has_text="下書き")
            expect(drafts).to_have_count(2)  # Mondays 20 and 27 January
            expect(page.locator("#summary")).to_have_text("下書き2件・公開中0件")
            page.click("#publish")
            expect(page.locator("#summary")).to_have_text("下書き0件・公開中2件")
            screenshot(page, "roster")
            assert_accessible(page, "roster")
        finally:
            chromium.close()
