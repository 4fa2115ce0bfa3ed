"""The reasons the system itself writes on a case's timeline: each keeps its English text as the event's
reason (for logs and the API) and its name as `reason_code` in the event's data, which the console says in
the reader's language (`dispatch/web/i18n.py`, labels "event_reason")."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Why(StrEnum):
    """A system-written reason: the member's name is its code, its value the English text."""

    call_logged = "call logged"
    queued_for_triage = "queued for triage"
    claimed = "claimed"
    released = "released"
    claim_left_idle = "claim left idle"
    claim_taken_over = "claim left idle; taken over"
    triage_decision = "triage decision"
    offered = "offered"
    offered_cross_area = "offered to a neighbouring area's physician (cross-area backup)"
    offer_accepted = "offer accepted"
    offer_accepted_cross_area = "accepted by a neighbouring area's physician (cross-area backup)"
    declined_by_sms = "declined by SMS"
    declined_by_voice = "declined by phone (key 2)"
    no_reply = "no reply before the deadline"
    offer_sms_not_sent = "offer SMS could not be sent"
    offer_sms_undelivered = "offer SMS undelivered"
    offer_sms_failed = "offer SMS failed"
    offer_sms_held = "offer SMS not sent: the physician's number reached its hourly SMS cap"
    no_physician_available = "no substitute physician available"
    no_physician_found = "代診医が見つかりません"  # also the coordinator's SMS, hence Japanese
    no_physician_accepted = "受諾する代診医がいません"  # idem
    reassigned_by_hand = "reassigned by hand"
    reassigned_by_coordinator = "reassigned by the coordinator"
    ended_family_called_119 = "case ended: family_called_119"
    ended_unfilled_closed = "case ended: unfilled_closed"
    ended_cancelled_after_acceptance = "case ended: cancelled_after_acceptance"
    ended_cancelled = "case ended: cancelled"
    physician_reported_en_route = "physician reported en_route"
    physician_reported_arrived = "physician reported arrived"
    physician_reported_completed = "physician reported completed"
    physician_has_no_phone = "the physician has no phone number on the roster"
    sms_cap_reached = "SMS held: the number reached its hourly cap"
    outcome_recorded = "outcome recorded"
    death_at_home = "death at home"
    death_record_withdrawn = "the death record was withdrawn"
    clinic_not_told_no_clinic = "the clinic could not be told at once: no attending clinic on the case"
    clinic_not_told_no_phone = "the clinic could not be told at once: the clinic has no handoff phone number"
    morning_handoff = "morning handoff"
    completed_after_report = "completed after the report"
    report_already_acknowledged = "report already acknowledged"
    handoff_acknowledged = "handoff acknowledged"


def with_code(reason: str | None, data: dict[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """The reason as text and the event's data, with `reason_code` added when the system wrote the reason."""
    if isinstance(reason, Why):
        return reason.value, {**(data or {}), "reason_code": reason.name}
    return reason, dict(data or {})
