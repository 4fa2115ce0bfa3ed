"""The counting rules of DESIGN.md §2 as SQL expressions, shared by every report.

In scope: the call was inside the night/holiday hours and the patient's enrolment and the clinic's
contract covered it. Consultation: closed by the consulting physician without a visit (advice, the
attending physician to follow up, an ambulance referral). House call: a substitute physician visited and
the visit was completed. End-of-life: a house call whose outcome was death pronounced at home.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func
from sqlalchemy.sql import ColumnElement

from dispatch.cases.models import Case
from dispatch.cases.states import VISIT_DISPOSITIONS, CaseState
from dispatch.outcomes.models import OutcomeCode, VisitOutcome

VISITED = (CaseState.visit_completed, CaseState.handed_off, CaseState.closed)
CONSULTATION_ENDS = (CaseState.closed_consultation, CaseState.referred_ems)

in_scope: ColumnElement[bool] = and_(Case.in_contract.is_(True), Case.in_service_hours.is_(True))
is_consultation: ColumnElement[bool] = and_(
    Case.state.in_(CONSULTATION_ENDS),
    Case.disposition.is_not(None),
    Case.disposition.not_in(VISIT_DISPOSITIONS),
)
# A no-contact trip is no house call (the physician never saw the patient); a visit without an outcome yet is.
is_house_call: ColumnElement[bool] = and_(
    Case.state.in_(VISITED), VisitOutcome.outcome.is_distinct_from(OutcomeCode.no_contact)
)
is_end_of_life: ColumnElement[bool] = and_(is_house_call, VisitOutcome.outcome == OutcomeCode.death_pronounced)


def tally(condition: ColumnElement[bool]):
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), portable across PostgreSQL and SQLite."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def local_month(dialect: str, tz_offset_hours: int = 9):
    """The call's month in Japan (no daylight saving: a fixed +09:00), as 'YYYY-MM'."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", Case.called_at), "YYYY-MM")
    return func.strftime("%Y-%m", Case.called_at, f"+{tz_offset_hours} hours")
