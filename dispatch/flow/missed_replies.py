"""Replies the webhook never got. Twilio posts an SMS to our number once; if the API is down or restarting
at that moment the post fails and is not made again, and a physician who answered 「はい」 would drive out
while their offer timed out behind them. Every `POLL_EVERY` the reconciler (on a worker, so this works while
the API is down) asks Twilio for the SMS received in the last `LOOK_BACK` and acts on any it never had: the
same handling as the webhook's, once per MessageSid, its answer sent as an SMS; an offer sent after the
reply left is not what it answers."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from rq.timeouts import BaseTimeoutException
from sqlalchemy import select

from dispatch.flow import replies
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.services import Services
from dispatch.sms.models import SmsMessage

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=30)
LOOK_BACK = timedelta(minutes=30)  # an offer's answer older than this is long past its deadline
# The webhook for a message this young may still be on its way: left to it, so that the answer is its TwiML.
IN_FLIGHT = timedelta(seconds=20)
LAST_POLL_KEY = "missed-replies:last-poll"


def recover(services: Services, deadline: float) -> list[str]:
    """Act on the SMS Twilio received that we never recorded, until `deadline` (time.monotonic()); their
    sids ([] between polls, or when Twilio cannot say)."""
    now = services.clock.now()
    if not _due(services, now):
        return []
    received = services.gateway.received_since(now - LOOK_BACK)
    if not received:
        return []
    settled = [m for m in received if m.received_at <= now - IN_FLIGHT]
    with services.session_factory() as session:
        known = set(
            session.scalars(
                select(SmsMessage.provider_sid).where(SmsMessage.provider_sid.in_([m.sid for m in settled]))
            )
        )
    recovered = []
    for message in reversed(settled):  # oldest first, as the physician sent them
        if message.sid in known:
            continue
        if time.monotonic() > deadline:
            break  # the rest on the next poll
        try:
            phone = to_e164(message.phone)
            replies.answer_sms(
                services, sid=message.sid, phone=phone, body=message.body, received_at=message.received_at
            )
        except InvalidPhoneNumber:
            continue
        except BaseTimeoutException:
            raise
        except Exception:  # one message must not hold up the ones behind it for the next half hour
            log.exception("missed replies: SMS %s could not be acted on", message.sid)
            continue
        recovered.append(message.sid)
    if recovered:
        log.warning("%d SMS to our number never reached the webhook: acted on now", len(recovered))
    return recovered


def _due(services: Services, now: datetime) -> bool:
    """Whether `POLL_EVERY` has passed since the last poll, on the service's clock (two sweeps at once may
    both poll: each message is acted on once all the same)."""
    last = services.redis.get(LAST_POLL_KEY)
    if isinstance(last, bytes) and now - datetime.fromisoformat(last.decode()) < POLL_EVERY:
        return False
    services.redis.set(LAST_POLL_KEY, now.isoformat(), ex=int(LOOK_BACK.total_seconds()))
    return True
