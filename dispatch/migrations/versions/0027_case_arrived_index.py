"""Matching reads the day's arrivals (each physician's whereabouts and rest) by time, not per physician

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_case_physician_arrived_at",
            postgresql_where=sa.text("arrived_at IS NOT NULL"),
            sqlite_where=sa.text("arrived_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_case_arrived_at",
            ["arrived_at"],
            unique=False,
            postgresql_where=sa.text("arrived_at IS NOT NULL"),
            sqlite_where=sa.text("arrived_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_case_arrived_at",
            postgresql_where=sa.text("arrived_at IS NOT NULL"),
            sqlite_where=sa.text("arrived_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_case_physician_arrived_at",
            ["assigned_physician_id", "arrived_at"],
            unique=False,
            postgresql_where=sa.text("arrived_at IS NOT NULL"),
            sqlite_where=sa.text("arrived_at IS NOT NULL"),
        )
