"""The family told (issue 17, item 6). With the caller's consent at intake, the callback number gets an SMS
when a physician accepts (the estimated arrival time), when they set off (updated), and once if they are
late; each once per acceptance (a re-accept after a withdrawal tells the new time). A case left waiting for
a physician too long becomes the operator's task to call the family back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.areas.scope import in_users_area
from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.states import AWAITING_PHYSICIAN, CaseState
from dispatch.clock import Clock
from dispatch.phones import is_mobile
from dispatch.programme.models import Programme
from dispatch.sms import protocol
from dispatch.sms.service import queue_sms

FAMILY = Actor.system("family")
NOTIFIED = "family.notified"
CALLED_BACK = "family.called_back"
ETA_STEP_S = 5 * 60
ON_THE_WAY = (CaseState.accepted, CaseState.en_route)


class Moment(StrEnum):
    accepted = "accepted"
    departed = "departed"
    delayed = "delayed"


# The timeline's words for each message (the SMS text itself is in the outbox).
TOLD = {
    Moment.accepted: "到着予定をお知らせ",
    Moment.departed: "出発をお知らせ",
    Moment.delayed: "遅れをお知らせ",
}
PURPOSES = {
    Moment.accepted: "family_accepted",
    Moment.departed: "family_departed",
    Moment.delayed: "family_delayed",
}


def eta_after(now: datetime, travel_min: float) -> datetime:
    """`now` plus the travel estimate, rounded up to the next five minutes."""
    at = now + timedelta(minutes=max(travel_min, 0.0))
    stamp = math.ceil(at.timestamp() / ETA_STEP_S) * ETA_STEP_S
    return datetime.fromtimestamp(stamp, tz=at.tzinfo)


def time_words(at: datetime, timezone: str) -> str:
    """A time of day as the family reads it: '2時40分', '3時'."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local.hour}時{local.minute}分" if local.minute else f"{local.hour}時"


def _told(session: Session, case_id: int) -> list[dict[str, Any]]:
    """What the family was told so far (the data of each `family.notified` event), oldest first."""
    query = select(CaseEvent.data).where(CaseEvent.case_id == case_id, CaseEvent.kind == NOTIFIED)
    return list(session.scalars(query.order_by(CaseEvent.id)))


def _wants_updates(case: Case) -> bool:
    phone = case.callback_phone_e164
    return case.family_updates_consent and phone is not None and is_mobile(phone)


def _tell(session: Session, clock: Clock, case: Case, moment: Moment, data: dict[str, Any]) -> None:
    """Queue the SMS to the callback number and put it on the timeline."""
    name, timezone = session.execute(
        select(Programme.name, Programme.timezone).where(Programme.id == case.programme_id)
    ).one()
    centre = name.split("（")[0]  # the centre's name without its area in brackets: one short SMS
    eta = data.get("eta_at")
    words = time_words(datetime.fromisoformat(eta), timezone) if eta else ""
    body = {
        Moment.accepted: lambda: protocol.family_accepted_text(centre, words),
        Moment.departed: lambda: protocol.family_departed_text(centre, words),
        Moment.delayed: lambda: protocol.family_delayed_text(centre),
    }[moment]()
    assert case.callback_phone_e164 is not None  # checked by `_wants_updates`
    queue_sms(session, clock, case.callback_phone_e164, body, PURPOSES[moment], case_id=case.id)
    record_event(session, case, NOTIFIED, actor=FAMILY, clock=clock, reason=TOLD[moment], data=data)


def on_accepted(session: Session, clock: Clock, case: Case, offer_id: int, travel_min: float) -> None:
    """A physician accepted (by SMS, by voice, or the coordinator's assignment): tell the arrival time."""
    case.family_called_back_at = None  # should the case wait again, the operator calls the family again
    if not _wants_updates(case):
        return
    told = _told(session, case.id)
    if any(d.get("moment") == Moment.accepted and d.get("offer_id") == offer_id for d in told):
        return
    eta = eta_after(clock.now(), travel_min)
    case.family_eta_at = eta
    data = {"moment": Moment.accepted.value, "offer_id": offer_id, "travel_min": round(travel_min)}
    _tell(session, clock, case, Moment.accepted, data | {"eta_at": eta.isoformat()})


def on_departed(session: Session, clock: Clock, case: Case) -> None:
    """The physician set off (出発): the updated arrival time, from the estimate told at acceptance."""
    if not _wants_updates(case):
        return
    told = _told(session, case.id)
    accepted = [d for d in told if d.get("moment") == Moment.accepted]
    if not accepted:
        return
    offer_id, travel_min = accepted[-1].get("offer_id"), float(accepted[-1].get("travel_min") or 0)
    if any(d.get("moment") == Moment.departed and d.get("offer_id") == offer_id for d in told):
        return
    eta = eta_after(clock.now(), travel_min)
    case.family_eta_at = eta
    data = {"moment": Moment.departed.value, "offer_id": offer_id, "eta_at": eta.isoformat()}
    _tell(session, clock, case, Moment.departed, data)


def tell_delays(session: Session, clock: Clock, late_after: timedelta) -> list[int]:
    """Cases whose arrival time told passed `late_after` ago without 到着: the family told once; their ids."""
    now = clock.now()
    late = session.scalars(
        select(Case)
        .where(
            Case.family_eta_at.is_not(None),
            Case.family_eta_at <= now - late_after,
            Case.state.in_(ON_THE_WAY),
        )
        .order_by(Case.id)
        .with_for_update(skip_locked=True)
    ).all()
    told_now = []
    for case in late:
        case.family_eta_at = None  # looked at once per arrival time told
        told = _told(session, case.id)
        accepted = [d for d in told if d.get("moment") == Moment.accepted]
        offer_id = accepted[-1].get("offer_id") if accepted else None
        if not _wants_updates(case) or any(
            d.get("moment") == Moment.delayed and d.get("offer_id") == offer_id for d in told
        ):
            continue
        _tell(session, clock, case, Moment.delayed, {"moment": Moment.delayed.value, "offer_id": offer_id})
        told_now.append(case.id)
    return told_now


@dataclass(frozen=True)
class CallbackTask:
    """A case waiting for a physician past the threshold: the operator calls the family back."""

    case_id: int
    reference: str
    waiting_since: datetime
    waiting_min: int


def callback_tasks(session: Session, now: datetime, after: timedelta, user: User) -> list[CallbackTask]:
    """Cases decided `after` ago or more, still without a physician, whose family nobody has called back
    (an area coordinator: their area's)."""
    rows = session.execute(
        in_users_area(select(Case.id, Case.decided_at), user, Case.programme_id)
        .where(
            Case.state.in_(AWAITING_PHYSICIAN),
            Case.decided_at.is_not(None),
            Case.decided_at <= now - after,
            Case.callback_phone_e164.is_not(None),
            Case.family_called_back_at.is_(None),
        )
        .order_by(Case.decided_at, Case.id)
    )
    return [
        CallbackTask(case_id, f"K{case_id}", since, int((now - since).total_seconds() // 60))
        for case_id, since in rows
        if since is not None  # the query's condition; for the type checker
    ]


class NoCallbackDue(Exception):
    """The case is not waiting for a physician (it has one, or it ended): there is no call to record."""


def record_called_back(session: Session, clock: Clock, case_id: int, actor: Actor, note: str | None) -> Case:
    """The operator called the family back: on the timeline, and the board's task is done."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(case_id)
    if case.state not in AWAITING_PHYSICIAN:
        raise NoCallbackDue(f"case {case.reference} is {case.state.value}, not waiting for a physician")
    if case.family_called_back_at is None:
        case.family_called_back_at = clock.now()
        record_event(
            session, case, CALLED_BACK, actor=actor, clock=clock, reason=note or "ご家族へ折り返し連絡済み"
        )
    return case
