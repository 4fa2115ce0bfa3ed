"""The matching lock: programme rows, always taken before a case's row, so that no two transactions that
touch offers wait on each other in a circle (a physician's 「Y」 once met a matching round that way)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.programme.models import Programme

# A matching round covers every area, so it takes every programme's row, in id order (FOR NO KEY UPDATE: the
# foreign keys of new cases never wait on it); the coordinator's hand and a case's ending take their case's
# programme the same way; an answer to an offer (a yes, a no, a deadline) takes it shared, so answers run side
# by side and never cross a round half-way.
_LOCK_ALL = select(Programme.id).order_by(Programme.id).with_for_update(key_share=True)
_LOCK_PROGRAMME = select(Programme.id).where(Programme.id == bindparam("id")).with_for_update(key_share=True)
_SHARE_PROGRAMME = (
    select(Programme.id)
    .where(Programme.id == select(Case.programme_id).where(Case.id == bindparam("case")).scalar_subquery())
    .with_for_update(read=True)
)


def lock_matching(session: Session) -> None:
    """One matching round at a time, over every area: rounds queue up behind these row locks."""
    session.execute(_LOCK_ALL).all()


def lock_programme(session: Session, programme_id: int) -> None:
    """No matching round meanwhile (for the coordinator's hand and the endings, before the case's row)."""
    session.execute(_LOCK_PROGRAMME, {"id": programme_id})


def share_programme(session: Session, case_id: int) -> None:
    """Before answering an offer on the case: its programme's row, shared (no round meanwhile)."""
    session.execute(_SHARE_PROGRAMME, {"case": case_id})
