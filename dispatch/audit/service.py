"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dispatch.audit import chain
from dispatch.audit.models import AuditChainHead, AuditEntry
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.db import UTCDateTime, table_of

_LOG, _HEAD = table_of(AuditEntry), table_of(AuditChainHead)
# Built once (with the values as parameters): building the statement anew cost more than running it.
_INSERT = insert(_LOG)
# A run of entries (a search's matches) on PostgreSQL: what varies from one entry to the next as arrays, and
# the head's new hash set in the same statement. An execution per entry cost more than the search itself.
_WRITE_RUN = text(
    "WITH run AS (INSERT INTO audit_log (id, at, user_id, role, action, patient_id, case_id, detail, "
    "prev_hash, entry_hash) SELECT run.id, :at, :user_id, :role, :action, run.patient_id, NULL, "
    "CAST('{}' AS jsonb), run.prev_hash, run.entry_hash FROM unnest(CAST(:ids AS integer[]), "
    "CAST(:patient_ids AS integer[]), CAST(:prev_hashes AS varchar[]), CAST(:entry_hashes AS varchar[])) "
    "AS run(id, patient_id, prev_hash, entry_hash)) "
    "UPDATE audit_chain_head SET last_hash = :entry_hash WHERE id = 1"
).bindparams(bindparam("at", type_=UTCDateTime()))
# Take the next id and the newest entry's hash from the head row. The UPDATE's row lock (SQLite: the write
# lock) holds other appends off until this transaction ends, so no two entries name the same predecessor;
# PostgreSQL re-reads a row it waited for, so a waiter sees the hash its predecessor left there.
_ADVANCE = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(last_id=_HEAD.c.last_id + 1)
    .returning(_HEAD.c.last_id, _HEAD.c.last_hash)
)
# The same for a run of `n` entries written at once (a search's matches): the head moves by `n`.
_ADVANCE_BY = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(last_id=_HEAD.c.last_id + bindparam("n"))
    .returning(_HEAD.c.last_id, _HEAD.c.last_hash)
)
_SET_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("entry_hash"))
# PostgreSQL: the entry and the head's new hash in one statement (one round trip fewer on every audited
# request). Its parameters are the entry's columns prefixed `entry_` (an UPDATE takes a column's own name
# for its SET clause).
_WRITE_ENTRY = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(last_hash=bindparam("entry_entry_hash"))
    .add_cte(
        insert(_LOG).values({c.name: bindparam(f"entry_{c.name}", type_=c.type) for c in _LOG.c}).cte("entry")
    )
)
# The head row, when missing (a fresh or truncated database): after the newest entry, if any.
_CREATE_HEAD = {
    "postgresql": postgresql.insert(_HEAD).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_HEAD).on_conflict_do_nothing(),
}


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
    """Append one audit entry, hash-chained, in the caller's transaction: two small statements (three on
    SQLite) and a SHA-256 (plain Core: the ORM's unit of work would only cost time on every audited request)."""
    entry_id, prev_hash = _advance(session)
    row = {
        "id": entry_id,
        "at": clock.now(),
        "user_id": user.id if user else None,
        "role": user.role.value if user else "system",
        "action": action,
        "patient_id": patient_id,
        "case_id": case_id,
        "detail": detail or {},
        "prev_hash": prev_hash,
    }
    row["entry_hash"] = chain.entry_hash(row)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_WRITE_ENTRY, {f"entry_{name}": value for name, value in row.items()})
    else:
        session.execute(_INSERT, row)
        session.execute(_SET_HASH, {"entry_hash": row["entry_hash"]})


def record_each(
    session: Session, clock: Clock, user: User | None, action: str, *, patient_ids: list[int]
) -> None:
    """One entry per patient, chained as `record` called for each in turn would, in two statements (three on
    SQLite)."""
    if not patient_ids:
        return
    first_id, prev_hash = _advance(session, len(patient_ids))  # the run's first entry (head made if missing)
    now = clock.now()
    rows = []
    for offset, patient_id in enumerate(patient_ids):
        row = {
            "id": first_id + offset,
            "at": now,
            "user_id": user.id if user else None,
            "role": user.role.value if user else "system",
            "action": action,
            "patient_id": patient_id,
            "case_id": None,
            "detail": {},
            "prev_hash": prev_hash,
        }
        row["entry_hash"] = prev_hash = chain.entry_hash(row)
        rows.append(row)
    if session.get_bind().dialect.name == "postgresql":
        run = {
            "at": now,
            "user_id": rows[0]["user_id"],
            "role": rows[0]["role"],
            "action": action,
            "ids": [row["id"] for row in rows],
            "patient_ids": patient_ids,
            "prev_hashes": [row["prev_hash"] for row in rows],
            "entry_hashes": [row["entry_hash"] for row in rows],
            "entry_hash": prev_hash,
        }
        session.execute(_WRITE_RUN, run)
    else:
        session.execute(_INSERT, rows)
        session.execute(_SET_HASH, {"entry_hash": prev_hash})


def _advance(session: Session, n: int = 1) -> tuple[int, str]:
    """The first of `n` new entries' ids and its predecessor's hash, with the chain's head locked until commit
    (moved by `n` in one statement)."""
    statement, params = (_ADVANCE, {}) if n == 1 else (_ADVANCE_BY, {"n": n})
    claimed = session.execute(statement, params).one_or_none()
    if claimed is None:
        last_id, last_hash = chain.last_entry(session.connection())
        head = {"id": 1, "last_id": last_id, "last_hash": last_hash}
        session.execute(_CREATE_HEAD[session.get_bind().dialect.name], head)
        claimed = session.execute(statement, params).one()
    return claimed[0] - n + 1, claimed[1]


def entries(session: Session, *, patient_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest entries, optionally for one patient."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    return list(session.scalars(query))


def verify_chain(session: Session, anchors: Mapping[int, str] | None = None) -> chain.ChainReport:
    """Check the whole chain (and any anchors kept from earlier reviews); the report names the first edited
    or deleted entry, if any."""
    return chain.verify(session.connection(), anchors)
