"""The roster through the API: who is on call, shifts across midnight, month ends and holidays, covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.roster.models import Physician, PhysicianRole

TOKYO = ZoneInfo("Asia/Tokyo")
ALL_DAY = {"代診 成田", "代診 佐倉"}
NIGHT_ONLY = {"代診 印西", "代診 八街", "代診 白井"}


def jst(day: str, hm: str = "00:00", second: int = 0) -> datetime:
    """jst('2025-01-31', '23:59') -> that instant in Tokyo."""
    return datetime.fromisoformat(f"{day}T{hm}:{second:02d}").replace(tzinfo=TOKYO)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Roster:
    client: object
    coordinator: dict[str, str]
    operator: dict[str, str]
    physicians: dict[str, int]  # name -> id
    consulting_id: int
    attending_id: int
    towns: dict[str, int]  # municipality name -> id

    def on_call(self, at: datetime | None = None) -> list[dict]:
        params = {"at": at.isoformat()} if at else {}
        response = self.client.get("/api/v1/roster/on-call", params=params, headers=self.coordinator)
        assert response.status_code == 200, response.text
        return response.json()

    def on_call_names(self, at: datetime | None = None) -> set[str]:
        return {slot["physician_name"] for slot in self.on_call(at)}

    def shift_ids_at(self, at: datetime) -> set[int]:
        response = self.client.get(
            "/api/v1/roster/shifts", params={"at": at.isoformat()}, headers=self.coordinator
        )
        assert response.status_code == 200, response.text
        return {shift["id"] for shift in response.json()}

    def post_shift(self, physician: str | int, starts: object, ends: object, towns: list, headers=None):
        body = {
            "physician_id": self.physicians[physician] if isinstance(physician, str) else physician,
            "starts_at": starts.isoformat() if isinstance(starts, datetime) else starts,
            "ends_at": ends.isoformat() if isinstance(ends, datetime) else ends,
            "coverage": [self.towns[t] if isinstance(t, str) else t for t in towns],
        }
        return self.client.post("/api/v1/roster/shifts", json=body, headers=headers or self.coordinator)

    def add_shift(self, physician: str, starts: datetime, ends: datetime, towns: list[str]) -> dict:
        response = self.post_shift(physician, starts, ends, towns)
        assert response.status_code == 201, response.text
        return response.json()

    def post_cover(self, shift_id: int, physician: str | int, starts=None, ends=None, headers=None, **extra):
        body = {
            "covering_physician_id": self.physicians[physician] if isinstance(physician, str) else physician
        }
        if starts is not None:
            body["starts_at"] = starts.isoformat() if isinstance(starts, datetime) else starts
        if ends is not None:
            body["ends_at"] = ends.isoformat() if isinstance(ends, datetime) else ends
        body.update(extra)
        return self.client.post(
            f"/api/v1/roster/shifts/{shift_id}/covers", json=body, headers=headers or self.coordinator
        )


@pytest.fixture
def roster(client, login, services) -> Roster:
    with services.session_factory() as session:
        physicians = list(session.scalars(select(Physician)))
    coordinator = login("coordinator")
    programme = client.get("/api/v1/programme", headers=coordinator).json()
    return Roster(
        client=client,
        coordinator=coordinator,
        operator=login("operator"),
        physicians={p.name: p.id for p in physicians},
        consulting_id=next(p.id for p in physicians if p.role is PhysicianRole.consulting),
        attending_id=next(p.id for p in physicians if p.role is PhysicianRole.attending),
        towns={m["name"]: m["id"] for m in programme["municipalities"]},
    )


# --- who is on call -------------------------------------------------------------------------------------------


def test_tonight_the_five_substitutes_are_on_call_and_at_noon_only_the_all_day_two(roster):
    tonight = roster.on_call()  # the demo clock: Wednesday 2025-01-15 23:00
    assert {slot["physician_name"] for slot in tonight} == ALL_DAY | NIGHT_ONLY
    assert len(tonight) == 5
    assert all(slot["covering_for"] is None for slot in tonight)
    assert all(instant(slot["until"]) == jst("2025-01-16", "08:00") for slot in tonight)
    assert roster.on_call_names(jst("2025-01-15", "23:00")) == ALL_DAY | NIGHT_ONLY

    noon = roster.on_call(jst("2025-01-16", "12:00"))
    assert {slot["physician_name"] for slot in noon} == ALL_DAY
    assert all(instant(slot["until"]) == jst("2025-01-17", "08:00") for slot in noon)


def test_on_call_shows_each_physicians_municipalities(roster):
    slots = {slot["physician_name"]: slot for slot in roster.on_call()}
    shiroi = {roster.towns[name] for name in ("白井市", "印西市", "四街道市")}
    assert set(slots["代診 白井"]["municipality_ids"]) == shiroi
    assert roster.physicians["代診 白井"] == slots["代診 白井"]["physician_id"]


def test_the_night_ends_at_eight_sharp(roster):
    assert roster.on_call_names(jst("2025-01-16", "07:59", 59)) == ALL_DAY | NIGHT_ONLY
    assert roster.on_call_names(jst("2025-01-16", "08:00")) == ALL_DAY
    assert roster.on_call_names(jst("2025-01-16", "17:59", 59)) == ALL_DAY
    assert roster.on_call_names(jst("2025-01-16", "18:00")) == ALL_DAY | NIGHT_ONLY


def test_a_time_without_an_offset_is_refused_in_plain_words(roster):
    for path in ("/api/v1/roster/on-call", "/api/v1/roster/shifts"):
        response = roster.client.get(path, params={"at": "2025-01-16T12:00:00"}, headers=roster.coordinator)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("at: give a time zone offset")


# --- shifts across midnight, month ends and holidays ----------------------------------------------------------


def test_a_shift_across_a_month_end_is_found_either_side_of_midnight_and_not_at_its_end(roster):
    created = roster.add_shift(
        "代診 印西", jst("2025-01-31", "18:00"), jst("2025-02-01", "08:00"), ["印西市", "栄町"]
    )
    assert created["physician_name"] == "代診 印西"
    assert created["physician_id"] == roster.physicians["代診 印西"]
    assert instant(created["starts_at"]) == jst("2025-01-31", "18:00")
    assert instant(created["ends_at"]) == jst("2025-02-01", "08:00")
    assert sorted(created["coverage"]) == sorted(["印西市", "栄町"])
    shift = created["id"]

    assert shift not in roster.shift_ids_at(jst("2025-01-31", "17:59", 59))
    assert shift in roster.shift_ids_at(jst("2025-01-31", "18:00"))  # start inclusive
    assert shift in roster.shift_ids_at(jst("2025-01-31", "23:59"))
    assert shift in roster.shift_ids_at(jst("2025-02-01", "00:01"))
    assert shift in roster.shift_ids_at(datetime.fromisoformat("2025-01-31T15:01:00+00:00"))  # 00:01 JST
    assert shift in roster.shift_ids_at(jst("2025-02-01", "07:59", 59))
    assert shift not in roster.shift_ids_at(jst("2025-02-01", "08:00"))  # end exclusive

    # Nobody else is rostered then: the new shift is who the service would call.
    after_midnight = roster.on_call(jst("2025-02-01", "00:01"))
    assert [(s["physician_name"], s["shift_id"]) for s in after_midnight] == [("代診 印西", shift)]
    assert set(after_midnight[0]["municipality_ids"]) == {roster.towns["印西市"], roster.towns["栄町"]}
    assert roster.on_call(jst("2025-02-01", "08:00")) == []


def test_a_shift_across_midnight_inside_the_month(roster):
    shift = roster.add_shift("代診 八街", jst("2025-01-20", "22:00"), jst("2025-01-21", "02:00"), ["八街市"])[
        "id"
    ]
    assert shift in roster.shift_ids_at(jst("2025-01-20", "23:59"))
    assert shift in roster.shift_ids_at(jst("2025-01-21", "00:01"))
    assert shift not in roster.shift_ids_at(jst("2025-01-21", "02:00"))
    assert shift not in roster.shift_ids_at(jst("2025-01-20", "21:59"))


def test_shifts_over_a_national_holiday(roster):
    # 2025-02-11 (Tue) is 建国記念の日: an all-day holiday shift, and a night-before-to-morning-after one.
    holiday = roster.add_shift("代診 白井", jst("2025-02-11", "08:00"), jst("2025-02-12", "08:00"), ["白井市"])
    long = roster.add_shift("代診 佐倉", jst("2025-02-10", "18:00"), jst("2025-02-12", "08:00"), ["佐倉市"])
    both = {holiday["id"], long["id"]}

    assert roster.shift_ids_at(jst("2025-02-11", "12:00")) == both
    assert roster.on_call_names(jst("2025-02-11", "12:00")) == {"代診 白井", "代診 佐倉"}
    assert roster.shift_ids_at(jst("2025-02-11", "23:59")) == both
    assert roster.shift_ids_at(jst("2025-02-12", "00:01")) == both
    assert roster.shift_ids_at(jst("2025-02-11", "07:59")) == {long["id"]}
    assert roster.shift_ids_at(jst("2025-02-12", "08:00")) == set()

    window = roster.client.get(
        "/api/v1/roster/shifts",
        params={"at": jst("2025-02-01").isoformat(), "until": jst("2025-03-01").isoformat()},
        headers=roster.coordinator,
    )
    assert window.status_code == 200
    assert {s["id"] for s in window.json()} == both


def test_a_shift_of_exactly_48_hours_is_accepted(roster):
    response = roster.post_shift(
        "代診 成田", jst("2025-02-14", "08:00"), jst("2025-02-16", "08:00"), ["成田市"]
    )
    assert response.status_code == 201, response.text


# --- shifts refused, in plain words ---------------------------------------------------------------------------


def _refused(response, field: str, words: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: "), detail
    assert words in detail, detail


def test_impossible_windows_are_refused(roster):
    starts = jst("2025-02-20", "18:00")
    post = roster.post_shift
    _refused(
        post("代診 成田", starts, starts - timedelta(hours=1), ["成田市"]), "ends_at", "must be after starts_at"
    )
    _refused(post("代診 成田", starts, starts, ["成田市"]), "ends_at", "must be after starts_at")
    _refused(
        post("代診 成田", starts, starts + timedelta(hours=48, minutes=1), ["成田市"]),
        "ends_at",
        "at most 48 hours",
    )
    _refused(
        post("代診 成田", "2025-02-20T18:00:00", "2025-02-21T08:00:00", ["成田市"]), "starts_at", "time zone"
    )
    _refused(post("代診 成田", starts, "2025-02-21T08:00:00", ["成田市"]), "starts_at", "time zone")
    assert roster.shift_ids_at(starts + timedelta(hours=1)) == set()


def test_times_that_are_no_real_instant_are_refused_not_a_server_error(roster):
    # The first and last representable days, with an offset that pushes them past the calendar in UTC.
    too_early, too_late = "0001-01-01T00:00:00+09:00", "9999-12-31T23:00:00-09:00"
    _refused(
        roster.post_shift("代診 成田", too_early, "0001-01-01T12:00:00+09:00", ["成田市"]), "starts_at", "years"
    )
    _refused(
        roster.post_shift("代診 成田", "9999-12-31T20:00:00+00:00", too_late, ["成田市"]), "starts_at", "years"
    )
    for path in ("/api/v1/roster/on-call", "/api/v1/roster/shifts"):
        for at in (too_early, too_late):
            response = roster.client.get(path, params={"at": at}, headers=roster.coordinator)
            _refused(response, "at", "years")
    shift = roster.on_call()[0]["shift_id"]
    _refused(roster.post_cover(shift, "代診 白井", ends=too_late), "starts_at", "years")


def test_unknown_municipalities_are_refused(roster):
    starts, ends = jst("2025-02-20", "18:00"), jst("2025-02-21", "08:00")
    _refused(roster.post_shift("代診 成田", starts, ends, [999_999]), "coverage", "known municipality ids")
    _refused(
        roster.post_shift("代診 成田", starts, ends, ["成田市", 999_999]), "coverage", "known municipality"
    )
    empty = roster.post_shift("代診 成田", starts, ends, [])
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["coverage"]
    for impossible in (0, 2**31, 2**63):  # not an id at all: refused before the database is asked
        response = roster.post_shift("代診 成田", starts, ends, ["成田市", impossible])
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["coverage.1"]
    assert roster.shift_ids_at(starts + timedelta(hours=1)) == set()


def test_only_substitute_physicians_can_be_rostered(roster):
    starts, ends = jst("2025-02-20", "18:00"), jst("2025-02-21", "08:00")
    for physician_id in (roster.consulting_id, roster.attending_id, 999_999):
        _refused(
            roster.post_shift(physician_id, starts, ends, ["成田市"]),
            "physician_id",
            f"no active substitute physician {physician_id}",
        )
    assert roster.shift_ids_at(starts + timedelta(hours=1)) == set()
    assert roster.on_call(starts + timedelta(hours=1)) == []


def test_an_operator_may_read_the_roster_but_not_change_it(roster):
    starts, ends = jst("2025-02-20", "18:00"), jst("2025-02-21", "08:00")
    assert roster.post_shift("代診 成田", starts, ends, ["成田市"], headers=roster.operator).status_code == 403
    tonight = roster.client.get("/api/v1/roster/on-call", headers=roster.operator)
    assert tonight.status_code == 200 and len(tonight.json()) == 5
    shift = roster.on_call()[0]["shift_id"]
    assert roster.post_cover(shift, "代診 白井", headers=roster.operator).status_code == 403
    assert roster.shift_ids_at(starts + timedelta(hours=1)) == set()
    assert all(slot["covering_for"] is None for slot in roster.on_call())


# --- covers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def inzai_month_end(roster) -> int:
    """代診 印西 on call 2025-01-31 18:00 to 2025-02-01 08:00, alone on the roster then."""
    return roster.add_shift(
        "代診 印西", jst("2025-01-31", "18:00"), jst("2025-02-01", "08:00"), ["印西市", "白井市"]
    )["id"]


def test_a_cover_puts_another_physician_on_call_for_part_of_a_shift(roster, inzai_month_end):
    shift = inzai_month_end
    inzai, shiroi = roster.physicians["代診 印西"], roster.physicians["代診 白井"]
    response = roster.post_cover(
        shift, "代診 白井", jst("2025-01-31", "22:00"), jst("2025-02-01", "02:00"), note="急用"
    )
    assert response.status_code == 201, response.text
    cover = response.json()
    assert cover["shift_id"] == shift and cover["covering_physician_id"] == shiroi and cover["note"] == "急用"
    assert instant(cover["starts_at"]) == jst("2025-01-31", "22:00")
    assert instant(cover["ends_at"]) == jst("2025-02-01", "02:00")

    towns = {roster.towns["印西市"], roster.towns["白井市"]}
    for at in (jst("2025-01-31", "22:00"), jst("2025-01-31", "23:59"), jst("2025-02-01", "01:59", 59)):
        [slot] = roster.on_call(at)
        assert slot["physician_name"] == "代診 白井" and slot["physician_id"] == shiroi
        assert slot["covering_for"] == inzai
        assert slot["shift_id"] == shift
        assert instant(slot["until"]) == jst("2025-02-01", "02:00")  # the cover's end, not the shift's
        assert set(slot["municipality_ids"]) == towns  # the shift's area goes with it

    for at, until in ((jst("2025-01-31", "21:59", 59), "08:00"), (jst("2025-02-01", "02:00"), "08:00")):
        [slot] = roster.on_call(at)
        assert slot["physician_name"] == "代診 印西" and slot["physician_id"] == inzai
        assert slot["covering_for"] is None
        assert instant(slot["until"]) == jst("2025-02-01", until)

    # The roster itself still says whose shift it is.
    listed = roster.client.get(
        "/api/v1/roster/shifts",
        params={"at": jst("2025-01-31", "23:00").isoformat()},
        headers=roster.coordinator,
    ).json()
    assert [(s["id"], s["physician_name"]) for s in listed] == [(shift, "代診 印西")]


def test_a_cover_without_times_takes_the_whole_shift(roster, inzai_month_end):
    response = roster.post_cover(inzai_month_end, "代診 八街")
    assert response.status_code == 201, response.text
    assert instant(response.json()["starts_at"]) == jst("2025-01-31", "18:00")
    assert instant(response.json()["ends_at"]) == jst("2025-02-01", "08:00")
    for at in (jst("2025-01-31", "18:00"), jst("2025-02-01", "07:59")):
        [slot] = roster.on_call(at)
        assert slot["physician_name"] == "代診 八街"
        assert slot["covering_for"] == roster.physicians["代診 印西"]
    assert roster.post_cover(inzai_month_end, "代診 白井").status_code == 422  # already covered


def test_an_overlapping_cover_is_refused_and_an_adjoining_one_accepted(roster, inzai_month_end):
    shift = inzai_month_end
    first = roster.post_cover(shift, "代診 白井", jst("2025-01-31", "22:00"), jst("2025-02-01", "02:00"))
    assert first.status_code == 201, first.text

    for starts, ends in (
        (jst("2025-02-01", "01:00"), jst("2025-02-01", "03:00")),
        (jst("2025-01-31", "20:00"), jst("2025-01-31", "22:01")),
        (jst("2025-01-31", "23:00"), jst("2025-02-01", "00:00")),
        (jst("2025-01-31", "22:00"), jst("2025-02-01", "02:00")),
    ):
        _refused(roster.post_cover(shift, "代診 八街", starts, ends), "starts_at", "already covered")

    adjoining = roster.post_cover(shift, "代診 八街", jst("2025-02-01", "02:00"), jst("2025-02-01", "04:00"))
    assert adjoining.status_code == 201, adjoining.text
    assert [s["physician_name"] for s in roster.on_call(jst("2025-02-01", "01:59"))] == ["代診 白井"]
    assert [s["physician_name"] for s in roster.on_call(jst("2025-02-01", "02:00"))] == ["代診 八街"]
    assert [s["physician_name"] for s in roster.on_call(jst("2025-02-01", "04:00"))] == ["代診 印西"]


def test_a_cover_must_lie_inside_its_shift(roster, inzai_month_end):
    shift = inzai_month_end
    for starts, ends in (
        (jst("2025-02-01", "07:00"), jst("2025-02-01", "09:00")),
        (jst("2025-01-31", "17:00"), jst("2025-01-31", "19:00")),
        (jst("2025-02-01", "09:00"), jst("2025-02-01", "10:00")),
    ):
        _refused(roster.post_cover(shift, "代診 白井", starts, ends), "starts_at", "inside its shift")
    [slot] = roster.on_call(jst("2025-02-01", "07:30"))
    assert slot["physician_name"] == "代診 印西"


def test_covers_that_cannot_be_are_refused(roster, inzai_month_end):
    shift = inzai_month_end
    starts, ends = jst("2025-01-31", "22:00"), jst("2025-02-01", "02:00")
    _refused(
        roster.post_cover(shift, "代診 印西", starts, ends), "covering_physician_id", "already on this shift"
    )
    for physician_id in (roster.consulting_id, 999_999):
        _refused(
            roster.post_cover(shift, physician_id, starts, ends),
            "covering_physician_id",
            "no active substitute",
        )
    _refused(roster.post_cover(shift, "代診 白井", ends, starts), "ends_at", "must be after starts_at")
    _refused(roster.post_cover(shift, "代診 白井", "2025-01-31T22:00:00", ends), "starts_at", "time zone")
    missing = roster.post_cover(999_999, "代診 白井", starts, ends)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "shift_id: no shift 999999"
    [slot] = roster.on_call(jst("2025-01-31", "23:00"))
    assert slot["physician_name"] == "代診 印西" and slot["covering_for"] is None
