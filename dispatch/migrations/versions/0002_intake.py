"""Intake: contract flag, provisional urgency, triage note, idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:33:02.196716
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_key",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_intake_key_case_id_case")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_intake_key_user_id_app_user")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_intake_key")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_contract", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(
            sa.Column(
                "provisional_urgency",
                sa.Enum(
                    "red",
                    "orange",
                    "yellow",
                    "green",
                    "white",
                    name="provisional_urgency",
                    native_enum=False,
                    create_constraint=True,
                    length=8,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("triage_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("triage_note")
        batch_op.drop_constraint(op.f("ck_case_provisional_urgency"), type_="check")
        batch_op.drop_column("provisional_urgency")
        batch_op.drop_column("in_contract")

    op.drop_table("intake_key")
