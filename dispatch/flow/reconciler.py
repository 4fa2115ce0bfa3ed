"""The sweep that makes sure no case stalls silently: whatever state calls for work that no job holds,
it re-drives from the database. Losing Redis or a worker delays work; it loses none."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from rq.timeouts import BaseTimeoutException
from sqlalchemy import or_, select

from dispatch.cases.models import Case
from dispatch.cases.states import CaseState
from dispatch.db import unit_of_work
from dispatch.family import service as family
from dispatch.flow import calls, missed_replies, runner
from dispatch.heartbeats import RECONCILER, SWEEP_PARTS, Sweeper, beat
from dispatch.offers import service
from dispatch.services import Services
from dispatch.sms import delivery
from dispatch.sms.gateway import UNKNOWN
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import release_stale_claims

log = logging.getLogger(__name__)

DISPATCHING_IDLE = timedelta(seconds=10)
UNFILLED_RETRY = timedelta(seconds=30)
SMS_STUCK = timedelta(seconds=10)
SMS_CLAIM_LOST = timedelta(seconds=30)
MAX_RESENDS = 20  # per pass, so a Twilio outage cannot make one pass outlive its job timeout
ASK_BUDGET_S = 3.0  # per pass, for asking Twilio what its callbacks never told us (a pass runs every 5 s)


@dataclass
class Sweep:
    timed_out: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    rematched: bool = False
    families_told: list[int] = field(default_factory=list)  # of a late visit (`dispatch.family`)
    called: list[int] = field(default_factory=list)  # offers whose physician was rung in this pass
    reported: list[int] = field(default_factory=list)  # SMS whose lost delivery report we asked for
    recovered: list[str] = field(default_factory=list)  # replies the webhook never got, acted on now


def reconcile(services: Services, by: Sweeper = "cron") -> Sweep:
    """One pass: overdue offers, unsent SMS (held ones once their time comes), cases left waiting for a
    matching round, offers due a call, delivery reports and replies that never came. Then a heartbeat, for
    the sweep and for who ran it (`by`: the job cron schedules, or a worker standing in for cron).

    Safe beside another pass at the same moment: every step takes its row first (an offer and its case
    locked before it times out, an SMS claimed in one UPDATE before it is sent, one matching round at a
    time), so two passes time an offer out once and send each message once."""
    sweep = Sweep()
    now = services.clock.now()
    for offer_id in runner.overdue_offer_ids(services):
        try:
            with unit_of_work(services.session_factory) as session:
                if service.expire_if_due(session, services.clock, offer_id):
                    sweep.timed_out.append(offer_id)
        except Exception:  # one bad offer must not stop the sweep for every other case
            log.exception("reconciler: offer %s could not be timed out", offer_id)
    with unit_of_work(services.session_factory) as session:
        # A lost claim is overdue by definition: sent again in this pass, not the next.
        released = release_stale_claims(session, services.clock, SMS_CLAIM_LOST)
    with services.session_factory() as session:
        stuck = session.scalars(
            select(SmsMessage.id).where(
                SmsMessage.status == "pending", SmsMessage.updated_at <= now - SMS_STUCK
            )
        )
        # Held by the hourly cap until its number's window has room (never before: no retry every pass).
        due = session.scalars(
            select(SmsMessage.id)
            .where(SmsMessage.status == "held", SmsMessage.not_before <= now)
            .order_by(SmsMessage.id)
            .limit(MAX_RESENDS)
        )
        unsent = sorted({*released, *stuck, *due})
        waiting = session.scalar(
            select(Case.id)
            .where(
                Case.current_offer_id.is_(None),
                or_(
                    (Case.state == CaseState.dispatching)
                    & (or_(Case.last_matched_at.is_(None), Case.last_matched_at <= now - DISPATCHING_IDLE)),
                    (Case.state == CaseState.unfilled) & (Case.last_matched_at <= now - UNFILLED_RETRY),
                ),
            )
            .limit(1)
        )
    if sweep.timed_out or waiting is not None:
        try:
            runner.drive(services)
            sweep.rematched = True
        except Exception:
            log.exception("reconciler: matching round failed")
    for message_id in unsent[:MAX_RESENDS]:
        try:
            if runner.send(services, message_id):
                sweep.resent.append(message_id)
        except Exception:
            log.exception("reconciler: SMS %s could not be sent", message_id)
    try:
        with unit_of_work(services.session_factory) as session:
            late_after = timedelta(minutes=services.settings.family_delay_after_min)
            sweep.families_told = family.tell_delays(session, services.clock, late_after)
    except Exception:
        log.exception("reconciler: the families of late visits could not be told")
    _ring_due(services, sweep)
    _ask_lost_reports(services, sweep)
    try:
        sweep.recovered = missed_replies.recover(services, time.monotonic() + ASK_BUDGET_S)
    except BaseTimeoutException:
        raise
    except Exception:
        log.exception("reconciler: the replies Twilio received could not be asked for")
    beat(services.redis, RECONCILER, SWEEP_PARTS[by])
    return sweep


def _ring_due(services: Services, sweep: Sweep) -> None:
    """Offers unanswered past their call time that nobody rang, and coordinator calls never placed."""
    offers, stuck = calls.due_calls(services)
    for offer_id in offers[:MAX_RESENDS]:
        try:
            if calls.call_if_due(services, offer_id):
                sweep.called.append(offer_id)
        except Exception:
            log.exception("reconciler: offer %s could not be rung", offer_id)
    for call_id in stuck[:MAX_RESENDS]:
        try:
            calls.place_call(services, call_id)
        except Exception:
            log.exception("reconciler: call %s could not be placed", call_id)


def _ask_lost_reports(services: Services, sweep: Sweep) -> None:
    """SMS sent but never reported on: their status asked of Twilio, and recorded as a callback would be;
    for at most ASK_BUDGET_S a pass, so that a slow Twilio cannot hold the sweep up."""
    quiet_for = timedelta(seconds=services.settings.sms_status_check_after_s)
    deadline = time.monotonic() + ASK_BUDGET_S
    try:
        with services.session_factory() as session:
            lost = delivery.awaiting_report(session, services.clock.now(), quiet_for, MAX_RESENDS)
        for message_id, sid in lost:
            if time.monotonic() > deadline:
                break
            known = services.gateway.status_of(sid)
            if known is None:
                break  # Twilio unreachable or failing: the rest wait for the next pass, not a timeout each
            gone = known.status == UNKNOWN
            if not gone and runner.on_status(services, sid, known.status, known.error_code):
                sweep.reported.append(message_id)
                continue
            with unit_of_work(services.session_factory) as session:
                delivery.asked(session, services.clock, message_id, gone=gone)
    except BaseTimeoutException:
        raise  # the job's own time is up (RQ raises it in the job's thread): not a failure of this step
    except Exception:
        log.exception("reconciler: delivery reports could not be asked for")
