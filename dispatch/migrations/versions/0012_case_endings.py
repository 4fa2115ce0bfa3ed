"""Why a case ended before a visit: the family called 119, closed unfilled, cancelled (after acceptance or not)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "ended_because",
                sa.Enum(
                    "family_called_119",
                    "unfilled_closed",
                    "cancelled_after_acceptance",
                    "cancelled",
                    name="ended_because",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_case_ended_because"), type_="check")
        batch_op.drop_column("ended_because")
