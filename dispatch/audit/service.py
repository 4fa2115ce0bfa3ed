"""Writing and reading the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.db import table_of

# Built once (with the values as parameters): building the statement anew cost more than running it.
_INSERT = insert(table_of(AuditEntry))


def record(
    session: Session,
    clock: Clock,
    user: User | None,
    action: str,
    *,
    patient_id: int | None = None,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's transaction: a plain INSERT (an entry is never read back
    or changed here, so the ORM's unit of work would only cost time on every audited request)."""
    session.execute(
        _INSERT,
        {
            "at": clock.now(),
            "user_id": user.id if user else None,
            "role": user.role.value if user else "system",
            "action": action,
            "patient_id": patient_id,
            "case_id": case_id,
            "detail": detail or {},
        },
    )


def entries(session: Session, *, patient_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest entries, optionally for one patient."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    return list(session.scalars(query))
