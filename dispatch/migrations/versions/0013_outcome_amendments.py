"""Outcome amendments: every correction of a recorded outcome keeps the version it replaced

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatch.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "outcome_amendment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("amended_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amended_by", sa.String(length=100), nullable=False),
        sa.Column("amended_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", _JSON, nullable=False),
        sa.Column("after", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["amended_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_outcome_amendment_amended_by_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_outcome_amendment_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_amendment")),
    )
    with op.batch_alter_table("outcome_amendment", schema=None) as batch_op:
        batch_op.create_index("ix_outcome_amendment_case_id_id", ["case_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outcome_amendment", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_amendment_case_id_id")
    op.drop_table("outcome_amendment")
