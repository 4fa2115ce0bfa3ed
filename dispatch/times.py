"""Times that come in from outside: they must carry an offset, and still be a date in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

EXAMPLE = "2025-01-15T23:05:00+09:00"


def time_problem(value: datetime | None) -> str | None:
    """What is wrong with an incoming time, in words, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        return f"give a time zone offset, e.g. {EXAMPLE}"
    try:
        value.astimezone(UTC)
    except OverflowError:
        return "is outside the calendar: give a time between the years 1 and 9999 in UTC"
    return None


def check_time(field: str, value: datetime | None) -> datetime | None:
    """Raise ValueError('field: problem') for a time that cannot be used; return it otherwise."""
    problem = time_problem(value)
    if problem:
        raise ValueError(f"{field}: {problem}")
    return value
