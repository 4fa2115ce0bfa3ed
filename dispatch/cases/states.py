"""The case lifecycle of DESIGN.md §2: states, the allowed transitions, dispositions and urgency."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    received = "received"
    triage_pending = "triage_pending"
    triaging = "triaging"
    closed_consultation = "closed_consultation"
    dispatching = "dispatching"
    offered = "offered"
    accepted = "accepted"
    en_route = "en_route"
    on_scene = "on_scene"
    visit_completed = "visit_completed"
    handed_off = "handed_off"
    closed = "closed"
    cancelled = "cancelled"
    referred_ems = "referred_ems"
    unfilled = "unfilled"


S = CaseState

ALLOWED_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.received: frozenset({S.triage_pending, S.cancelled}),
    S.triage_pending: frozenset({S.triaging, S.cancelled, S.referred_ems}),
    # Back to the queue when a claim is released or left idle.
    S.triaging: frozenset(
        {S.closed_consultation, S.dispatching, S.referred_ems, S.triage_pending, S.cancelled}
    ),
    S.dispatching: frozenset({S.offered, S.unfilled, S.cancelled, S.referred_ems}),
    # Declined or timed out: back to dispatching for the next candidate.
    S.offered: frozenset({S.accepted, S.dispatching, S.unfilled, S.cancelled, S.referred_ems}),
    # Unfilled stays open: offering goes on, or the coordinator resolves it.
    S.unfilled: frozenset({S.offered, S.dispatching, S.cancelled, S.referred_ems}),
    # The physician may withdraw before arriving; the case goes back to dispatching. The family may call 119
    # while the physician is still on the way.
    S.accepted: frozenset({S.en_route, S.on_scene, S.dispatching, S.cancelled, S.referred_ems}),
    S.en_route: frozenset({S.on_scene, S.dispatching, S.cancelled, S.referred_ems}),
    S.on_scene: frozenset({S.visit_completed}),
    S.visit_completed: frozenset({S.handed_off}),
    S.handed_off: frozenset({S.closed}),
    S.closed_consultation: frozenset(),
    S.closed: frozenset(),
    S.cancelled: frozenset(),
    S.referred_ems: frozenset(),
}

TERMINAL_STATES = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
# States in which a substitute physician is committed to the case.
ACTIVE_VISIT_STATES = frozenset({S.accepted, S.en_route, S.on_scene})
# States in which the case waits for a physician: its coordinator alarm, if raised, is live only here.
AWAITING_PHYSICIAN = frozenset({S.dispatching, S.offered, S.unfilled})


def can_transition(current: CaseState, target: CaseState) -> bool:
    """Whether the lifecycle allows moving from `current` to `target`."""
    return target in ALLOWED_TRANSITIONS[current]


class CaseEnding(StrEnum):
    """Why a case left its path before a visit: recorded on the case with the transition that ended it."""

    family_called_119 = "family_called_119"  # the family called 119 while a physician was being found or came
    unfilled_closed = "unfilled_closed"  # the coordinator closed a case nobody could take
    cancelled_after_acceptance = "cancelled_after_acceptance"  # a physician had accepted (or set off)
    cancelled = "cancelled"  # cancelled before any physician accepted


class Disposition(StrEnum):
    advice_only = "advice_only"
    advice_follow_up_attending = "advice_follow_up_attending"
    attending_handles = "attending_handles"
    ems_119 = "ems_119"
    visit_urgent = "visit_urgent"  # arrive within 60 minutes
    visit_standard = "visit_standard"
    expected_death_visit = "expected_death_visit"  # family told not to call 119


VISIT_DISPOSITIONS = frozenset(
    {Disposition.visit_urgent, Disposition.visit_standard, Disposition.expected_death_visit}
)


class Urgency(StrEnum):
    """The #7119 colours."""

    red = "red"  # 赤
    orange = "orange"  # 橙
    yellow = "yellow"  # 黄
    green = "green"  # 緑
    white = "white"  # 白


URGENCY_LABELS_JA = {
    Urgency.red: "赤",
    Urgency.orange: "橙",
    Urgency.yellow: "黄",
    Urgency.green: "緑",
    Urgency.white: "白",
}
# Queue order: most urgent first.
URGENCY_RANK = {Urgency.red: 0, Urgency.orange: 1, Urgency.yellow: 2, Urgency.green: 3, Urgency.white: 4}
