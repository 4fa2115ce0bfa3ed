"""The consulting physician's queue: ordered by urgency then waiting time; claim, release, decide."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.scope import in_users_area
from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, TransitionNotAllowed, transition
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import URGENCY_RANK, VISIT_DISPOSITIONS, CaseState, Disposition, Urgency
from dispatch.clock import Clock, ManualClock
from dispatch.jobs import DRIVE_CASE
from dispatch.outbox import defer_job
from dispatch.roster.models import Physician
from dispatch.triage.schemas import Decision, QueueItem

# An urgency not yet guessed ranks with yellow: above the calls known to be mild.
UNKNOWN_RANK = URGENCY_RANK[Urgency.yellow]


class CaseNotFound(LookupError):
    """No such case."""


class ClaimConflict(Exception):
    """Another consulting physician holds the case."""

    def __init__(self, case: Case, name: str | None) -> None:
        named = f" ({name})" if name else ""
        super().__init__(
            f"case {case.reference} is being triaged by physician {case.triage_physician_id}{named}"
        )
        self.case = case


def _claimed(session: Session, case: Case) -> ClaimConflict:
    """The conflict, naming the physician who holds the claim."""
    holder = case.triage_physician_id
    return ClaimConflict(case, session.scalar(select(Physician.name).where(Physician.id == holder)))


class NotAPhysician(PermissionError):
    """The user's account is not linked to a physician."""


def _actor(user: User) -> Actor:
    return Actor(label=f"user:{user.username}", user_id=user.id)


def _locked(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def _idle(case: Case, clock: Clock, idle_s: int) -> bool:
    claimed = case.triage_claimed_at
    return claimed is not None and clock.now() - claimed > timedelta(seconds=idle_s)


def queue(session: Session, clock: Clock, idle_s: int, user: User) -> list[QueueItem]:
    """Open cases waiting for or in triage, most urgent first, then longest waiting (an area coordinator:
    their area's)."""
    rank = sql_case(
        {u.value: r for u, r in URGENCY_RANK.items()}, value=Case.provisional_urgency, else_=UNKNOWN_RANK
    )
    waiting = select(Case).where(Case.state.in_([CaseState.triage_pending, CaseState.triaging]))
    waiting = in_users_area(waiting, user, Case.programme_id)
    rows = session.scalars(waiting.order_by(rank, Case.called_at, Case.id))
    now = clock.now()
    return [
        QueueItem(
            id=c.id,
            reference=c.reference,
            state=c.state,
            urgency=c.provisional_urgency,
            called_at=c.called_at,
            waiting_s=int((now - c.called_at).total_seconds()),
            in_service_hours=c.in_service_hours,
            in_contract=c.in_contract,
            clinic_id=c.clinic_id,
            municipality_id=c.municipality_id,
            claimed_by_physician_id=c.triage_physician_id if c.state is CaseState.triaging else None,
            claimed_at=c.triage_claimed_at if c.state is CaseState.triaging else None,
            claim_idle=c.state is CaseState.triaging and _idle(c, clock, idle_s),
        )
        for c in rows
    ]


def claim(session: Session, clock: Clock, case_id: int, user: User, idle_s: int) -> Case:
    """Take a case for triage; exactly one physician wins. Claiming your own claim again is a no-op."""
    if user.physician_id is None:
        raise NotAPhysician("this account is not linked to a consulting physician")
    case = _locked(session, case_id)
    if case.state is CaseState.triaging:
        if case.triage_physician_id == user.physician_id:
            case.triage_claimed_at = clock.now()
            return case
        if not _idle(case, clock, idle_s):
            raise _claimed(session, case)
        transition(
            session,
            case,
            CaseState.triage_pending,
            actor=_actor(user),
            clock=clock,
            reason=Why.claim_taken_over,
            data={"idle_physician_id": case.triage_physician_id},
        )
    transition(
        session,
        case,
        CaseState.triaging,
        actor=_actor(user),
        clock=clock,
        reason=Why.claimed,
        data={"physician_id": user.physician_id},
    )
    case.triage_physician_id = user.physician_id
    case.triage_claimed_at = clock.now()
    return case


def _own_claim(session: Session, case_id: int, user: User) -> Case:
    case = _locked(session, case_id)
    if case.state is not CaseState.triaging:
        raise TransitionNotAllowed(case.id, case.state, CaseState.triaging)
    if case.triage_physician_id != user.physician_id:
        raise _claimed(session, case)
    return case


def release(session: Session, clock: Clock, case_id: int, user: User, reason: str | None) -> Case:
    """Give a claimed case back to the queue."""
    case = _own_claim(session, case_id, user)
    transition(
        session, case, CaseState.triage_pending, actor=_actor(user), clock=clock, reason=reason or Why.released
    )
    case.triage_claimed_at = None
    return case


def decide(session: Session, clock: Clock, case_id: int, user: User, decision: Decision) -> Case:
    """Record the disposition; a visit goes to dispatching (matching is enqueued after commit)."""
    case = _own_claim(session, case_id, user)
    clock = ManualClock(clock.now())  # decided at one instant (and the clock read once)
    case.disposition = decision.disposition
    case.urgency = decision.urgency
    case.jtas_level = decision.jtas_level
    case.triage_note = decision.note
    case.decided_at = clock.now()
    if decision.disposition in VISIT_DISPOSITIONS:
        target = CaseState.dispatching
    elif decision.disposition is Disposition.ems_119:
        target = CaseState.referred_ems
    else:
        target = CaseState.closed_consultation
    data = {
        "disposition": decision.disposition.value,
        "urgency": decision.urgency.value,
        "jtas_level": decision.jtas_level,
    }
    event = transition(
        session, case, target, actor=_actor(user), clock=clock, reason=Why.triage_decision, data=data
    )
    if target is CaseState.dispatching:
        defer_job(session, DRIVE_CASE, case.id, job_id=f"drive-{case.id}-{event.id}")
    return case


def release_idle_claims(session: Session, clock: Clock, idle_s: int) -> list[int]:
    """Return every claim idle past the limit to the queue; the ids of the cases released."""
    cutoff = clock.now() - timedelta(seconds=idle_s)
    ids = list(
        session.scalars(
            select(Case.id).where(Case.state == CaseState.triaging, Case.triage_claimed_at < cutoff)
        )
    )
    released = []
    for case_id in ids:
        case = _locked(session, case_id)
        if case.state is CaseState.triaging and _idle(case, clock, idle_s):
            transition(
                session,
                case,
                CaseState.triage_pending,
                actor=Actor.system("claim-sweeper"),
                clock=clock,
                reason=Why.claim_left_idle,
                data={"idle_physician_id": case.triage_physician_id},
            )
            case.triage_claimed_at = None
            released.append(case_id)
    return released
