"""Coverage gaps: the stretches of the service hours in which a municipality of the programme has fewer
physicians on call than the programme's minimum. Found by sweeping the boundaries of the shifts, their
covers and the service hours (never by sampling minutes); tonight's are alerted once to the coordinator."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.programme.models import Municipality, Programme, ServiceHoursRule
from dispatch.programme.service_hours import in_service_hours
from dispatch.roster.gap_models import CoverageGapAlert
from dispatch.roster.models import Physician, Shift, ShiftCover, shift_coverage

MAX_NIGHTS = 62  # the longest range one request may ask for
NIGHT_ENDS = "08:00"  # the morning hand-back, when no rule says otherwise
SMS_TOWNS = 5  # towns named in one SMS; the rest are counted

Rule = tuple[datetime, dict[str, Any]]  # (effective_from, definition), by version
Piece = tuple[datetime, datetime, int]  # [start, end) held by a physician


@dataclass(frozen=True)
class Gap:
    """A municipality short of physicians on call from `start` to `end` (local times), in one night."""

    municipality_id: int
    municipality_code: str
    municipality: str
    start: datetime
    end: datetime
    on_call: int
    minimum: int
    night: date  # the local date of the night `start` falls in


def live_shifts(start: datetime, end: datetime) -> Select:
    """The shifts that put physicians on call, overlapping [start, end): one row per shift and town it
    covers. Only published shifts count (a rotation's drafts put nobody on call); applied here only."""
    return (
        select(Shift.id, Shift.physician_id, Shift.starts_at, Shift.ends_at, shift_coverage.c.municipality_id)
        .join(shift_coverage, shift_coverage.c.shift_id == Shift.id)
        .where(Shift.starts_at < end, Shift.ends_at > start, Shift.published.is_(True))
    )


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def rules_of(session: Session, programme_id: int) -> list[Rule]:
    """Every version of the programme's service-hours rule, oldest first."""
    rows = session.execute(
        select(ServiceHoursRule.effective_from, ServiceHoursRule.definition)
        .where(ServiceHoursRule.programme_id == programme_id)
        .order_by(ServiceHoursRule.version)
    )
    return [(effective_from, dict(definition)) for effective_from, definition in rows]


def _rule_at(rules: list[Rule], at: datetime) -> dict[str, Any] | None:
    in_force = [definition for effective_from, definition in rules if effective_from <= at]
    return in_force[-1] if in_force else None


def morning(rules: list[Rule], day: date, tz: str) -> datetime:
    """The morning hand-back on `day` (08:00 by default): where one night ends and the next day's begins."""
    zone = ZoneInfo(tz)
    rule = _rule_at(rules, datetime.combine(day, time(0), zone)) or {}
    return datetime.combine(day, _hhmm(str(rule.get("weekday_until", NIGHT_ENDS))), zone)


def night_of(rules: list[Rule], at: datetime, tz: str) -> date:
    """The night `at` belongs to, by the date it starts on: 02:00 on the 16th is the night of the 15th."""
    day = at.astimezone(ZoneInfo(tz)).date()
    return day if at >= morning(rules, day, tz) else day - timedelta(days=1)


def nights_window(rules: list[Rule], first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the nights from `first` to `last`: each from its morning to the next one."""
    return morning(rules, first, tz), morning(rules, last + timedelta(days=1), tz)


def service_hours(
    rules: list[Rule], tz: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The service hours within [start, end), as merged intervals. The rule's verdict changes only at local
    midnight, at the times it names and where a new version takes effect: it is asked once per piece."""
    zone = ZoneInfo(tz)
    marks = {start, end} | {f for f, _ in rules if start < f < end}
    times = {time(0)} | {
        _hhmm(str(d[key]))
        for _, d in rules
        for key in ("weekday_from", "weekday_until", "saturday_from")
        if d.get(key)
    }
    day, last = (
        start.astimezone(zone).date() - timedelta(days=1),
        end.astimezone(zone).date() + timedelta(days=1),
    )
    while day <= last:
        marks |= {m for m in (datetime.combine(day, t, zone) for t in times) if start < m < end}
        day += timedelta(days=1)
    points = sorted(marks)
    hours: list[tuple[datetime, datetime]] = []
    for a, b in pairwise(points):
        rule = _rule_at(rules, a)
        if rule is None or not in_service_hours(a, rule, tz):
            continue
        if hours and hours[-1][1] == a:
            hours[-1] = (hours[-1][0], b)
        else:
            hours.append((a, b))
    return hours


def _held(starts: datetime, ends: datetime, rostered: int, covers: list[Piece]) -> list[Piece]:
    """Who holds a shift when: the covering physician over each cover, the rostered one elsewhere."""
    pieces: list[Piece] = []
    cursor = starts
    for a, b, who in sorted(covers):
        if a > cursor:
            pieces.append((cursor, a, rostered))
        pieces.append((a, b, who))
        cursor = max(cursor, b)
    if cursor < ends:
        pieces.append((cursor, ends, rostered))
    return pieces


def held_by_town(session: Session, start: datetime, end: datetime) -> dict[int, list[Piece]]:
    """For each municipality, the pieces of live shifts covering it, with who holds each (covers applied,
    active physicians only: as `roster.service.on_call` reads the roster)."""
    rows = session.execute(live_shifts(start, end)).all()
    shift_ids = {row[0] for row in rows}
    covers: dict[int, list[Piece]] = {}
    for shift_id, a, b, who in session.execute(
        select(
            ShiftCover.shift_id, ShiftCover.starts_at, ShiftCover.ends_at, ShiftCover.covering_physician_id
        ).where(ShiftCover.shift_id.in_(shift_ids))
    ):
        covers.setdefault(shift_id, []).append((a, b, who))
    holders = {row[1] for row in rows} | {who for pieces in covers.values() for _, _, who in pieces}
    active = set(
        session.scalars(select(Physician.id).where(Physician.id.in_(holders), Physician.active.is_(True)))
    )
    towns: dict[int, list[Piece]] = {}
    for shift_id, rostered, starts, ends, town in rows:
        for piece in _held(starts, ends, rostered, covers.get(shift_id, [])):
            if piece[2] in active:
                towns.setdefault(town, []).append(piece)
    return towns


def _short(
    pieces: list[Piece], hours: list[tuple[datetime, datetime]], minimum: int
) -> list[tuple[datetime, datetime, int]]:
    """Sweep one town's pieces across the service hours: where fewer than `minimum` distinct physicians
    hold it, as (start, end, on call) intervals, adjacent ones with the same count merged."""
    events = sorted([(a, 1, who) for a, _, who in pieces] + [(b, -1, who) for _, b, who in pieces])
    points = sorted({p for a, b, _ in pieces for p in (a, b)} | {p for a, b in hours for p in (a, b)})
    holding: Counter[int] = Counter()
    found: list[tuple[datetime, datetime, int]] = []
    i = j = 0
    for x, y in pairwise(points):
        while i < len(events) and events[i][0] <= x:
            holding[events[i][2]] += events[i][1]
            i += 1
        while j < len(hours) and hours[j][1] <= x:
            j += 1
        if j == len(hours) or hours[j][0] > x:
            continue  # outside the service hours
        on_call = sum(1 for count in holding.values() if count > 0)
        if on_call >= minimum:
            continue
        if found and found[-1][1] == x and found[-1][2] == on_call:
            found[-1] = (found[-1][0], y, on_call)
        else:
            found.append((x, y, on_call))
    return found


def find_gaps(session: Session, programme: Programme, start: datetime, end: datetime) -> list[Gap]:
    """Every interval of the service hours in [start, end) in which a municipality of the programme has
    fewer physicians on call than its minimum; by start, then municipality code."""
    rules = rules_of(session, programme.id)
    hours = service_hours(rules, programme.timezone, start, end)
    if not hours:
        return []
    zone = ZoneInfo(programme.timezone)
    minimum = programme.min_on_call
    held = held_by_town(session, start, end)
    towns = session.scalars(
        select(Municipality).where(Municipality.area_id == programme.area_id).order_by(Municipality.code)
    )
    gaps = [
        Gap(
            municipality_id=town.id,
            municipality_code=town.code,
            municipality=town.name,
            start=a.astimezone(zone),
            end=b.astimezone(zone),
            on_call=on_call,
            minimum=minimum,
            night=night_of(rules, a, programme.timezone),
        )
        for town in towns
        for a, b, on_call in _short(held.get(town.id, []), hours, minimum)
    ]
    return sorted(gaps, key=lambda g: (g.start, g.municipality_code))


def gaps_for_nights(session: Session, programme: Programme, first: date, last: date) -> list[Gap]:
    """The gaps of the nights from `first` to `last` (each from its morning hand-back to the next)."""
    start, end = nights_window(rules_of(session, programme.id), first, last, programme.timezone)
    return find_gaps(session, programme, start, end)


def tonight(session: Session, programme: Programme, now: datetime) -> tuple[date, datetime, datetime]:
    """The night `now` is in: its date, and what is left of it ([now, its end))."""
    rules = rules_of(session, programme.id)
    night = night_of(rules, now, programme.timezone)
    return night, now, nights_window(rules, night, night, programme.timezone)[1]


def _hours_words(gap: Gap) -> str:
    on_call = "当番不在" if gap.on_call == 0 else f"当番{gap.on_call}名（必要{gap.minimum}名）"
    return f"{gap.municipality} {gap.start:%H:%M}–{gap.end:%H:%M} {on_call}"


def alert_text(gaps: list[Gap]) -> str:
    """The coordinator's SMS: towns and hours only, e.g. 【当番の空き】今夜 印西市 18:00–08:00 当番不在."""
    named = "、".join(_hours_words(g) for g in gaps[:SMS_TOWNS])
    more = f" ほか{len(gaps) - SMS_TOWNS}件" if len(gaps) > SMS_TOWNS else ""
    return f"【当番の空き】今夜 {named}{more}"


def record_tonight(
    session: Session, clock: Clock, programme: Programme, at: time
) -> tuple[CoverageGapAlert, list[Gap]] | None:
    """From `at` (15:00) on, tonight's gaps recorded as the night's alert (the board shows it): once per
    night (a repeat, or another worker at the same moment, finds it made). None if nothing to alert."""
    night, start, end = tonight(session, programme, clock.now())
    if start < datetime.combine(night, at, ZoneInfo(programme.timezone)):
        return None
    made = select(CoverageGapAlert.id).where(
        CoverageGapAlert.programme_id == programme.id, CoverageGapAlert.night == night
    )
    if session.scalar(made) is not None:
        return None
    gaps = find_gaps(session, programme, start, end)
    if not gaps:
        return None
    alert = CoverageGapAlert(
        programme_id=programme.id,
        night=night,
        alerted_at=clock.now(),
        towns=len({g.municipality_id for g in gaps}),
    )
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:  # another worker alerted it a moment ago
        return None
    return alert, gaps


def open_alert(
    session: Session, programme: Programme, now: datetime
) -> tuple[CoverageGapAlert, list[Gap]] | None:
    """Tonight's alert with the gaps still open from now (re-checked on every read); None once filled."""
    night, start, end = tonight(session, programme, now)
    alert = session.scalar(
        select(CoverageGapAlert).where(
            CoverageGapAlert.programme_id == programme.id, CoverageGapAlert.night == night
        )
    )
    if alert is None:
        return None
    gaps = find_gaps(session, programme, start, end)
    return (alert, gaps) if gaps else None
