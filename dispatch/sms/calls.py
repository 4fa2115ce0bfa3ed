"""Writing a call to be placed after the commit (`flow.calls.place_call` places it; the sweep if its job
is lost), as `queue_sms` writes an SMS."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.jobs import PLACE_CALL
from dispatch.outbox import defer_job
from dispatch.sms.models import VoiceCall


def queue_call(session: Session, clock: Clock, phone: str, purpose: str, *, case_id: int | None) -> VoiceCall:
    """Write a call as pending (a coordinator's alert: a short message, no keys); a job places it."""
    now = clock.now()
    call = VoiceCall(
        purpose=purpose, phone_e164=phone, case_id=case_id, status="pending", created_at=now, updated_at=now
    )
    session.add(call)
    session.flush()
    defer_job(session, PLACE_CALL, call.id, job_id=f"voice-{call.id}")
    return call
