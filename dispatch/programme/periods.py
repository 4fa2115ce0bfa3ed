"""Fiscal years, months and the Reiwa era, all in the programme's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

REIWA_YEAR_ZERO = 2018  # 令和元年 = 2019


def local_midnight_utc(day: date, tz: str) -> datetime:
    """00:00 of `day` in `tz`, as a UTC instant."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def fiscal_year_days(year: int) -> tuple[date, date]:
    """First and last day: FY2024 = 2024-04-01 .. 2025-03-31."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def fiscal_year_bounds(year: int, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the fiscal year in UTC, cut at local midnight."""
    return local_midnight_utc(date(year, 4, 1), tz), local_midnight_utc(date(year + 1, 4, 1), tz)


def fiscal_year_of(day: date) -> int:
    """The fiscal year a day belongs to: 2025-03-31 -> 2024, 2025-04-01 -> 2025."""
    return day.year if day.month >= 4 else day.year - 1


def month_start(text: str) -> date:
    """'2024-04' -> 2024-04-01, with a clear error for anything else."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2024-04") from None


# The months a request may name (a roster, a report, a submission): the programmes' years with room either
# side; far outside them a month's bounds overflow the calendar.
FIRST_MONTH, LAST_MONTH = date(2000, 1, 1), date(2101, 12, 1)


def asked_month(text: str) -> date:
    """`month_start` of a month a request names, refused (ValueError) outside FIRST_MONTH..LAST_MONTH."""
    first = month_start(text)
    if not FIRST_MONTH <= first <= LAST_MONTH:
        raise ValueError(f"{text!r}: give a month from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m}")
    return first


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, inclusive."""
    result, current = [], date(first.year, first.month, 1)
    while current <= last:
        result.append(current)
        current = next_month(current)
    return result


def reiwa(month: date) -> str:
    """2024-04 -> 'R6.4' (the seed's 契約時期); earlier months in their own era (H31.4, S63.1)."""
    if month >= date(2019, 5, 1):
        return f"R{month.year - REIWA_YEAR_ZERO}.{month.month}"
    if month >= date(1989, 1, 1):
        return f"H{month.year - 1988}.{month.month}"
    if month >= date(1926, 12, 1):
        return f"S{month.year - 1925}.{month.month}"
    return f"{month.year}.{month.month}"


def fiscal_year_label(year: int) -> str:
    """2024 -> 令和6年度; the era's first year is 元年 (2019 -> 令和元年度); earlier years are 平成."""
    if year <= REIWA_YEAR_ZERO:
        return f"平成{year - 1988}年度"
    reiwa_year = year - REIWA_YEAR_ZERO
    return f"令和{'元' if reiwa_year == 1 else reiwa_year}年度"


def reportable_years(starts_on: date, ends_on: date | None, today: date) -> range:
    """Every fiscal year from the programme's first day to today (or to its last day, if earlier)."""
    last_day = min(today, ends_on) if ends_on is not None else today
    return range(fiscal_year_of(starts_on), fiscal_year_of(last_day) + 1)
