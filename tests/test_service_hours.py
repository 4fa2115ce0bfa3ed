"""Night and holiday hours (DESIGN.md §2) at their edges, in Asia/Tokyo."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch.programme.service_hours import in_service_hours
from dispatch.seed.reference import load_programme_data

TOKYO = ZoneInfo("Asia/Tokyo")
RULE = {
    k: v
    for k, v in load_programme_data("inba")["service_hours_rules"][0].items()
    if k not in {"version", "effective_from"}
}


@pytest.mark.parametrize(
    ("local", "expected", "why"),
    [
        ("2025-01-15 17:59", False, "weekday afternoon"),
        ("2025-01-15 18:00", True, "weekday evening starts at 18:00"),
        ("2025-01-16 07:59", True, "the night runs until 08:00"),
        ("2025-01-16 08:00", False, "weekday morning"),
        ("2025-01-18 11:59", False, "Saturday morning"),
        ("2025-01-18 12:00", True, "Saturday from noon"),
        ("2025-01-19 10:00", True, "Sunday all day"),
        ("2025-01-13 14:00", True, "成人の日, a national holiday"),
        ("2024-11-04 14:00", True, "振替休日 for 文化の日 on a Sunday"),
        ("2024-11-05 14:00", False, "the Tuesday after"),
        ("2024-12-27 14:00", False, "Friday before the year-end break"),
        ("2024-12-29 14:00", True, "29 Dec: year-end break"),
        ("2025-01-03 14:00", True, "3 Jan: last day of the break"),
        ("2025-01-06 14:00", False, "6 Jan: an ordinary Monday"),
        ("2026-01-05 14:00", False, "5 Jan: an ordinary Monday"),
    ],
)
def test_service_hours(local, expected, why):
    instant = datetime.fromisoformat(local).replace(tzinfo=TOKYO)
    assert in_service_hours(instant, RULE, "Asia/Tokyo") is expected, why


def test_an_instant_is_judged_in_tokyo_whatever_its_offset():
    # 08:59 UTC is 17:59 in Tokyo, 09:00 UTC is 18:00.
    assert not in_service_hours(datetime.fromisoformat("2025-01-15T08:59:00+00:00"), RULE, "Asia/Tokyo")
    assert in_service_hours(datetime.fromisoformat("2025-01-15T09:00:00+00:00"), RULE, "Asia/Tokyo")


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        in_service_hours(datetime(2025, 1, 15, 18, 0), RULE, "Asia/Tokyo")
