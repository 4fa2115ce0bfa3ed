"""Recording SMS: queue outbound messages in the database, send each exactly once, follow statuses forward,
and take each inbound message once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, literal, null, select, true, update
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached, object_session, sessionmaker

from dispatch import bulk
from dispatch.clock import Clock
from dispatch.db import UTCDateTime, table_of
from dispatch.jobs import SEND_SMS
from dispatch.outbox import defer_job
from dispatch.phones import masked
from dispatch.sms import cap as cap_rule
from dispatch.sms.cap import HourlyCap
from dispatch.sms.gateway import SmsGateway, SmsRejected, SmsUnavailable
from dispatch.sms.models import FAILED_STATUSES, STATUS_ORDER, Direction, SmsMessage

log = logging.getLogger(__name__)
LINK = re.compile(r"/visit/[\w.\-]+")
# What a send job or the sweep may take: written and not yet sent, or held by the cap (which checks again).
SENDABLE = ("pending", "held")


def queue_sms(
    session: Session,
    clock: Clock,
    phone: str,
    body: str,
    purpose: str,
    *,
    case_id: int | None = None,
    offer_id: int | None = None,
    claimed: bool = False,
) -> SmsMessage:
    """Write an outbound SMS as pending; a job sends it after the commit. `claimed=True`: written already
    claimed, for the caller to send itself right after the commit (`send_claimed`), sparing a transaction
    before the send; if that never happens (a crash), the reconciler releases the claim and sends it."""
    now = clock.now()
    message = SmsMessage(
        direction=Direction.outbound,
        phone_e164=phone,
        body=body,
        purpose=purpose,
        status="claimed" if claimed else "pending",
        case_id=case_id,
        offer_id=offer_id,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    if not claimed:
        session.flush()  # the job needs its id; a claimed one is written with the commit
        defer_job(session, SEND_SMS, message.id, job_id=f"sms-{message.id}")
    return message


def queue_claimed(
    session: Session, clock: Clock, messages: list[tuple[str, str, str, int | None, int | None]]
) -> list[SmsMessage]:
    """`queue_sms(..., claimed=True)` for many messages at once, each (phone, body, purpose, case_id,
    offer_id): one statement on PostgreSQL (`dispatch.bulk`), the rows then in the session as if loaded."""
    if not bulk.supported(session):
        return [
            queue_sms(session, clock, p, b, u, case_id=c, offer_id=o, claimed=True)
            for p, b, u, c, o in messages
        ]
    now = clock.now()
    columns: dict[str, list[Any]] = {
        "direction": [Direction.outbound] * len(messages),
        "phone_e164": [m[0] for m in messages],
        "body": [m[1] for m in messages],
        "purpose": [m[2] for m in messages],
        "status": ["claimed"] * len(messages),
        "case_id": [m[3] for m in messages],
        "offer_id": [m[4] for m in messages],
        "created_at": [now] * len(messages),
        "updated_at": [now] * len(messages),
    }
    written = bulk.insert(session, table_of(SmsMessage), columns, ("id", "offer_id", "case_id", "body"))
    ids = {(offer_id, case_id, body): sms_id for sms_id, offer_id, case_id, body in written}
    result = []
    for phone, body, purpose, case_id, offer_id in messages:
        message = SmsMessage(
            id=ids[(offer_id, case_id, body)],
            provider_sid=None,
            direction=Direction.outbound,
            phone_e164=phone,
            body=body,
            purpose=purpose,
            status="claimed",
            error_code=None,
            case_id=case_id,
            offer_id=offer_id,
            created_at=now,
            updated_at=now,
            sent_at=None,
            not_before=None,
        )
        make_transient_to_detached(message)
        session.add(message)  # as loaded: a change to it (the coordinator's hand withdraws one) is written
        result.append(message)
    return result


def send_pending(
    factory: sessionmaker[Session],
    clock: Clock,
    gateway: SmsGateway,
    message_id: int,
    status_callback: str | None,
    then: Callable[[Session, SmsMessage], None] | None = None,
    taken: tuple[str, ...] = SENDABLE,
    *,
    withdraw_if: ColumnElement[bool],
    cap: HourlyCap | None = None,
) -> SmsMessage | None:
    """Hand a pending message to the provider, at most once: claim it, send, record the provider's id.

    `then(session, message)` runs in the transaction that records what the provider said (sent or refused),
    so what follows from it commits with it. Returns the message if this call sent it (or the provider
    refused it), None if it was not ours to send. `taken=("claimed",)`: take again a claim this process
    holds (from `send_claimed`), if nobody has released it. `withdraw_if`: a condition on the message under
    which it is withdrawn instead of sent (an offer SMS whose offer ended before it could leave). `cap`: a
    message beyond its number's hourly cap is held instead (None returned), in the claim's transaction.
    """
    with factory() as session:
        room: ColumnElement[bool] = true()
        params: dict[str, object] = {}
        if cap is not None:
            cap.lock(session, message_id)
            room, params = cap_rule.ROOM, cap.params(clock)
        now = clock.now()
        # Claimed, withdrawn if it went stale before it could leave, or held by the cap: one statement.
        message = session.scalar(
            update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status.in_(taken), SmsMessage.provider_sid.is_(None))
            .values(
                status=sql_case((withdraw_if, "withdrawn"), (room, "claimed"), else_="held"),
                sent_at=sql_case(
                    (withdraw_if, SmsMessage.sent_at), (room, literal(now, UTCDateTime())), else_=null()
                ),
                updated_at=now,
            )
            .returning(SmsMessage),
            params,
        )
        if message is not None and message.status == "held" and cap is not None:
            cap.hold(session, clock, message)
        session.commit()
        if message is None or message.status != "claimed":
            return None
        return _deliver(session, clock, gateway, message, status_callback, then)


# A claim written with its round is sent without a second look while it is this fresh. Older (the job's
# earlier sends were slow), it is taken again first, fenced like `send_pending`'s claim: the reconciler
# releases claims older than 30 s, and the offer may have ended meanwhile.
CLAIM_FRESH = timedelta(seconds=5)


def send_claimed(
    factory: sessionmaker[Session],
    clock: Clock,
    gateway: SmsGateway,
    message: SmsMessage,
    status_callback: str | None,
    then: Callable[[Session, SmsMessage], None] | None = None,
    *,
    withdraw_if: ColumnElement[bool],
    cap: HourlyCap | None = None,
) -> SmsMessage | None:
    """Send a message written already claimed (`queue_sms(claimed=True)`) by the transaction that just
    committed, and record what the provider said as `send_pending` does; None if it was no longer ours to
    send, was held by the cap, or the provider was out."""
    if message.id is None or message.status != "claimed" or message.provider_sid is not None:
        raise ValueError(f"SMS {message.id} is not a committed, claimed, unsent message")
    if clock.now() - message.updated_at > CLAIM_FRESH:
        return send_pending(
            factory,
            clock,
            gateway,
            message.id,
            status_callback,
            then,
            ("claimed",),
            withdraw_if=withdraw_if,
            cap=cap,
        )
    writer = object_session(message)
    if writer is not None:  # the committed session that wrote it, still open (a request's)
        writer.expunge(message)
    with factory() as session:
        session.add(message)
        if cap is not None:  # the number's place taken (or the message held) before it leaves
            placed = cap.take_place(session, clock, message)
            session.commit()
            if not placed:
                return None
        return _deliver(session, clock, gateway, message, status_callback, then)


def _deliver(
    session: Session,
    clock: Clock,
    gateway: SmsGateway,
    message: SmsMessage,
    status_callback: str | None,
    then: Callable[[Session, SmsMessage], None] | None,
) -> SmsMessage | None:
    """Send a message this process holds the claim on, and record the outcome in `session`."""
    try:
        sent = gateway.send(message.phone_e164, message.body, status_callback=status_callback)
    except SmsRejected as exc:
        message.status, message.error_code = "failed", exc.code
        # The code only: Twilio's text for a refused number quotes the number in full.
        log.warning("SMS %s to %s refused: Twilio error %s", message.id, masked(message.phone_e164), exc.code)
    except SmsUnavailable:
        message.status = "pending"  # the reconciler tries again
        message.sent_at = None  # it never left: its place under the cap is free again
        message.updated_at = clock.now()
        session.commit()
        return None
    else:
        message.provider_sid = sent.sid
        _advance(message, sent.status)
    message.body = redact_links(message.body)  # sent or refused for good: a details link is not kept
    message.updated_at = clock.now()
    message.sent_at = message.sent_at or message.updated_at
    if then is not None:
        then(session, message)
    session.commit()
    return message


def _advance(message: SmsMessage, status: str) -> bool:
    """Move the status forward only; True if it moved."""
    if STATUS_ORDER.get(status, -3) <= STATUS_ORDER.get(message.status, -3):
        return False
    message.status = status
    return True


def record_status(
    session: Session, clock: Clock, sid: str, status: str, error_code: str | None
) -> SmsMessage | None:
    """Apply a delivery status callback; a late 'sent' after 'delivered' changes nothing."""
    message = session.scalar(select(SmsMessage).where(SmsMessage.provider_sid == sid).with_for_update())
    if message is None or not _advance(message, status):
        return None
    message.error_code = error_code or message.error_code
    message.updated_at = clock.now()
    return message


def is_failure(status: str) -> bool:
    return status in FAILED_STATUSES


def record_inbound(session: Session, clock: Clock, sid: str, phone: str, body: str) -> SmsMessage | None:
    """Store an inbound SMS; None if this MessageSid was already taken (a redelivered webhook)."""
    now = clock.now()
    message = SmsMessage(
        provider_sid=sid,
        direction=Direction.inbound,
        phone_e164=phone,
        body=body[:1600],
        purpose="reply",
        status="received",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return None
    return message


def redact_links(body: str) -> str:
    """A details link opens a patient's record: it is sent, never stored or shown."""
    return LINK.sub("/visit/…", body)


def record_reply(session: Session, clock: Clock, phone: str, body: str, case_id: int | None) -> None:
    """Keep the TwiML answer we gave (its link redacted), for the outbox and the case's record."""
    now = clock.now()
    session.add(
        SmsMessage(
            direction=Direction.outbound,
            phone_e164=phone,
            body=redact_links(body),
            purpose="twiml_reply",
            status="replied",
            case_id=case_id,
            created_at=now,
            updated_at=now,
        )
    )


def release_stale_claims(session: Session, clock: Clock, older_than: timedelta) -> list[int]:
    """Messages a worker claimed but never reported (it died mid-send) become sendable again; their ids.

    At-least-once: if the worker died after Twilio took the message but before we recorded it, the phone
    gets it twice. Better twice than a case waiting on an offer nobody received.
    """
    return list(
        session.scalars(
            update(SmsMessage)
            .where(
                SmsMessage.status == "claimed",
                SmsMessage.provider_sid.is_(None),
                SmsMessage.updated_at <= clock.now() - older_than,
            )
            .values(status="pending", updated_at=clock.now())
            .returning(SmsMessage.id)
        )
    )
