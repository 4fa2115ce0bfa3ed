"""Offers, SMS messages, shift covers, the case's fencing token

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:56:20.930648
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("physician_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "timed_out",
                "failed",
                "withdrawn",
                name="offerstate",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("estimated_travel_min", sa.Integer(), nullable=True),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sms_sent_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_offer_case_id_case")),
        sa.ForeignKeyConstraint(
            ["physician_id"], ["physician.id"], name=op.f("fk_offer_physician_id_physician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer")),
    )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_physician_id"), ["physician_id"], unique=False)
        batch_op.create_index("ix_offer_state_deadline", ["state", "deadline_at"], unique=False)
        batch_op.create_index(
            "uq_offer_one_pending_per_case",
            ["case_id"],
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "uq_offer_one_pending_per_physician",
            ["physician_id"],
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )

    op.create_table(
        "shift_cover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("covering_physician_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_shift_cover_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["covering_physician_id"],
            ["physician.id"],
            name=op.f("fk_shift_cover_covering_physician_id_physician"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shift.id"], name=op.f("fk_shift_cover_shift_id_shift"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_cover")),
    )
    with op.batch_alter_table("shift_cover", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_cover_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column(
            "direction",
            sa.Enum(
                "outbound", "inbound", name="direction", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_sms_message_case_id_case")),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"], name=op.f("fk_sms_message_offer_id_offer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_sms_message_provider_sid")),
    )
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_message_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_message_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index("ix_sms_message_phone_created", ["phone_e164", "created_at"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_offer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_matched_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("coordinator_alerted_at", dispatch.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("accepted_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("arrived_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_current_offer_id_offer"), "offer", ["current_offer_id"], ["id"], use_alter=True
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_case_current_offer_id_offer"), type_="foreignkey")
        batch_op.drop_column("arrived_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("coordinator_alerted_at")
        batch_op.drop_column("last_matched_at")
        batch_op.drop_column("current_offer_id")

    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_message_phone_created")
        batch_op.drop_index(batch_op.f("ix_sms_message_offer_id"))
        batch_op.drop_index(batch_op.f("ix_sms_message_case_id"))

    op.drop_table("sms_message")
    with op.batch_alter_table("shift_cover", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_cover_shift_id"))

    op.drop_table("shift_cover")
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_offer_one_pending_per_physician",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.drop_index(
            "uq_offer_one_pending_per_case",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.drop_index("ix_offer_state_deadline")
        batch_op.drop_index(batch_op.f("ix_offer_physician_id"))
        batch_op.drop_index(batch_op.f("ix_offer_case_id"))

    op.drop_table("offer")
