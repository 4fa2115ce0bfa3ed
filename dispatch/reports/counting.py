"""The counting rules of DESIGN.md §2 as SQL expressions, shared by every report.

Every call is in exactly one category. First what leaves a call out of the table, in this order: outside
the night/holiday hours, patient not identified, not covered by an enrolment and contract, still open, ended
before the consulting physician decided, visited but no outcome recorded. Every other call reached a
decision and ended, and counts once: 往診 (house call) when a visit was completed and the physician saw the
patient (any outcome but `no_contact`), else 医療相談 (consultation) — advice, the attending to follow up,
a 119 referral, a visit decided but not made (closed unfilled, the family called 119, cancelled after the
decision) and a `no_contact` trip. 看取り (end of life) is a house call whose outcome is death pronounced.

Queries using these expressions outer-join VisitOutcome on the case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from dispatch.cases.models import Case
from dispatch.cases.states import TERMINAL_STATES, CaseState
from dispatch.outcomes.models import OutcomeCode, VisitOutcome

# A visit was made and completed: the outcome says whether the physician saw the patient.
VISITED = (CaseState.visit_completed, CaseState.handed_off, CaseState.closed)
# Ended without a visit: counted when the consulting physician had decided first.
ENDED_WITHOUT_VISIT = tuple(sorted(TERMINAL_STATES - set(VISITED)))
# The reasons a call is left out of the table, in the order they are checked (each call has one).
EXCLUSIONS = (
    "out_of_hours",
    "unidentified",
    "out_of_contract",
    "open",
    "cancelled_before_decision",
    "no_outcome",
)
HOUSE_CALL, CONSULTATION = "house_call", "consultation"

decided: ColumnElement[bool] = Case.disposition.is_not(None)
in_scope: ColumnElement[bool] = and_(
    Case.in_service_hours.is_(True), Case.patient_id.is_not(None), Case.in_contract.is_(True)
)
visited: ColumnElement[bool] = Case.state.in_(VISITED)
is_house_call: ColumnElement[bool] = and_(
    visited, VisitOutcome.outcome.is_not(None), VisitOutcome.outcome != OutcomeCode.no_contact
)
is_consultation: ColumnElement[bool] = or_(
    and_(visited, VisitOutcome.outcome == OutcomeCode.no_contact),
    and_(Case.state.in_(ENDED_WITHOUT_VISIT), decided),
)
is_end_of_life: ColumnElement[bool] = and_(visited, VisitOutcome.outcome == OutcomeCode.death_pronounced)

# The one category of each call (a SQL CASE): a use of the table, or the reason it is left out.
category: ColumnElement[Any] = case(
    (Case.in_service_hours.is_(False), "out_of_hours"),
    (Case.patient_id.is_(None), "unidentified"),
    (Case.in_contract.is_(False), "out_of_contract"),
    (is_house_call, HOUSE_CALL),
    (is_consultation, CONSULTATION),
    (and_(not_(visited), Case.state.not_in(ENDED_WITHOUT_VISIT)), "open"),
    (not_(visited), "cancelled_before_decision"),
    else_="no_outcome",
)


def tally(condition: ColumnElement[bool]):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), portable across PostgreSQL and SQLite."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def local_month(dialect: str, tz_offset_hours: int = 9):
    """The call's month in Japan (no daylight saving: a fixed +09:00), as 'YYYY-MM'."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", Case.called_at), "YYYY-MM")
    return func.strftime("%Y-%m", Case.called_at, f"+{tz_offset_hours} hours")


def calls_by_category(session: Session, scope: list[ColumnElement[bool]], *keys) -> list[tuple]:
    """(*keys, category, calls, end of life) for every call in `scope`, grouped by `keys` (e.g. the clinic,
    the month) and category."""
    query = (
        select(*keys, category, func.count(), tally(is_end_of_life))
        .select_from(Case)
        .outerjoin(VisitOutcome, VisitOutcome.case_id == Case.id)
        .where(*scope)
        .group_by(*keys, category)
    )
    # Read row by row (not `.all()` first): a year of the prefecture's groups is held once, as plain tuples.
    return [(*row[:-2], int(row[-2]), int(row[-1])) for row in session.execute(query)]


def excluded_counts(rows: list[tuple]) -> dict[str, int]:
    """{reason: calls} for each exclusion (0 where none), from (category, calls) pairs."""
    counts = dict.fromkeys(EXCLUSIONS, 0)
    for name, calls in rows:
        if name in counts:
            counts[name] += int(calls)
    return counts
