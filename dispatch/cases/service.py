"""Reading cases, scoped to what the user may see; reads of case details are audited. (Cancelling one is
`flow.endings`: it reaches the offer and the physician.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.scope import in_area, in_users_area
from dispatch.audit import service as audit
from dispatch.auth.models import Role, User
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.schemas import CaseDetail, CaseEventOut, CaseOut
from dispatch.cases.states import TERMINAL_STATES, CaseState
from dispatch.clock import Clock
from dispatch.roster.models import Physician

# A physician acting by SMS reply or by their details link: "sms:physician-4", "link:physician-3".
PHYSICIAN_ACTOR = re.compile(r"(?:sms|link|voice):physician-(\d+)")


class CaseNotVisible(LookupError):
    """No such case, or not one this user may see."""


@dataclass(frozen=True)
class CaseFilter:
    states: list[CaseState] | None = None
    clinic_id: int | None = None
    area_id: int | None = None  # the cases of one medical area (its programme's)
    called_from: datetime | None = None
    called_before: datetime | None = None
    open_only: bool = False
    alarm_only: bool = False
    limit: int = 100
    offset: int = 0


def _scoped(query, user: User):
    """Held to what the user may see: a clinic admin their clinic's cases, an area coordinator their area's."""
    if user.role is Role.clinic_admin:
        return query.where(Case.clinic_id == user.clinic_id)
    return in_users_area(query, user, Case.programme_id)


def list_cases(session: Session, user: User, f: CaseFilter) -> list[Case]:
    """Cases matching the filter, newest call first."""
    query = _scoped(select(Case), user)
    if f.states:
        query = query.where(Case.state.in_(f.states))
    if f.open_only:
        query = query.where(Case.state.not_in(TERMINAL_STATES))
    if f.alarm_only:
        query = query.where(Case.alarm)
    if f.clinic_id is not None:
        query = query.where(Case.clinic_id == f.clinic_id)
    query = in_area(query, f.area_id, Case.programme_id)
    if f.called_from is not None:
        query = query.where(Case.called_at >= f.called_from)
    if f.called_before is not None:
        query = query.where(Case.called_at < f.called_before)
    query = query.order_by(Case.called_at.desc(), Case.id.desc()).limit(f.limit).offset(f.offset)
    return list(session.scalars(query))


def visible_case(session: Session, user: User, case_id: int) -> Case:
    """The case, if this user may see it."""
    case = session.scalar(_scoped(select(Case).where(Case.id == case_id), user))
    if case is None:
        raise CaseNotVisible(case_id)
    return case


def case_detail(session: Session, clock: Clock, user: User, case_id: int) -> CaseDetail:
    """The case with its intake and whole timeline; the read is audited."""
    case = visible_case(session, user, case_id)
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    audit.record(session, clock, user, "case.read", patient_id=case.patient_id, case_id=case.id)
    return CaseDetail(
        **CaseOut.model_validate(case).model_dump(),
        caller_name=case.caller_name,
        caller_relation=case.caller_relation,
        callback_phone_e164=case.callback_phone_e164,
        family_updates_consent=case.family_updates_consent,
        chief_complaint=case.chief_complaint,
        intake=case.intake,
        triage_note=case.triage_note,
        timeline=_with_names(session, list(events)),
    )


def _with_names(session: Session, events: list[CaseEvent]) -> list[CaseEventOut]:
    """The timeline with the name behind each actor: the user who acted, or the physician by SMS or link."""
    user_ids = {e.actor_user_id for e in events if e.actor_user_id is not None}
    physician_ids = {int(m[1]) for e in events if (m := PHYSICIAN_ACTOR.fullmatch(e.actor))}
    users = {i: n for i, n in session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))}
    named = select(Physician.id, Physician.name).where(Physician.id.in_(physician_ids))
    physicians = {i: n for i, n in session.execute(named)}

    def name(e: CaseEvent) -> str | None:
        if e.actor_user_id is not None:
            return users.get(e.actor_user_id)
        m = PHYSICIAN_ACTOR.fullmatch(e.actor)
        return physicians.get(int(m[1])) if m else None

    return [CaseEventOut.model_validate(e).model_copy(update={"actor_name": name(e)}) for e in events]
