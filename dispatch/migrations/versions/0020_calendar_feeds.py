"""Calendar feeds (a hashed, revocable token per physician) and shift reminders (once per turn, can be off)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shift_reminders", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "calendar_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("physician_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["physician_id"], ["physician.id"], name=op.f("fk_calendar_token_physician_id_physician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_calendar_token_token_sha256")),
    )
    with op.batch_alter_table("calendar_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_token_physician_id"), ["physician_id"], unique=False)
    op.create_table(
        "shift_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("physician_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sms_message_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["physician_id"], ["physician.id"], name=op.f("fk_shift_reminder_physician_id_physician")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shift.id"], name=op.f("fk_shift_reminder_shift_id_shift"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sms_message_id"], ["sms_message.id"], name=op.f("fk_shift_reminder_sms_message_id_sms_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_reminder")),
        sa.UniqueConstraint(
            "shift_id",
            "physician_id",
            "starts_at",
            name=op.f("uq_shift_reminder_shift_id_physician_id_starts_at"),
        ),
    )


def downgrade() -> None:
    op.drop_table("shift_reminder")
    with op.batch_alter_table("calendar_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_token_physician_id"))
    op.drop_table("calendar_token")
    with op.batch_alter_table("physician", schema=None) as batch_op:
        batch_op.drop_column("shift_reminders")
