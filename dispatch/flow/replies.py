"""An SMS from a physician, read and acted on once; the answer goes back as TwiML, in Japanese."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.cases.reasons import Why
from dispatch.cases.states import TERMINAL_STATES
from dispatch.clock import Clock, ManualClock
from dispatch.flow import shift_reminders
from dispatch.flow.swap_replies import answer_swap
from dispatch.offers import progress
from dispatch.offers.links import open_visit_offer, visit_url
from dispatch.offers.models import Offer, OfferState
from dispatch.offers.service import OfferClosed, PhysicianBusy, accept, end_offer
from dispatch.roster.models import Physician
from dispatch.services import Services
from dispatch.sms import protocol
from dispatch.sms.protocol import Intent
from dispatch.sms.service import queue_sms, record_inbound, record_reply
from dispatch.sqlite_lock import retry_locked

STRIKES_BEFORE_SILENCE = 3
SILENCE_S = 3600
# Fresh details links by SMS (「リンク」) per number and hour; then one word that we stop, then silence.
LINKS_PER_HOUR = 3
# A bare yes this long after the physician's offer ended is still answered about that offer.
LATE_REPLY = timedelta(minutes=30)
TWILIO_DATE_STEP = timedelta(seconds=1)  # Twilio gives a message's dates to the second


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: say nothing (a redelivered webhook, or a number we stopped answering)
    case_id: int | None = None


class PerNumber:
    """Messages of one kind per phone number, counted in Redis over a window that starts with the first
    (without Redis nothing is counted: we would rather answer than go quiet)."""

    def __init__(self, redis: Redis, kind: str, limit: int, window_s: int = 3600) -> None:
        self.redis, self.kind, self.limit, self.window_s = redis, kind, limit, window_s

    def _key(self, phone: str) -> str:
        return f"dispatch:{self.kind}:{phone}"

    def count(self, phone: str) -> int:
        """Count one; how many so far in the window."""
        try:
            count = int(self.redis.incr(self._key(phone)))
            self.redis.expire(self._key(phone), self.window_s, nx=True)
            return count
        except RedisError:
            return 0

    def over(self, phone: str) -> bool:
        """Past the limit already (before counting this one)."""
        try:
            return int(self.redis.get(self._key(phone)) or 0) > self.limit
        except RedisError:
            return False

    def clear(self, phone: str) -> None:
        with contextlib.suppress(RedisError):
            self.redis.delete(self._key(phone))


def _pending_offer(
    session: Session, physician_id: int, case_id: int | None, sent_at: datetime | None
) -> Offer | None:
    """The physician's pending offer the reply answers; for a reply sent at `sent_at` and read only now
    (`flow.missed_replies`), never one whose SMS left after it."""
    query = select(Offer).where(Offer.physician_id == physician_id, Offer.state == OfferState.pending)
    if case_id is not None:
        query = query.where(Offer.case_id == case_id)
    if sent_at is not None:
        query = query.where(_sent_before(sent_at))
    return session.scalar(query)


def _ended_offer(
    session: Session, now: datetime, physician_id: int, case_id: int | None, sent_at: datetime | None
) -> Offer | None:
    """The physician's latest offer that ended without their answer (for a bare reply: shortly before the
    reply was sent, `sent_at` for one found late, else now; never one whose SMS left after the reply)."""
    query = select(Offer).where(
        Offer.physician_id == physician_id,
        Offer.state.in_((OfferState.withdrawn, OfferState.timed_out, OfferState.failed)),
    )
    if case_id is not None:
        query = query.where(Offer.case_id == case_id)
    else:
        query = query.where(Offer.responded_at >= (sent_at or now) - LATE_REPLY)
    if sent_at is not None:
        query = query.where(_sent_before(sent_at))
    return session.scalar(query.order_by(Offer.id.desc()).limit(1))


def _sent_before(sent_at: datetime) -> ColumnElement[bool]:
    """An offer whose SMS left no later than the second a reply is dated (Twilio's dates are to the second)."""
    return Offer.sms_sent_at < sent_at + TWILIO_DATE_STEP


def _too_late(session: Session, offer_id: int) -> Answer:
    """An answer to an offer that ended first: the centre arranged the case otherwise, or it closed."""
    offer = session.get_one(Offer, offer_id)
    state = session.scalar(select(Case.state).where(Case.id == offer.case_id))
    arranged = offer.state is OfferState.withdrawn and state not in TERMINAL_STATES
    text = protocol.arranged_text if arranged else protocol.too_late_text
    return Answer(text(offer.case_id), offer.case_id)


def _answer_offer(
    session,
    clock,
    physician: Physician,
    reply: protocol.Reply,
    secret: str,
    base_url: str,
    sent_at: datetime | None = None,
) -> Answer:
    offer = _pending_offer(session, physician.id, reply.case_id, sent_at)
    held = progress.active_case(session, physician.id, reply.case_id) if offer is None else None
    if held is not None and sent_at is not None and not _held_at(held, sent_at):
        held = None  # found late: a case they accepted after the reply is not what it answers
    if held is not None and reply.intent is Intent.accept:
        # They already have this case (our first answer may not have reached them): send the link again.
        accepted = session.scalar(
            select(Offer).where(
                Offer.case_id == held.id, Offer.physician_id == physician.id, Offer.state == OfferState.accepted
            )
        )
        if accepted is not None:
            return Answer(protocol.accepted_text(held.id, visit_url(base_url, secret, accepted)), held.id)
    if offer is None:
        ended = _ended_offer(session, clock.now(), physician.id, reply.case_id, sent_at)
        if ended is not None:
            return _too_late(session, ended.id)
        if reply.case_id is not None:
            return Answer(protocol.too_late_text(reply.case_id), reply.case_id)
        return Answer(protocol.NOTHING_PENDING_TEXT)
    actor = Actor(label=f"sms:physician-{physician.id}")
    try:
        if reply.intent is Intent.accept:
            case = accept(session, clock, offer.id, actor)
            return Answer(protocol.accepted_text(case.id, visit_url(base_url, secret, offer)), case.id)
        end_offer(session, clock, offer.id, OfferState.declined, Why.declined_by_sms, actor=actor)
        return Answer(protocol.declined_text(offer.case_id), offer.case_id)
    except OfferClosed:  # the coordinator's hand, a deadline or a cancellation came first: nothing written
        return _too_late(session, offer.id)
    except PhysicianBusy:
        return Answer(protocol.busy_text(offer.case_id), offer.case_id)


def _answer_link(
    session: Session, physician: Physician, reply: protocol.Reply, asked: int, secret: str, base_url: str
) -> Answer:
    """A fresh link to the open visit: the links already out keep working (another device may hold one);
    the coordinator's revocation is what ends them all."""
    if asked > LINKS_PER_HOUR + 1:
        return Answer(None)
    if asked > LINKS_PER_HOUR:
        return Answer(protocol.LINK_LIMIT_TEXT)
    offer = open_visit_offer(session, physician.id, reply.case_id)
    if offer is None:
        return Answer(protocol.NO_VISIT_TEXT)
    return Answer(protocol.link_text(offer.case_id, visit_url(base_url, secret, offer)), offer.case_id)


def _answer_progress(
    session, clock, physician: Physician, reply: protocol.Reply, sent_at: datetime | None = None
) -> Answer:
    """A step of the visit (出発, 到着, 完了). One found late (`flow.missed_replies`, sent at `sent_at`) is
    about a case they held then: never one they accepted after it; a step the case has passed since is
    let go in silence; 到着 and 完了 are recorded at the time they were sent (call → arrival is what the
    statistics count), 出発 now (the family's arrival estimate runs from it)."""
    case = progress.active_case(session, physician.id, reply.case_id)
    if sent_at is not None and (case is None or not _held_at(case, sent_at)):
        return Answer(None)  # about a case that has ended since; the one they hold now is not it
    if case is None:
        return Answer(protocol.NO_VISIT_TEXT)
    if sent_at is not None and progress.overtaken(case, reply.intent):
        return Answer(None)
    if sent_at is not None and reply.intent is not Intent.en_route:
        clock = ManualClock(min(max(sent_at, case.updated_at), clock.now()))
    try:
        progress.report(session, clock, case, reply.intent, Actor(label=f"sms:physician-{physician.id}"))
    except progress.ProgressRefused:
        return Answer(f"#K{case.id} 先に「{case.id} 到着」と返信してください。", case.id)
    return Answer(protocol.status_text(case.id, reply.intent), case.id)


def _held_at(case: Case, sent_at: datetime) -> bool:
    """Whether the physician held `case` when they sent a reply dated `sent_at` (to the second)."""
    return case.accepted_at is not None and case.accepted_at < sent_at + TWILIO_DATE_STEP


def handle_inbound(
    session: Session,
    clock: Clock,
    redis: Redis,
    *,
    sid: str,
    phone: str,
    body: str,
    secret: str,
    base_url: str,
    programme_code: str,
    received_at: datetime | None = None,
) -> Answer:
    """Act on an inbound SMS once per MessageSid; unknown numbers learn nothing about any case. The answer
    goes back as the webhook's TwiML, or, for a reply the webhook never got (`received_at`: when Twilio had
    it), as an SMS."""
    if record_inbound(session, clock, sid, phone, body) is None:
        return Answer(None)
    strikes = PerNumber(redis, "sms-strikes", STRIKES_BEFORE_SILENCE, SILENCE_S)
    physician = session.scalar(
        select(Physician).where(Physician.phone_e164 == phone, Physician.active.is_(True))
    )
    reply = protocol.read_reply(body)
    if physician is None or reply.intent is Intent.unreadable:
        # Only nonsense counts against a number; a rostered physician's readable reply is always acted on.
        if strikes.over(phone) or strikes.count(phone) > strikes.limit:
            return Answer(None)
        answer = Answer(protocol.UNKNOWN_NUMBER_TEXT if physician is None else protocol.HELP_TEXT)
    else:
        strikes.clear(phone)
        if reply.intent in (Intent.accept, Intent.decline):
            answer = _answer_offer(session, clock, physician, reply, secret, base_url, received_at)
        elif reply.intent is Intent.take_swap:
            text = answer_swap(session, clock, programme_code, physician, reply.case_id)
            answer = Answer(text)
        elif reply.intent in (Intent.reminders_off, Intent.reminders_on):
            physician.shift_reminders = reply.intent is Intent.reminders_on
            answer = Answer(shift_reminders.choice_text(physician.shift_reminders))
        elif reply.intent is Intent.link:
            asked = PerNumber(redis, "sms-links", LINKS_PER_HOUR).count(phone)
            answer = _answer_link(session, physician, reply, asked, secret, base_url)
        else:
            answer = _answer_progress(session, clock, physician, reply, received_at)
    if answer.text and received_at is None:
        record_reply(session, clock, phone, answer.text, answer.case_id)
    elif answer.text:
        queue_sms(session, clock, phone, answer.text, "late_reply", case_id=answer.case_id)
    return answer


@retry_locked  # a deadlock with a matching round is rolled back whole; the MessageSid makes a rerun safe
def answer_sms(
    services: Services, *, sid: str, phone: str, body: str, received_at: datetime | None = None
) -> str | None:
    """Act on an inbound SMS in a transaction of its own; the text to answer it with, if any
    (`received_at`: as `handle_inbound`)."""
    settings = services.settings
    with services.session_factory() as session:
        answer = handle_inbound(
            session,
            services.clock,
            services.redis,
            sid=sid,
            phone=phone,
            body=body,
            secret=settings.secret_key.get_secret_value(),
            base_url=settings.public_base_url,
            programme_code=settings.programme_code,
            received_at=received_at,
        )
        session.commit()
    return answer.text
