"""申し送り: each morning, one report per clinic of the night's cases; the clinic acknowledges it, and a
report still unacknowledged at noon is flagged to the coordinator."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.areas.scope import in_users_area
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.cases.lifecycle import Actor, record_event, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import CaseState
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.handoffs.models import Handoff, handoff_case
from dispatch.programme.models import Programme
from dispatch.sms.service import queue_sms

HANDOFF = Actor.system("handoff")


class HandoffNotVisible(LookupError):
    """No such handoff, or not one this user may see."""


def period_ending(now: datetime, tz: str, at: time) -> tuple[datetime, datetime] | None:
    """The night that ends at today's handoff time, once that time has come; else None."""
    local = now.astimezone(ZoneInfo(tz))
    end = datetime.combine(local.date(), at, ZoneInfo(tz))
    if local < end:
        return None
    return end - timedelta(days=1), end


def make_handoffs(
    session: Session, clock: Clock, programme: Programme, at: time, base_url: str = ""
) -> list[Handoff]:
    """Create this morning's reports (once: a repeat finds them made) and hand off completed visits."""
    period = period_ending(clock.now(), programme.timezone, at)
    if period is None:
        return []
    start, end = period
    made = []
    cases_by_clinic: dict[int, list[Case]] = {}
    for case in _unreported(session, programme, start, end):
        if case.clinic_id is not None:  # always: the query asks for no other
            cases_by_clinic.setdefault(case.clinic_id, []).append(case)
    for clinic_id, cases in cases_by_clinic.items():
        if session.scalar(select(Handoff.id).where(Handoff.clinic_id == clinic_id, Handoff.period_end == end)):
            continue
        handoff = _report(session, clock, clinic_id, cases, (start, end), base_url)
        if handoff is not None:
            made.append(handoff)
    hand_off_late_completions(session, clock)
    return made


def make_handoff_now(
    session: Session, clock: Clock, programme: Programme, clinic_id: int, at: time, base_url: str = ""
) -> tuple[Handoff | None, bool]:
    """One clinic's report now, on the coordinator's word: the cases the next (or the last) morning report
    would carry and no report carries yet. (report, True) if made; (its latest report, False) if none is
    left to report, so a second press makes nothing twice."""
    now = clock.now()
    local = now.astimezone(ZoneInfo(programme.timezone))
    boundary = datetime.combine(local.date(), at, ZoneInfo(programme.timezone))
    if local < boundary:
        boundary -= timedelta(days=1)
    start = boundary - timedelta(days=1)  # the night the last morning report covered, if it has not run yet
    cases = [c for c in _unreported(session, programme, start, now, through=True) if c.clinic_id == clinic_id]
    handoff = _report(session, clock, clinic_id, cases, (start, now), base_url) if cases else None
    if handoff is not None:
        hand_off_late_completions(session, clock)
        return handoff, True
    latest = session.scalar(
        select(Handoff).where(Handoff.clinic_id == clinic_id).order_by(Handoff.period_end.desc()).limit(1)
    )
    return latest, False


def _unreported(
    session: Session, programme: Programme, start: datetime, end: datetime, through: bool = False
) -> list[Case]:
    """The programme's cases called in [start, end) (`through`: [start, end]) with a clinic, in no report
    yet, oldest first."""
    reported = select(handoff_case.c.case_id)
    before = Case.called_at <= end if through else Case.called_at < end
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.programme_id == programme.id,
                Case.clinic_id.is_not(None),
                Case.called_at >= start,
                before,
                Case.id.not_in(reported),
            )
            .order_by(Case.called_at)
        )
    )


def _report(
    session: Session,
    clock: Clock,
    clinic_id: int,
    cases: list[Case],
    period: tuple[datetime, datetime],
    base_url: str,
) -> Handoff | None:
    """One clinic's report of `cases`: completed visits handed off, the others noted; the clinic told by
    SMS. None if another worker made the same report a moment ago."""
    handoff = Handoff(clinic_id=clinic_id, period_start=period[0], period_end=period[1], created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:  # another worker made it a moment ago
        return None
    session.execute(handoff_case.insert(), [{"handoff_id": handoff.id, "case_id": c.id} for c in cases])
    for case in cases:
        if case.state is CaseState.visit_completed:
            transition(
                session,
                case,
                CaseState.handed_off,
                actor=HANDOFF,
                clock=clock,
                reason=Why.morning_handoff,
                data={"handoff_id": handoff.id},
            )
        else:
            record_event(
                session,
                case,
                "handoff.reported",
                actor=HANDOFF,
                clock=clock,
                data={"handoff_id": handoff.id},
            )
    clinic = session.get_one(Clinic, clinic_id)
    if clinic.handoff_phone:
        queue_sms(
            session,
            clock,
            clinic.handoff_phone,
            f"【申し送り】{clinic.label} 夜間・休日の対応 {len(cases)}件。確認し受領してください: "
            f"{base_url.rstrip('/')}/api/v1/handoffs/{handoff.id}",
            "handoff",
        )
    return handoff


def hand_off_late_completions(session: Session, clock: Clock) -> None:
    """Visits completed after their report was made: handed off now, and closed if it was acknowledged."""
    late = session.execute(
        select(Case, Handoff)
        .join(handoff_case, handoff_case.c.case_id == Case.id)
        .join(Handoff, Handoff.id == handoff_case.c.handoff_id)
        .where(Case.state == CaseState.visit_completed)
    ).all()
    for case, handoff in late:
        transition(
            session,
            case,
            CaseState.handed_off,
            actor=HANDOFF,
            clock=clock,
            reason=Why.completed_after_report,
            data={"handoff_id": handoff.id},
        )
        if handoff.acknowledged_at is not None:
            transition(
                session,
                case,
                CaseState.closed,
                actor=HANDOFF,
                clock=clock,
                reason=Why.report_already_acknowledged,
            )


def flag_unacknowledged(session: Session, clock: Clock, programme: Programme, deadline: time) -> list[Handoff]:
    """Reports of today still unacknowledged at the deadline (noon): flag each once to the coordinator."""
    tz = ZoneInfo(programme.timezone)
    local = clock.now().astimezone(tz)
    cutoff = datetime.combine(local.date(), deadline, tz)
    if local < cutoff:
        return []
    flagged = list(
        session.scalars(
            select(Handoff)
            .where(Handoff.acknowledged_at.is_(None), Handoff.flagged_at.is_(None), Handoff.created_at < cutoff)
            .with_for_update()
        )
    )
    for handoff in flagged:
        handoff.flagged_at = clock.now()
        clinic = session.get_one(Clinic, handoff.clinic_id)
        if programme.coordinator_phone:
            queue_sms(
                session,
                clock,
                programme.coordinator_phone,
                f"【申し送り未受領】{clinic.label} の申し送りが正午までに受領されていません。",
                "handoff_flag",
            )
    return flagged


def visible(session: Session, user: User, handoff_id: int | None = None):
    """Handoffs this user may see (a clinic admin: their clinic's only; an area coordinator: their area's
    clinics'), newest first."""
    query = select(Handoff).order_by(Handoff.period_end.desc(), Handoff.clinic_id)
    if user.role is Role.clinic_admin:
        query = query.where(Handoff.clinic_id == user.clinic_id)
    if area_scope(user) is not None:
        query = in_users_area(query.join(Clinic, Clinic.id == Handoff.clinic_id), user, Clinic.programme_id)
    if handoff_id is not None:
        found = session.scalar(query.where(Handoff.id == handoff_id))
        if found is None:
            raise HandoffNotVisible(handoff_id)
        return found
    return list(session.scalars(query.limit(200)))


def cases_of(session: Session, handoff: Handoff) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .join(handoff_case, handoff_case.c.case_id == Case.id)
            .where(handoff_case.c.handoff_id == handoff.id)
            .order_by(Case.called_at)
        )
    )


def acknowledge(session: Session, clock: Clock, user: User, handoff_id: int) -> Handoff:
    """The clinic has read it: the handed-off visits are closed."""
    handoff = visible(session, user, handoff_id)
    if handoff.acknowledged_at is not None:
        return handoff
    handoff.acknowledged_at, handoff.acknowledged_by = clock.now(), user.id
    actor = Actor(f"user:{user.username}", user.id)
    for case in cases_of(session, handoff):
        if case.state is CaseState.handed_off:
            transition(
                session, case, CaseState.closed, actor=actor, clock=clock, reason=Why.handoff_acknowledged
            )
    return handoff
