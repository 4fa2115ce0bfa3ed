"""The family told: consent to SMS updates at intake, the arrival time told, the call-back task done

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("family_updates_consent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("family_eta_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("family_called_back_at", dispatch.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("family_called_back_at")
        batch_op.drop_column("family_eta_at")
        batch_op.drop_column("family_updates_consent")
