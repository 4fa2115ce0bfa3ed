"""Job entry points. Each takes only ids, re-reads state, and is safe to run twice."""

from __future__ import annotations

import logging

from dispatch.cases.models import Case
from dispatch.cases.states import CaseState
from dispatch.db import unit_of_work
from dispatch.heartbeats import beat
from dispatch.triage.service import release_idle_claims as release_idle_triage_claims
from workers.context import services

log = logging.getLogger(__name__)


def heartbeat() -> None:
    """Record that a worker is taking jobs; the health endpoint reports its age."""
    svc = services()
    beat(svc.redis, "worker", svc.clock)


def release_idle_claims() -> list[int]:
    """Return triage claims left idle past the limit to the queue."""
    svc = services()
    with unit_of_work(svc.session_factory) as session:
        return release_idle_triage_claims(session, svc.clock, svc.settings.triage_claim_idle_s)


def drive_case(case_id: int) -> str:
    """Trigger for a case that needs a substitute physician; does nothing unless it is still dispatching."""
    svc = services()
    with unit_of_work(svc.session_factory) as session:
        case = session.get(Case, case_id)
        if case is None or case.state is not CaseState.dispatching:
            return "not dispatching; nothing to do"
        # Matching and offers are the next issue's; until then the case waits, visibly, in dispatching.
        log.info("case %s is waiting for matching", case.reference)
        return "waiting for matching"
