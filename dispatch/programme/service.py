"""Reading the programme and judging service hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.programme.models import Programme, ServiceHoursRule
from dispatch.programme.service_hours import in_service_hours
from dispatch.seed.reference import current_service_hours_rule


class ProgrammeNotLoaded(LookupError):
    """The configured programme is not in the database (run `dispatch seed demo`)."""


def get_programme(session: Session, code: str) -> Programme:
    """The programme with this code."""
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise ProgrammeNotLoaded(f"programme {code!r} is not loaded; run `dispatch seed demo`")
    return programme


def judge_service_hours(session: Session, programme: Programme, at: datetime) -> tuple[bool, ServiceHoursRule]:
    """Whether `at` is inside night/holiday hours, and the rule version that said so."""
    rule = current_service_hours_rule(session, programme.id, at)
    return in_service_hours(at, rule.definition, programme.timezone), rule
