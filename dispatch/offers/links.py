"""The signed, short-lived link a physician gets on accepting: it names an offer and the offer's link
generation, never a patient. It opens the case only while that offer holds an open visit and the
generation is current: a handoff, a cancellation, a take-back or the coordinator's revocation ends it."""

from __future__ import annotations

from typing import NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.cases.lifecycle import Actor, record_event
from dispatch.cases.models import Case
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState
from dispatch.clock import Clock
from dispatch.offers.models import Offer, OfferState

LINK_TTL_S = 12 * 3600
_SALT = "visit-details-link"
# The physician may still need the page after 完了, to record the outcome; the morning handoff ends it.
OPEN_VISIT_STATES = frozenset({*ACTIVE_VISIT_STATES, CaseState.visit_completed})


class LinkInvalid(Exception):
    """The link is forged, damaged or expired."""


class LinkExpired(LinkInvalid):
    """A link we signed, older than its time to live."""


class LinkClosed(Exception):
    """A link we signed that no longer opens the case: expired or closed alike, its holder learns no more."""


class NoLinkToRevoke(Exception):
    """The case has no accepted offer, so no details link."""

    def __init__(self, case: Case) -> None:
        super().__init__(f"case {case.reference} has no accepted offer, so no details link to revoke")
        self.case = case


class LinkClaim(NamedTuple):
    offer_id: int
    generation: int


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def make_token(secret: str, offer_id: int, generation: int = 0) -> str:
    """A token for the accepted offer's details page, valid while `generation` is the offer's."""
    return _serializer(secret).dumps({"o": offer_id, "g": generation})


def read_token(secret: str, token: str, max_age_s: int = LINK_TTL_S) -> LinkClaim:
    """The offer and generation behind a token; LinkInvalid if it is forged or older than `max_age_s`."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise LinkExpired("this link has expired; ask the centre for a new one") from None
    except BadSignature:
        raise LinkInvalid("this link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        raise LinkInvalid("this link is not valid")
    generation = data.get("g", 0)  # links made before generations count as the first
    if not isinstance(generation, int):
        raise LinkInvalid("this link is not valid")
    return LinkClaim(data["o"], generation)


def visit_url(base_url: str, secret: str, offer: Offer) -> str:
    """The details link for an accepted offer, at its current generation."""
    return f"{base_url.rstrip('/')}/visit/{make_token(secret, offer.id, offer.link_generation)}"


def open_visit(session: Session, secret: str, token: str) -> tuple[Offer, Case]:
    """The offer and its case (locked) behind a link that still opens it; LinkInvalid for a link we never
    signed, LinkClosed for one of ours that has expired, been revoked, or whose visit is over."""
    try:
        claim = read_token(secret, token)
    except LinkExpired:
        raise LinkClosed() from None
    case_id = session.scalar(select(Offer.case_id).where(Offer.id == claim.offer_id))
    case = session.get(Case, case_id, with_for_update=True) if case_id is not None else None
    offer = session.get(Offer, claim.offer_id, populate_existing=True) if case is not None else None
    if (
        offer is None
        or case is None
        or offer.state is not OfferState.accepted
        or offer.link_generation != claim.generation
        or case.assigned_physician_id != offer.physician_id
        or case.state not in OPEN_VISIT_STATES
    ):
        raise LinkClosed()
    return offer, case


def open_visit_offer(session: Session, physician_id: int, case_id: int | None = None) -> Offer | None:
    """The accepted offer behind the physician's open visit (the latest, or the one for `case_id`)."""
    query = (
        select(Offer)
        .join(Case, Case.id == Offer.case_id)
        .where(
            Offer.physician_id == physician_id,
            Offer.state == OfferState.accepted,
            Case.assigned_physician_id == physician_id,
            Case.state.in_(OPEN_VISIT_STATES),
        )
        .order_by(Offer.id.desc())
        .limit(1)
    )
    if case_id is not None:
        query = query.where(Offer.case_id == case_id)
    return session.scalar(query)


def revoke(session: Session, clock: Clock, case_id: int, user: User) -> Offer:
    """End every details link of the case made so far (the physician may ask for a fresh one by SMS);
    on the timeline and in the audit log. LookupError: no such case; NoLinkToRevoke: nobody accepted it."""
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise LookupError(case_id)
    offer = session.scalar(
        select(Offer)
        .where(Offer.case_id == case.id, Offer.state == OfferState.accepted)
        .order_by(Offer.id.desc())
        .with_for_update()
    )
    if offer is None:
        raise NoLinkToRevoke(case)
    offer.link_generation += 1
    detail = {"offer_id": offer.id, "physician_id": offer.physician_id, "generation": offer.link_generation}
    record_event(
        session,
        case,
        "visit_link.revoked",
        actor=Actor(label=f"user:{user.username}", user_id=user.id),
        clock=clock,
        data=detail,
    )
    audit.record(session, clock, user, "case.visit_link.revoke", case_id=case.id, detail=detail)
    return offer
