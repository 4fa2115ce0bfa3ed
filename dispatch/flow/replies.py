"""An SMS from a physician, read and acted on once; the answer goes back as TwiML, in Japanese."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.lifecycle import Actor
from dispatch.clock import Clock
from dispatch.offers import progress
from dispatch.offers.links import visit_url
from dispatch.offers.models import Offer, OfferState
from dispatch.offers.service import OfferClosed, PhysicianBusy, accept, end_offer
from dispatch.roster.models import Physician
from dispatch.services import Services
from dispatch.sms import protocol
from dispatch.sms.protocol import Intent
from dispatch.sms.service import record_inbound, record_reply

STRIKES_BEFORE_SILENCE = 3
SILENCE_S = 3600


@dataclass(frozen=True)
class Answer:
    text: str | None  # None: say nothing (a redelivered webhook, or a number we stopped answering)
    case_id: int | None = None


class Strikes:
    """Unreadable messages per number; after a few, we stop auto-replying to it for a while."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def _key(self, phone: str) -> str:
        return f"dispatch:sms-strikes:{phone}"

    def strike(self, phone: str) -> bool:
        """Count one; True while we should still answer this number."""
        try:
            count = self.redis.incr(self._key(phone))
            self.redis.expire(self._key(phone), SILENCE_S, nx=True)
            return count <= STRIKES_BEFORE_SILENCE
        except RedisError:
            return True

    def silenced(self, phone: str) -> bool:
        try:
            return int(self.redis.get(self._key(phone)) or 0) > STRIKES_BEFORE_SILENCE
        except RedisError:
            return False

    def clear(self, phone: str) -> None:
        with contextlib.suppress(RedisError):
            self.redis.delete(self._key(phone))


def _pending_offer(session: Session, physician_id: int, case_id: int | None) -> Offer | None:
    query = select(Offer).where(Offer.physician_id == physician_id, Offer.state == OfferState.pending)
    if case_id is not None:
        query = query.where(Offer.case_id == case_id)
    return session.scalar(query)


def _answer_offer(
    session, clock, physician: Physician, reply: protocol.Reply, secret: str, base_url: str
) -> Answer:
    offer = _pending_offer(session, physician.id, reply.case_id)
    held = progress.active_case(session, physician.id, reply.case_id) if offer is None else None
    if held is not None and reply.intent is Intent.accept:
        # They already have this case (our first answer may not have reached them): send the link again.
        accepted = session.scalar(
            select(Offer).where(
                Offer.case_id == held.id, Offer.physician_id == physician.id, Offer.state == OfferState.accepted
            )
        )
        if accepted is not None:
            return Answer(protocol.accepted_text(held.id, visit_url(base_url, secret, accepted.id)), held.id)
    if offer is None:
        if reply.case_id is not None:
            return Answer(protocol.too_late_text(reply.case_id), reply.case_id)
        return Answer(protocol.NOTHING_PENDING_TEXT)
    actor = Actor(label=f"sms:physician-{physician.id}")
    try:
        if reply.intent is Intent.accept:
            case = accept(session, clock, offer.id, actor)
            return Answer(protocol.accepted_text(case.id, visit_url(base_url, secret, offer.id)), case.id)
        end_offer(session, clock, offer.id, OfferState.declined, "declined by SMS", actor=actor)
        return Answer(protocol.declined_text(offer.case_id), offer.case_id)
    except OfferClosed:
        return Answer(protocol.too_late_text(offer.case_id), offer.case_id)
    except PhysicianBusy:
        return Answer(protocol.busy_text(offer.case_id), offer.case_id)


def _answer_progress(session, clock, physician: Physician, reply: protocol.Reply) -> Answer:
    case = progress.active_case(session, physician.id, reply.case_id)
    if case is None:
        return Answer("担当中の往診はありません。")
    try:
        progress.report(session, clock, case, reply.intent, Actor(label=f"sms:physician-{physician.id}"))
    except progress.ProgressRefused:
        return Answer(f"#K{case.id} 先に「{case.id} 到着」と返信してください。", case.id)
    return Answer(protocol.status_text(case.id, reply.intent), case.id)


def handle_inbound(
    session: Session, clock: Clock, redis: Redis, *, sid: str, phone: str, body: str, secret: str, base_url: str
) -> Answer:
    """Act on an inbound SMS once per MessageSid; unknown numbers learn nothing about any case."""
    if record_inbound(session, clock, sid, phone, body) is None:
        return Answer(None)
    strikes = Strikes(redis)
    physician = session.scalar(
        select(Physician).where(Physician.phone_e164 == phone, Physician.active.is_(True))
    )
    reply = protocol.read_reply(body)
    if physician is None or reply.intent is Intent.unreadable:
        # Only nonsense counts against a number; a rostered physician's readable reply is always acted on.
        if strikes.silenced(phone) or not strikes.strike(phone):
            return Answer(None)
        answer = Answer(protocol.UNKNOWN_NUMBER_TEXT if physician is None else protocol.HELP_TEXT)
    else:
        strikes.clear(phone)
        if reply.intent in (Intent.accept, Intent.decline):
            answer = _answer_offer(session, clock, physician, reply, secret, base_url)
        else:
            answer = _answer_progress(session, clock, physician, reply)
    if answer.text:
        record_reply(session, clock, phone, answer.text, answer.case_id)
    return answer


def answer_sms(services: Services, *, sid: str, phone: str, body: str) -> str | None:
    """Act on an inbound SMS in a transaction of its own; the text to answer it with, if any."""
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
        )
        session.commit()
    return answer.text
