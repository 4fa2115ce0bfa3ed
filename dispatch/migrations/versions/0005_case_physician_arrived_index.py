"""Each physician's latest visit, for matching rounds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 08:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_physician_arrived_at",
            ["assigned_physician_id", "arrived_at"],
            unique=False,
            postgresql_where=sa.text("arrived_at IS NOT NULL"),
            sqlite_where=sa.text("arrived_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_physician_arrived_at")
