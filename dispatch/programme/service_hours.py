"""Whether an instant falls in the programme's night/holiday hours, by a versioned rule."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import jpholiday

SATURDAY, SUNDAY = 5, 6


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _in_year_end(day: date, start: str, until: str) -> bool:
    """Whether `day` is in the year-end break, e.g. 12-29 .. 01-03 (wrapping the new year)."""
    key = (day.month, day.day)
    first = tuple(int(p) for p in start.split("-"))
    last = tuple(int(p) for p in until.split("-"))
    if first <= last:
        return first <= key <= last
    return key >= first or key <= last


def is_day_off(day: date, rule: dict[str, Any]) -> bool:
    """Sundays, national and substitute holidays, and the year-end break are covered all day."""
    if rule.get("sunday_all_day", True) and day.weekday() == SUNDAY:
        return True
    if rule.get("national_holidays", True) and jpholiday.is_holiday(day):
        return True
    start, until = rule.get("year_end_from"), rule.get("year_end_until")
    return bool(start and until and _in_year_end(day, start, until))


def in_service_hours(instant: datetime, rule: dict[str, Any], timezone: str) -> bool:
    """Apply a service-hours rule (its `definition`) to an instant, in the programme's time zone."""
    if instant.tzinfo is None:
        raise ValueError("in_service_hours needs a timezone-aware instant")
    local = instant.astimezone(ZoneInfo(timezone))
    day, clock = local.date(), local.time()
    if is_day_off(day, rule):
        return True
    # Before the morning hand-back the previous night is still running, whatever day it was.
    if clock < _hhmm(rule["weekday_until"]):
        return True
    if day.weekday() == SATURDAY and rule.get("saturday_from") and clock >= _hhmm(rule["saturday_from"]):
        return True
    return clock >= _hhmm(rule["weekday_from"])
