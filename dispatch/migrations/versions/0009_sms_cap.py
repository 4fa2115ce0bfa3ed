"""The hourly SMS cap per number: when each SMS was handed over, when a held one may go, the coordinator's alerts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SMS = sa.table(
    "sms_message",
    sa.column("direction", sa.String()),
    sa.column("provider_sid", sa.String()),
    sa.column("created_at", dispatch.db.UTCDateTime(timezone=True)),
    sa.column("sent_at", dispatch.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("not_before", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_sms_message_phone_sent", ["phone_e164", "sent_at"], unique=False)
        batch_op.create_index(
            "ix_sms_message_held",
            ["not_before"],
            unique=False,
            postgresql_where=sa.text("status = 'held'"),
            sqlite_where=sa.text("status = 'held'"),
        )
    # The last hour's sends count from the first minute after the upgrade (older ones never will).
    since = datetime.now(UTC) - timedelta(hours=2)
    op.get_bind().execute(
        sa.update(_SMS)
        .where(_SMS.c.direction == "outbound", _SMS.c.provider_sid.is_not(None), _SMS.c.created_at >= since)
        .values(sent_at=_SMS.c.created_at)
    )
    op.create_table(
        "sms_cap_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("alerted_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_in_hour", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_sms_cap_alert_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_cap_alert")),
    )
    with op.batch_alter_table("sms_cap_alert", schema=None) as batch_op:
        batch_op.create_index("ix_sms_cap_alert_phone_alerted", ["phone_e164", "alerted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_cap_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_cap_alert_phone_alerted")
    op.drop_table("sms_cap_alert")
    # A held message becomes an ordinary unsent one, which the reconciler sends.
    op.execute("UPDATE sms_message SET status = 'pending' WHERE status = 'held'")
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_message_held", sqlite_where=sa.text("status = 'held'"))
        batch_op.drop_index("ix_sms_message_phone_sent")
        batch_op.drop_column("not_before")
        batch_op.drop_column("sent_at")
