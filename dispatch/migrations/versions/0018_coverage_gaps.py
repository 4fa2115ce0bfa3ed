"""Coverage gaps: the programme's minimum on call per municipality, and the night's alert to the coordinator

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_on_call", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "coverage_gap_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("alerted_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("towns", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_coverage_gap_alert_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_gap_alert")),
        sa.UniqueConstraint("programme_id", "night", name=op.f("uq_coverage_gap_alert_programme_id_night")),
    )


def downgrade() -> None:
    op.drop_table("coverage_gap_alert")
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("min_on_call")
