"""Each afternoon: tonight's coverage gaps told to the coordinator, by SMS (towns and hours only, no patient
data) and on the board, once per night (`roster.gaps`)."""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.programme.models import Programme
from dispatch.roster import gaps
from dispatch.sms.service import queue_sms


def alert_tonight(session: Session, clock: Clock, programme: Programme, at: time) -> list[gaps.Gap]:
    """From `at` on, tonight's gaps alerted once: the record the board reads, and the coordinator's SMS.
    The gaps alerted now; [] if none, or already alerted tonight."""
    made = gaps.record_tonight(session, clock, programme, at)
    if made is None:
        return []
    _alert, found = made
    if programme.coordinator_phone:
        queue_sms(session, clock, programme.coordinator_phone, gaps.alert_text(found), "coverage_gap")
    return found
