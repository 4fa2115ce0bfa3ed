"""Coverage gaps: the towns a roster leaves without enough physicians on call, and the afternoon's alert."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import delete, select, update

import workers.context
from dispatch.db import unit_of_work
from dispatch.programme.models import Municipality, Programme
from dispatch.roster import service as roster
from dispatch.roster.models import Physician, Shift, ShiftCover, shift_coverage
from dispatch.sms.models import SmsMessage
from tests.browser import assert_accessible, require_chromium, screenshot
from tests.test_console_browser import log_in

TOKYO = ZoneInfo("Asia/Tokyo")
INZAI = "12231"  # 印西市
COORDINATOR_PHONE = "+819011110900"  # the demo programme's


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in January 2025 (the 20th to the 22nd are plain weekdays: 18:00–08:00)."""
    return datetime(2025, 1, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def roster_of(services, demo_logins):
    """An empty roster, and a helper that puts a named physician on call for some towns (all by default)."""
    with unit_of_work(services.session_factory) as session:
        session.execute(delete(ShiftCover))
        session.execute(delete(shift_coverage))
        session.execute(delete(Shift))
        towns = {code: id_ for code, id_ in session.execute(select(Municipality.code, Municipality.id))}
        people = {name: id_ for name, id_ in session.execute(select(Physician.name, Physician.id))}

    def shift(name: str, starts: datetime, ends: datetime, codes=None, *, cover: tuple | None = None) -> int:
        codes = codes or list(towns)
        with unit_of_work(services.session_factory) as session:
            made = roster.add_shift(session, people[name], starts, ends, [towns[c] for c in codes])
            if cover:
                who, cover_from, cover_until = cover
                roster.add_cover(session, made.id, people[who], cover_from, cover_until, None)
            return made.id

    return shift


def _everyone_but_inzai(roster_of, day: int) -> None:
    roster_of("代診 成田", at(day, 18), at(day + 1, 8), [c for c in _codes() if c != INZAI])


def _codes() -> list[str]:
    return ["12211", "12212", "12228", "12230", "12231", "12232", "12233", "12322", "12329"]


def _gaps(client, headers, first: str, last: str) -> list[dict]:
    response = client.get("/api/v1/roster/gaps", params={"from": first, "to": last}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_gaps_over_a_few_nights_shifts_ending_early_and_a_cover_filling_one(client, login, services, roster_of):
    for day in (20, 21, 22):
        _everyone_but_inzai(roster_of, day)
    roster_of("代診 印西", at(20, 18), at(21, 2), [INZAI])  # leaves 02:00–08:00 uncovered
    # 代診 白井 is on the roster but has left; 代診 印西 covers the part of the shift from 22:00.
    roster_of("代診 白井", at(21, 18), at(22, 8), [INZAI], cover=("代診 印西", at(21, 22), at(22, 8)))
    with unit_of_work(services.session_factory) as session:
        session.execute(update(Physician).where(Physician.name == "代診 白井").values(active=False))
    roster_of("代診 印西", at(22, 18), at(23, 8), [INZAI])

    found = _gaps(client, login("coordinator"), "2025-01-20", "2025-01-22")
    assert [(g["municipality"], g["start"], g["end"], g["on_call"], g["night"]) for g in found] == [
        ("印西市", "2025-01-21T02:00:00+09:00", "2025-01-21T08:00:00+09:00", 0, "2025-01-20"),
        ("印西市", "2025-01-21T18:00:00+09:00", "2025-01-21T22:00:00+09:00", 0, "2025-01-21"),
    ]
    assert found[0]["municipality_code"] == INZAI and found[0]["minimum"] == 1

    # The weekend before: nobody on call from Saturday 12:00 through Sunday to Monday's 08:00, one interval.
    weekend = _gaps(client, login("operator"), "2025-01-18", "2025-01-19")
    assert len(weekend) == 9 and {(g["start"], g["end"]) for g in weekend} == {
        ("2025-01-18T12:00:00+09:00", "2025-01-20T08:00:00+09:00")
    }


def test_a_minimum_of_two_reports_a_town_with_one_on_call_and_a_cover_by_the_same_physician(
    client, login, services, roster_of
):
    with unit_of_work(services.session_factory) as session:
        session.execute(update(Programme).values(min_on_call=2))
    _everyone_but_inzai(roster_of, 20)
    roster_of("代診 成田", at(20, 18), at(21, 8), [INZAI])
    # 代診 佐倉 is the second one but in 印西市, until 代診 成田 covers them at 04:00: one person, not two.
    roster_of(
        "代診 佐倉",
        at(20, 18),
        at(21, 8),
        [c for c in _codes() if c != INZAI],
        cover=("代診 成田", at(21, 4), at(21, 8)),
    )
    found = _gaps(client, login("coordinator"), "2025-01-20", "2025-01-20")
    inzai = [g for g in found if g["municipality_code"] == INZAI]
    assert [(g["start"], g["end"], g["on_call"], g["minimum"]) for g in inzai] == [
        ("2025-01-20T18:00:00+09:00", "2025-01-21T08:00:00+09:00", 1, 2)
    ]
    others = [g for g in found if g["municipality_code"] != INZAI]
    assert len(others) == 8 and {(g["start"], g["end"], g["on_call"]) for g in others} == {
        ("2025-01-21T04:00:00+09:00", "2025-01-21T08:00:00+09:00", 1)
    }


def _gap_sms(services) -> list[str]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(SmsMessage.body).where(
                    SmsMessage.purpose == "coverage_gap", SmsMessage.phone_e164 == COORDINATOR_PHONE
                )
            )
        )


def test_the_afternoon_job_alerts_tonights_gap_once_and_the_board_shows_it_until_filled(
    client, login, services, clock, roster_of, monkeypatch
):
    from workers.jobs import coverage_gaps_tonight

    monkeypatch.setattr(workers.context, "_services", services)
    for day in (20, 21):
        _everyone_but_inzai(roster_of, day)
    roster_of("代診 印西", at(20, 18), at(21, 2), [INZAI])
    roster_of("代診 印西", at(21, 18), at(22, 8), [INZAI])

    clock.set(at(20, 14, 59))
    assert coverage_gaps_tonight() == {"alerted": []} and _gap_sms(services) == []  # not yet the afternoon
    clock.set(at(20, 15))
    assert coverage_gaps_tonight() == {"alerted": [INZAI]}
    assert coverage_gaps_tonight() == {"alerted": []}  # run twice: one SMS
    assert _gap_sms(services) == ["【当番の空き】今夜 印西市 02:00–08:00 当番不在"]
    operator = login("operator")  # logged in on the test's clock, days after the demo's
    board = client.get("/api/v1/roster/gap-alerts", headers=operator).json()
    assert [(a["night"], [(g["municipality"], g["start"]) for g in a["gaps"]]) for a in board] == [
        ("2025-01-20", [("印西市", "2025-01-21T02:00:00+09:00")])
    ]

    roster_of("代診 白井", at(21, 2), at(21, 8), [INZAI])  # the coordinator fills it
    assert client.get("/api/v1/roster/gap-alerts", headers=operator).json() == []

    clock.set(at(21, 15))  # the next night is covered: no SMS
    assert coverage_gaps_tonight() == {"alerted": []}
    assert len(_gap_sms(services)) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"from": "2025-01-20", "to": "20.1.2025"}, "to"),
        ({"from": "2025-01-20", "to": "2025-01-19"}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"from": "2025-01-01", "to": "2025-03-05"}, "to"),  # 64 nights
    ],
)
def test_bad_or_too_long_ranges_are_refused_naming_the_field(client, login, params, field):
    response = client.get("/api/v1/roster/gaps", params=params, headers=login("coordinator"))
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:")


def test_who_may_read_the_gaps_and_open_the_page(client, login):
    for username, status in (("operator", 200), ("admin", 200), ("substitute", 403), ("clinic", 403)):
        assert client.get("/api/v1/roster/gaps", headers=login(username)).status_code == status, username
    assert client.get("/api/v1/roster/gap-alerts", headers=login("consult")).status_code == 200
    assert client.get("/api/v1/roster/gap-alerts", headers=login("substitute")).status_code == 403
    client.cookies.set("dispatch_session", login("coordinator")["Authorization"].removeprefix("Bearer "))
    page = client.get("/gaps")
    assert page.status_code == 200 and "当番の空き（今後14夜）" in page.text and 'href="/gaps"' in page.text
    client.cookies.set("dispatch_session", login("operator")["Authorization"].removeprefix("Bearer "))
    assert client.get("/gaps", follow_redirects=False).status_code == 403


@pytest.fixture
def browser() -> Browser:
    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


def test_the_coordinator_sees_the_coming_nights_and_the_board_tonights_alert(
    live_server, browser, services, clock, roster_of, demo_logins, monkeypatch
):
    from workers.jobs import coverage_gaps_tonight

    monkeypatch.setattr(workers.context, "_services", services)
    for day in (20, 21):
        _everyone_but_inzai(roster_of, day)
    roster_of("代診 印西", at(20, 18), at(21, 2), [INZAI])
    clock.set(at(20, 15))
    coverage_gaps_tonight()
    words = {d.username: d.password for d in demo_logins}

    page = log_in(browser, live_server.url, "coordinator", words["coordinator"], "/gaps")
    night = page.locator('[data-night="2025-01-20"]')
    expect(night.locator("h2")).to_have_text("1月20日(月)の夜")
    expect(night.locator("tbody tr")).to_have_text("印西市02:00–08:00当番不在")
    expect(page.locator('[data-night="2025-01-21"] tbody tr')).to_have_count(1)  # nobody at all for 印西市
    expect(page.locator("#coverage-gap")).to_be_hidden()  # the banner is the board's and dispatch's
    screenshot(page, "gaps_next_nights")
    assert_accessible(page, "gaps_next_nights")

    board = log_in(browser, live_server.url, "operator", words["operator"], "/board")
    expect(board.locator("#coverage-gap")).to_have_text(
        "今夜、当番の空きがあります: 印西市 02:00–08:00 当番不在"
    )
