"""The audit log as a hash chain: prev_hash and entry_hash on each entry, the chain's head, existing rows chained

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db
from dispatch.audit.chain import GENESIS, HASHED_FIELDS, entry_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_LOG = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", dispatch.db.UTCDateTime(timezone=True)),
    sa.column("user_id", sa.Integer()),
    sa.column("role", sa.String()),
    sa.column("action", sa.String()),
    sa.column("patient_id", sa.Integer()),
    sa.column("case_id", sa.Integer()),
    sa.column("detail", dispatch.db.JsonDocument),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
_HEAD = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer()),
    sa.column("last_id", sa.Integer()),
    sa.column("last_hash"),
)


def _guards_off(dialect: str) -> None:
    """Lift audit_log's append-only triggers, for this migration's own rewrite only (0001 defines them)."""
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    elif dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}")


def _guards_on(dialect: str) -> None:
    """Put the append-only triggers back as 0001 made them (SQLite's went with the rebuilt table)."""
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END"
            )


def _backfill(conn: sa.Connection) -> tuple[int, str]:
    """Chain the existing entries in id order; the newest entry's id and hash."""
    last_id, last_hash = 0, GENESIS
    columns = [_LOG.c[name] for name in HASHED_FIELDS if name != "prev_hash"]
    stamp = (
        sa.update(_LOG)
        .where(_LOG.c.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), entry_hash=sa.bindparam("b_hash"))
    )
    while True:
        query = sa.select(*columns).where(_LOG.c.id > last_id).order_by(_LOG.c.id).limit(_BATCH)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return last_id, last_hash
        updates = []
        for row in rows:
            digest = entry_hash({**row, "prev_hash": last_hash})
            updates.append({"b_id": row["id"], "b_prev": last_hash, "b_hash": digest})
            last_id, last_hash = row["id"], digest
        conn.execute(stamp, updates)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    _guards_off(dialect)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    last_id, last_hash = _backfill(op.get_bind())
    op.get_bind().execute(sa.insert(_HEAD).values(id=1, last_id=last_id, last_hash=last_hash))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    _guards_on(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _guards_off(dialect)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
    _guards_on(dialect)
    op.drop_table("audit_chain_head")
