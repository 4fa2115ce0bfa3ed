"""Submitting a month's figures to the prefecture, and comparing them with the figures now."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.programme.models import Programme
from dispatch.programme.periods import asked_month, local_midnight_utc, next_month
from dispatch.reports.service import monthly_report
from dispatch.submissions.differences import differences
from dispatch.submissions.models import MonthSubmission
from dispatch.submissions.schemas import SubmissionDetail, SubmissionOut


class MonthNotEnded(ValueError):
    """Only a month that is over (in the programme's time zone) can be submitted."""


def parse_month(text: str) -> date:
    """'2024-12' -> 2024-12-01; ValueError naming the problem otherwise."""
    first = asked_month(text)
    if f"{first:%Y-%m}" != text:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2024-04")
    return first


def figures_by_month(session: Session, programme: Programme, months: list[date]) -> dict[str, dict[str, Any]]:
    """The monthly report's row for each month, now, as JSON (every field it holds, whatever they are)."""
    if not months:
        return {}
    report = monthly_report(session, programme, min(months), max(months))
    return {row.month: row.model_dump(mode="json") for row in report.months}


def submit(
    session: Session, clock: Clock, programme: Programme, user: User, month: str, note: str | None
) -> MonthSubmission:
    """Freeze the month's figures now, as the next version, with who and when (audited)."""
    first = parse_month(month)
    ends = local_midnight_utc(next_month(first), programme.timezone)
    if clock.now() < ends:
        raise MonthNotEnded(
            f"{month} has not ended yet; it can be submitted from {next_month(first):%Y-%m-%d} 00:00 "
            f"({programme.timezone})"
        )
    latest = session.scalar(
        select(func.max(MonthSubmission.version)).where(
            MonthSubmission.programme_id == programme.id, MonthSubmission.month == month
        )
    )
    submission = MonthSubmission(
        programme_id=programme.id,
        month=month,
        version=(latest or 0) + 1,
        submitted_at=clock.now(),
        submitted_by=user.id,
        submitted_by_name=user.display_name,
        note=note,
        figures=figures_by_month(session, programme, [first])[month],
    )
    session.add(submission)
    session.flush()
    audit.record(
        session,
        clock,
        user,
        "submission.submitted",
        detail={"month": month, "version": submission.version, "note": note},
    )
    return submission


def history(session: Session, programme: Programme, month: str | None = None) -> list[MonthSubmission]:
    """Every version submitted (of one month, if given): newest month first, then newest version first."""
    query = select(MonthSubmission).where(MonthSubmission.programme_id == programme.id)
    if month is not None:
        query = query.where(MonthSubmission.month == month)
    return list(session.scalars(query.order_by(MonthSubmission.month.desc(), MonthSubmission.version.desc())))


def _in_order(frozen: Any, like: Any) -> Any:
    """The frozen figures with their keys in the report's order (the database hands JSON back sorted)."""
    if not isinstance(frozen, dict) or not isinstance(like, dict):
        return frozen
    keys = [k for k in like if k in frozen] + [k for k in frozen if k not in like]
    return {k: _in_order(frozen[k], like.get(k)) for k in keys}


def _out(submission: MonthSubmission, latest: bool, now: dict[str, Any]) -> SubmissionOut:
    return SubmissionOut(
        month=submission.month,
        version=submission.version,
        submitted_at=submission.submitted_at,
        submitted_by=submission.submitted_by_name,
        submitted_by_id=submission.submitted_by,
        note=submission.note,
        latest=latest,
        changed_since=bool(differences(submission.figures, now)),
    )


def listing(session: Session, programme: Programme) -> list[SubmissionOut]:
    """Every submission with whether the figures have changed since (one report over all their months)."""
    submissions = history(session, programme)
    now = figures_by_month(session, programme, [parse_month(s.month) for s in submissions])
    seen: set[str] = set()
    out = []
    for submission in submissions:
        out.append(_out(submission, submission.month not in seen, now[submission.month]))
        seen.add(submission.month)
    return out


def detail(session: Session, programme: Programme, month: str) -> SubmissionDetail | None:
    """A month's latest submitted figures, the figures now and their differences; None if never submitted."""
    versions = history(session, programme, month)
    if not versions:
        return None
    now = figures_by_month(session, programme, [parse_month(month)])[month]
    latest = versions[0]
    return SubmissionDetail(
        **_out(latest, True, now).model_dump(),
        submitted=_in_order(latest.figures, now),
        now=now,
        differences=differences(latest.figures, now),
        versions=[_out(v, i == 0, now) for i, v in enumerate(versions)],
    )
