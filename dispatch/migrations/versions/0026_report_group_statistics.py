"""Reports by area (広域連携): a partial index on the cases a physician from another area visited, read for
the visiting area's report (応援); and PostgreSQL's extended statistics on the columns the fiscal-year table
groups the year's calls by (programme, clinic, the visiting physician's area). Without the statistics the
planner multiplies each column's distinct values, expects far more groups than there are, and sorts the year's
calls instead of aggregating them by hash; a clinic determines its programme, so there is about one group per
clinic.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_visiting_area_called_at",
            ["visiting_area_id", "called_at"],
            unique=False,
            postgresql_where=sa.text("visiting_area_id IS NOT NULL"),
            sqlite_where=sa.text("visiting_area_id IS NOT NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS case_report_groups (ndistinct) "
            'ON programme_id, clinic_id, visiting_area_id FROM "case"'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS case_report_groups")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_case_visiting_area_called_at",
            postgresql_where=sa.text("visiting_area_id IS NOT NULL"),
            sqlite_where=sa.text("visiting_area_id IS NOT NULL"),
        )
