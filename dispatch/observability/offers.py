"""Offer figures, read off the offer rows as they change: the time a physician took to answer (from the
offer SMS leaving to the reply) and how late past its deadline an offer was timed out, by the path that
did it (the deadline job, the reconciler's sweep, or anything else).

Listening to the ORM keeps the dispatch flow free of metrics calls: whichever module ends an offer, the
row's new state, its `sms_sent_at`, `deadline_at` and `responded_at` say everything. A figure is recorded
only once its transaction commits; a rollback drops it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, SessionTransaction
from sqlalchemy.orm.attributes import get_history

from dispatch import jobs
from dispatch.offers.models import Offer, OfferState
from dispatch.telemetry import context, metrics

_PENDING = "dispatch.observability.offer_figures"
ANSWERS = (OfferState.accepted, OfferState.declined)
# The job a timeout ran in names its path.
PATHS = {jobs.OFFER_DEADLINE: "deadline_job", jobs.RECONCILE: "reconciler"}


def escalation_path() -> str:
    """Which path is timing offers out in this context: deadline_job, reconciler, or other."""
    return PATHS.get(context.job_function.get() or "", "other")


def _seconds(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None:
        return None
    return float((later - earlier).total_seconds())


def _after_update(_mapper: Mapper[Offer], _connection: Connection, target: Offer) -> None:
    added = get_history(target, "state").added
    if not added:
        return
    state = added[-1]
    loaded = inspect(target).dict  # only what is loaded: no SQL in the middle of a flush
    figure: tuple[str, str, float] | None = None
    if state in ANSWERS:
        seconds = _seconds(loaded.get("responded_at"), loaded.get("sms_sent_at"))
        if seconds is not None:
            figure = ("answer", OfferState(state).value, max(0.0, seconds))
    elif state is OfferState.timed_out:
        seconds = _seconds(loaded.get("responded_at"), loaded.get("deadline_at"))
        if seconds is not None:
            figure = ("late", escalation_path(), max(0.0, seconds))
    session = inspect(target).session
    if figure is not None and session is not None:
        session.info.setdefault(_PENDING, []).append(figure)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for kind, label, seconds in session.info.pop(_PENDING, ()):
        histogram = metrics.OFFER_ANSWER if kind == "answer" else metrics.ESCALATION_LATENESS
        histogram.labels(label).observe(seconds)


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_PENDING, None)


def install_offer_metrics() -> None:
    """Listen to offer rows in every session of this process (idempotent)."""
    if event.contains(Offer, "after_update", _after_update):
        return
    event.listen(Offer, "after_update", _after_update)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)
