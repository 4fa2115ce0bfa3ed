"""The audit log's hash chain: each entry's SHA-256 covers its fields and the hash of the entry before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from dispatch.audit.models import AuditChainHead, AuditEntry
from dispatch.db import table_of

# The prev_hash of the first entry: it names no entry.
GENESIS = "0" * 64
# The fields an entry's hash covers (with its prev_hash); the row's other columns are the hashes themselves.
HASHED_FIELDS = ("id", "at", "user_id", "role", "action", "patient_id", "case_id", "detail", "prev_hash")

_LOG = table_of(AuditEntry)
_HEAD = table_of(AuditChainHead)
_BATCH = 5000


def entry_hash(fields: Mapping[Any, Any]) -> str:
    """SHA-256 hex of the entry's canonical form: sorted-key compact JSON, `at` as UTC ISO 8601 (µs)."""
    doc = {name: fields[name] for name in HASHED_FIELDS}
    doc["at"] = fields["at"].astimezone(UTC).isoformat(timespec="microseconds")
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link: the entry where it shows, and what it means."""

    entry_id: int
    kind: str  # "edited" or "deleted"
    message: str


@dataclass(frozen=True)
class ChainReport:
    """How many entries were checked, and the first break if there is one."""

    entries: int
    broken: ChainBreak | None
    head_id: int = 0
    head_hash: str = GENESIS

    @property
    def intact(self) -> bool:
        """True when no link is broken."""
        return self.broken is None


def _rows(conn: Connection, upto: int | None) -> Iterator[RowMapping]:
    columns = [_LOG.c[name] for name in HASHED_FIELDS] + [_LOG.c.entry_hash]
    after = 0
    while True:
        query = select(*columns).where(_LOG.c.id > after).order_by(_LOG.c.id).limit(_BATCH)
        batch = conn.execute(query if upto is None else query.where(_LOG.c.id <= upto))
        rows = batch.mappings().all()
        if not rows:
            return
        yield from rows
        after = rows[-1]["id"]


def _link_break(row: RowMapping, prev_id: int | None) -> ChainBreak:
    entry_id = row["id"]
    if prev_id is None:
        return ChainBreak(
            entry_id,
            "deleted",
            f"entry {entry_id}: its prev_hash names no preceding entry (the entries before it were deleted)",
        )
    if entry_id != prev_id + 1:
        gap = f"{prev_id + 1}" if entry_id == prev_id + 2 else f"{prev_id + 1}..{entry_id - 1}"
        return ChainBreak(
            entry_id,
            "deleted",
            f"entry {entry_id}: its prev_hash names no preceding entry (entry {gap} deleted)",
        )
    return ChainBreak(
        entry_id,
        "deleted",
        f"entry {entry_id}: its prev_hash does not match entry {prev_id} "
        f"(an entry between them was deleted, or entry {prev_id} rewritten with a new hash)",
    )


def _anchor_break(entry_id: int, kept: str, found: str | None) -> ChainBreak | None:
    if found == kept:
        return None
    if found is None:
        return ChainBreak(
            entry_id, "deleted", f"entry {entry_id}: an anchor names it, the log no longer holds it"
        )
    return ChainBreak(
        entry_id,
        "edited",
        f"entry {entry_id}: its hash differs from the anchor kept at an earlier review "
        "(the log up to it was rewritten and its chain rebuilt)",
    )


def verify(conn: Connection, anchors: Mapping[int, str] | None = None) -> ChainReport:
    """Walk the chain in id order and report the first broken link (an edited or a deleted entry).

    `anchors` are entry ids with the hashes a previous review kept outside the database: a chain rebuilt
    from scratch by someone able to rewrite both the log and its head is consistent, but not with them."""
    anchors = dict(anchors or {})
    # The head first: the entries it counts were committed with it, so appends made meanwhile are left out.
    head = conn.execute(select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).first()
    count, prev_id, prev_hash = 0, None, GENESIS
    for row in _rows(conn, head[0] if head is not None else None):
        if entry_hash(row) != row["entry_hash"]:
            edited = ChainBreak(
                row["id"], "edited", f"entry {row['id']}: its hash does not match its contents (edited)"
            )
            return ChainReport(count, edited)
        if row["prev_hash"] != prev_hash:
            return ChainReport(count, _link_break(row, prev_id))
        if row["id"] in anchors and (
            broken := _anchor_break(row["id"], anchors.pop(row["id"]), row["entry_hash"])
        ):
            return ChainReport(count, broken)
        count, prev_id, prev_hash = count + 1, row["id"], row["entry_hash"]
    last = prev_id or 0
    if anchors:  # an anchored entry the walk never reached
        first = min(anchors)
        return ChainReport(count, _anchor_break(first, anchors[first], None))
    if head is not None and head[0] > last:
        gap = f"{last + 1}" if head[0] == last + 1 else f"{last + 1}..{head[0]}"
        message = f"entry {gap} deleted: the chain's head names entry {head[0]}, the log ends at {last}"
        return ChainReport(count, ChainBreak(last + 1, "deleted", message))
    if head is not None and head[0] == last and head[1] != prev_hash:
        message = f"entry {last}: its hash differs from the one the chain's head kept (rewritten)"
        return ChainReport(count, ChainBreak(last, "edited", message))
    return ChainReport(count, None, last, prev_hash)


def last_entry(conn: Connection) -> tuple[int, str]:
    """The newest entry's id and hash (0 and GENESIS for an empty log)."""
    row = conn.execute(select(_LOG.c.id, _LOG.c.entry_hash).order_by(_LOG.c.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)
