"""Calendar feeds and shift reminders: a physician's shifts in their phone's calendar (read here by the real
icalendar library), a link only they or a coordinator can issue and stop, and one SMS before each shift."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import icalendar
import pytest
from sqlalchemy import select

from dispatch.auth.models import Role
from dispatch.db import unit_of_work
from dispatch.flow.replies import answer_sms
from dispatch.patients.models import Patient
from dispatch.programme.models import Municipality
from dispatch.roster.models import Physician, PhysicianRole, Shift, ShiftCover
from dispatch.sms.models import SmsMessage
from tests.conftest import TOKYO, LiveServer
from tests.factories import add_user
from tests.observability_support import json_log_lines, run_observed_jobs

PHONE_A, PHONE_B = "+819011117001", "+819011117002"


def _at(day: int, hour: int) -> datetime:
    return datetime(2025, 1, day, hour, 0, tzinfo=TOKYO)


@pytest.fixture
def roster(services, demo_logins) -> dict[str, int]:
    """Two physicians (the clock: 15 Jan 2025 23:00): 甲's night on the 16th; 甲's night on the 17th, which 乙
    covers; 乙's night on the 18th, of which 甲 covers 18:00-23:00; and 甲's night in June, past the feed."""
    with unit_of_work(services.session_factory) as session:
        towns = {m.name: m for m in session.scalars(select(Municipality))}
        a = Physician(name="代診 甲", role=PhysicianRole.substitute, phone_e164=PHONE_A)
        b = Physician(name="代診 乙", role=PhysicianRole.substitute, phone_e164=PHONE_B)
        session.add_all([a, b])
        session.flush()

        def shift(physician: Physician, day: int, *names: str, month: int = 1) -> Shift:
            start = _at(day, 18).replace(month=month)
            made = Shift(physician_id=physician.id, starts_at=start, ends_at=start + timedelta(hours=14))
            made.coverage = [towns[n] for n in names]
            session.add(made)
            session.flush()
            return made

        shift(a, 16, "印西市", "佐倉市")
        covered = shift(a, 17, "印西市")
        theirs = shift(b, 18, "佐倉市")
        shift(a, 1, "印西市", month=6)
        session.add_all(
            [
                ShiftCover(
                    shift_id=covered.id,
                    covering_physician_id=b.id,
                    starts_at=covered.starts_at,
                    ends_at=covered.ends_at,
                ),
                ShiftCover(
                    shift_id=theirs.id, covering_physician_id=a.id, starts_at=_at(18, 18), ends_at=_at(18, 23)
                ),
            ]
        )
        return {"a": a.id, "b": b.id}


def _issue(client, headers, physician_id: int):
    return client.post(f"/api/v1/physicians/{physician_id}/calendar-token", headers=headers)


def _events(body: bytes) -> list[tuple[datetime, datetime, str]]:
    calendar = icalendar.Calendar.from_ical(body)
    found = []
    for event in calendar.walk("VEVENT"):
        assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
        found.append((event.decoded("DTSTART"), event.decoded("DTEND"), str(event["SUMMARY"])))
    return sorted(found)


def test_the_feed_holds_each_physicians_own_turns_in_tokyo_time_and_no_patient(client, login, services, roster):
    coordinator = login("coordinator")
    issued = _issue(client, coordinator, roster["a"])
    assert issued.status_code == 201, issued.text
    url = issued.json()["url"]
    assert url.startswith("http://testserver/calendar/") and issued.json()["webcal_url"].startswith("webcal://")
    feed = client.get(urlsplit(url).path)
    assert feed.status_code == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert _events(feed.content) == [
        (_at(16, 18), _at(17, 8), "夜間往診 当番（佐倉市・印西市）"),  # the night crosses midnight
        (_at(18, 18), _at(18, 23), "夜間往診 当番（佐倉市）（交代）"),  # the part of 乙's night 甲 covers
    ]  # not the night 乙 covers for 甲, nor June's (past 90 days)
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
    again = icalendar.Calendar.from_ical(client.get(urlsplit(url).path).content)
    assert len(set(uids)) == 2 and [str(e["UID"]) for e in again.walk("VEVENT")] == uids

    b_url = _issue(client, coordinator, roster["b"]).json()["url"]
    assert _events(client.get(urlsplit(b_url).path).content) == [
        (_at(17, 18), _at(18, 8), "夜間往診 当番（印西市）（交代）"),
        (_at(18, 23), _at(19, 8), "夜間往診 当番（佐倉市）"),
    ]
    text = feed.content.decode()
    with services.session_factory() as session:
        patients = session.scalars(select(Patient)).all()
    assert patients
    for patient in patients:
        assert patient.family_name not in text and patient.address not in text
    assert PHONE_A not in text and "+81" not in text


def test_a_stopped_or_replaced_link_answers_404_and_says_nothing(client, login, roster):
    coordinator = login("coordinator")
    first = urlsplit(_issue(client, coordinator, roster["a"]).json()["url"]).path
    second = urlsplit(_issue(client, coordinator, roster["a"]).json()["url"]).path
    assert client.get(first).status_code == 404  # a new link ends the old one
    assert client.get(second).status_code == 200
    stopped = client.delete(f"/api/v1/physicians/{roster['a']}/calendar-token", headers=coordinator)
    assert stopped.status_code == 204
    for path in (second, "/calendar/not-a-token.ics"):
        gone = client.get(path)
        assert gone.status_code == 404 and gone.content == b""


def test_a_physician_manages_their_own_link_and_reminders_and_nobody_elses(client, services, roster):
    add_user(services, "dr-kou", Role.substitute_physician, physician_id=roster["a"])
    token = client.post("/api/v1/auth/login", json={"username": "dr-kou", "password": "dr-kou-password-0123"})
    client.cookies.clear()
    own = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert _issue(client, own, roster["a"]).status_code == 201
    theirs = _issue(client, own, roster["b"])
    assert theirs.status_code == 404 and "physician_id" in theirs.json()["detail"]
    assert (
        client.patch(
            f"/api/v1/physicians/{roster['b']}/preferences", json={"shift_reminders": False}, headers=own
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/physicians/{roster['b']}/calendar-token", headers=own).status_code == 404
    off = client.patch(
        f"/api/v1/physicians/{roster['a']}/preferences", json={"shift_reminders": False}, headers=own
    )
    assert off.status_code == 200 and off.json()["shift_reminders"] is False
    mine = client.get(f"/api/v1/physicians/{roster['a']}/preferences", headers=own).json()
    assert (
        mine["shift_reminders"] is False
        and mine["calendar_feed_since"]
        and mine["reminder_lead_minutes"] == 180
    )
    bad = client.patch(
        f"/api/v1/physicians/{roster['a']}/preferences", json={"shift_reminders": "often"}, headers=own
    )
    assert bad.status_code == 422
    client.cookies.set("dispatch_session", own["Authorization"].removeprefix("Bearer "))
    page = client.get("/me")
    assert page.status_code == 200 and "カレンダー連携" in page.text and 'href="/me"' in page.text


def test_the_token_never_reaches_the_access_log(client, login, roster):
    path = urlsplit(_issue(client, login("coordinator"), roster["a"]).json()["url"]).path
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    with LiveServer(client.app) as server, json_log_lines(logging.INFO) as lines:
        assert httpx.get(server.url + path, timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/calendar/{token}", timeout=10).status_code == 404  # no route: unmatched
    access = [line for line in lines if "uvicorn.access" in line]
    assert any("/calendar/{token}.ics" in line for line in access), lines
    assert len(access) == 2, access
    service_lines = [line for line in lines if '"logger": "http' not in line]  # not this test's own client
    assert service_lines and not [line for line in service_lines if token in line]


def test_one_reminder_per_shift_once_and_none_once_turned_off(
    client, login, services, clock, roster, worker_env
):
    import workers.context
    from workers import jobs

    workers.context.install(services)

    def reminders(phone: str) -> list[SmsMessage]:
        with services.session_factory() as session:
            query = select(SmsMessage).where(
                SmsMessage.phone_e164 == phone, SmsMessage.purpose == "shift_reminder"
            )
            return list(session.scalars(query))

    clock.set(_at(16, 15) + timedelta(minutes=30))  # 2.5 h before 甲's night
    jobs.shift_reminders()
    jobs.shift_reminders()  # cron runs it again: nothing more
    run_observed_jobs(services.redis)
    [sent] = reminders(PHONE_A)
    assert sent.body.startswith("【当番】本日18:00から当番です（翌08:00まで・佐倉市・印西市）")
    assert sent.status not in ("pending", "held") and sent.case_id is None

    clock.set(_at(17, 16))  # 甲's night on the 17th is 乙's: 乙 is reminded, 甲 is not
    jobs.shift_reminders()
    assert len(reminders(PHONE_A)) == 1 and len(reminders(PHONE_B)) == 1

    assert answer_sms(services, sid="SM-calendar-stop", phone=PHONE_A, body="通知停止") == (
        "当番前のお知らせを停止しました。再開は「通知再開」と返信してください。"
    )
    clock.set(_at(18, 16))  # 甲 covers 乙's night from 18:00, but asked for no reminders
    jobs.shift_reminders()
    assert len(reminders(PHONE_A)) == 1
    coordinator = login("coordinator")
    on = client.patch(
        f"/api/v1/physicians/{roster['a']}/preferences", json={"shift_reminders": True}, headers=coordinator
    )
    assert on.status_code == 200
    jobs.shift_reminders()
    assert len(reminders(PHONE_A)) == 2
    workers.context.reset()


def test_the_substitute_issues_a_link_and_turns_reminders_off_on_their_page(client, services, demo_logins):
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import assert_accessible, require_chromium, screenshot

    executable = require_chromium()
    password = next(d.password for d in demo_logins if d.username == "substitute")
    with LiveServer(client.app) as server, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        page = chromium.new_page(base_url=server.url)
        page.goto("/me")
        page.fill('input[name="username"]', "substitute")
        page.fill('input[name="password"]', password)
        page.press('input[name="password"]', "Enter")
        expect(page).to_have_url(f"{server.url}/me")
        expect(page.locator("#me-calendar-status")).to_have_text("リンクはまだ発行されていません")
        expect(page.locator("#me-reminders-label")).to_have_text("当番の3時間前にSMSでお知らせする")
        page.click("#me-issue")
        url = page.locator("#me-link-url")
        expect(url).to_have_value(re.compile(r"^http://testserver/calendar/[\w-]{40,}\.ics$"))
        feed = httpx.get(server.url + urlsplit(url.input_value()).path, timeout=10)
        assert feed.status_code == 200 and icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
        expect(page.locator("#me-revoke")).to_be_visible()
        page.uncheck("#me-reminders")
        expect(page.locator("#toast")).to_have_text("お知らせをオフにしました")
        assert_accessible(page, "me")
        screenshot(page, "me")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#me-revoke")
        expect(page.locator("#me-calendar-status")).to_have_text("リンクはまだ発行されていません")
        assert httpx.get(feed.url, timeout=10).status_code == 404
        chromium.close()
    with services.session_factory() as session:
        physician = session.scalar(select(Physician).where(Physician.shift_reminders.is_(False)))
        assert physician is not None and physician.name == "代診 佐倉"
