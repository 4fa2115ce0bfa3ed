"""Idempotency keys for intake: a retried call returns the case the first one made, never a second case."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.cases.models import Case, IntakeKey
from dispatch.cases.schemas import IntakeRequest
from dispatch.clock import Clock


class IdempotencyKeyReused(ValueError):
    """The Idempotency-Key was already used for a different request; `case` is what it made, if the same
    operator sent both."""

    def __init__(self, message: str, case: Case | None = None) -> None:
        super().__init__(message)
        self.case = case


def request_digest(request: IntakeRequest) -> str:
    """A fingerprint of the request body, to tell a retry from a different call under the same key."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def replay(session: Session, key: str, user: User, digest: str) -> Case | None:
    """The case an earlier request with this key made, if the key was seen."""
    row = session.get(IntakeKey, key)
    if row is None:
        return None
    if row.user_id != user.id:
        raise IdempotencyKeyReused("Idempotency-Key was already used for a different call; use a new key")
    if row.request_sha256 != digest:
        # The same operator changed the call after an answer was lost: say which case the key made.
        earlier = session.get(Case, row.case_id)
        raise IdempotencyKeyReused(
            "Idempotency-Key was already used for a different call; use a new key", earlier
        )
    return session.get(Case, row.case_id)


def remember_key(session: Session, clock: Clock, key: str, user: User, digest: str, case: Case) -> None:
    """Tie the Idempotency-Key to the case in the same transaction."""
    session.add(
        IntakeKey(key=key, user_id=user.id, request_sha256=digest, case_id=case.id, created_at=clock.now())
    )
    session.flush()
