"""The attending clinic told at once of a death at home or an admission, not only at the next morning's
handoff: an SMS to its handoff number with the case reference, what happened and the link to its handoff
page, never a name, an address or a diagnosis. Once per case and kind; a timeline event either way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.reasons import Why
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.outcomes.models import OutcomeCode, VisitOutcome
from dispatch.sms.protocol import CLINIC_NOTICE_KINDS, clinic_notice_text
from dispatch.sms.service import queue_sms

NOTICE = Actor.system("clinic_notice")
NOTIFIED = "clinic.notified"
NOT_SENT = "clinic.notice_not_sent"
# What the clinic hears at once, in its words.
KINDS = frozenset({OutcomeCode.death_pronounced, OutcomeCode.transported_admitted})


def handoff_page_url(base_url: str, case_id: int) -> str:
    """The console's handoff page, opened on this case (a case id, nothing about the patient)."""
    return f"{base_url.rstrip('/')}/handoffs?case={case_id}"


def _told_before(session: Session, case: Case) -> list[tuple[str, dict]]:
    rows = session.execute(
        select(CaseEvent.kind, CaseEvent.data).where(
            CaseEvent.case_id == case.id, CaseEvent.kind.in_((NOTIFIED, NOT_SENT))
        )
    )
    return [(kind, data or {}) for kind, data in rows]


def notify_clinic_of_outcome(session: Session, clock: Clock, case: Case, *, base_url: str) -> CaseEvent | None:
    """If the case's outcome is a death at home or an admission, queue the SMS to its clinic (once per case
    and kind: a correction resends only when the kind changes) and write it in the timeline; with no number
    to send to, the timeline says so. None when there was nothing (new) to tell."""
    outcome = session.get(VisitOutcome, case.id)
    if outcome is None or outcome.outcome not in KINDS:
        return None
    kind = outcome.outcome.value
    earlier = _told_before(session, case)
    if any(event == NOTIFIED and data.get("outcome") == kind for event, data in earlier):
        return None
    clinic = session.get(Clinic, case.clinic_id) if case.clinic_id is not None else None
    if clinic is None or not clinic.handoff_phone:
        why = "no attending clinic on the case" if clinic is None else "the clinic has no handoff phone number"
        if any(event == NOT_SENT and data.get("outcome") == kind for event, data in earlier):
            return None  # said once already
        return record_event(
            session,
            case,
            NOT_SENT,
            actor=NOTICE,
            clock=clock,
            reason=Why(f"the clinic could not be told at once: {why}"),
            data={"outcome": kind, "clinic_id": case.clinic_id},
        )
    body = clinic_notice_text(case.id, outcome.outcome, handoff_page_url(base_url, case.id))
    message = queue_sms(session, clock, clinic.handoff_phone, body, "clinic_notice", case_id=case.id)
    return record_event(
        session,
        case,
        NOTIFIED,
        actor=NOTICE,
        clock=clock,
        reason=f"{clinic.label} told by SMS: {CLINIC_NOTICE_KINDS[kind]}",
        data={"outcome": kind, "clinic_id": clinic.id, "sms_id": message.id},
    )
