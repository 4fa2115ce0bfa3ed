"""Voice calls: an unanswered offer's call (one per offer), the coordinator's alert call, a physician's
contact preference and the offer's call time

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 22:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("digits", sa.String(length=8), nullable=True),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_voice_call_case_id_case")),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"], name=op.f("fk_voice_call_offer_id_offer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_call")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_voice_call_offer_id")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_voice_call_provider_sid")),
    )
    with op.batch_alter_table("voice_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_call_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_due_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "contact",
                sa.Enum(
                    "sms_only",
                    "sms_then_call",
                    name="contact",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="sms_then_call",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_physician_contact"), type_="check")
        batch_op.drop_column("contact")
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_column("call_due_at")
    with op.batch_alter_table("voice_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_call_case_id"))
    op.drop_table("voice_call")
