"""Shift swaps (give away or trade, taken by a colleague, approved by the coordinator); per programme,
whether swaps need the coordinator's approval

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 22:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shift_swap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "give_away", "trade", name="swapkind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "taken",
                "approved",
                "rejected",
                "cancelled",
                name="swapstate",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("asker_id", sa.Integer(), nullable=False),
        sa.Column("offered_shift_id", sa.Integer(), nullable=True),
        sa.Column("taker_id", sa.Integer(), nullable=True),
        sa.Column("exchange_shift_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("asked_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["asker_id"], ["physician.id"], name=op.f("fk_shift_swap_asker_id_physician")),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"], ["app_user.id"], name=op.f("fk_shift_swap_decided_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["exchange_shift_id"], ["shift.id"], name=op.f("fk_shift_swap_exchange_shift_id_shift")
        ),
        sa.ForeignKeyConstraint(
            ["offered_shift_id"], ["shift.id"], name=op.f("fk_shift_swap_offered_shift_id_shift")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shift.id"], name=op.f("fk_shift_swap_shift_id_shift"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["taker_id"], ["physician.id"], name=op.f("fk_shift_swap_taker_id_physician")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_swap")),
    )
    with op.batch_alter_table("shift_swap", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_swap_shift_id"), ["shift_id"], unique=False)
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("swaps_need_approval", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("swaps_need_approval")
    with op.batch_alter_table("shift_swap", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_swap_shift_id"))
    op.drop_table("shift_swap")
