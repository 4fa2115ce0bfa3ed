"""The reconciler's reads of `sms_message` get partial indexes: messages still awaiting a delivery report (it
asks Twilio for those whose status callback never came) and messages not yet sent. Both read a few rows
every few seconds from a table that only grows.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWAITING = sa.text("status IN ('accepted', 'queued', 'sending', 'sent')")
UNSENT = sa.text("status IN ('pending', 'claimed')")


def upgrade() -> None:
    op.create_index(
        "ix_sms_message_awaiting_report",
        "sms_message",
        ["sent_at"],
        postgresql_where=AWAITING,
        sqlite_where=AWAITING,
    )
    op.create_index(
        "ix_sms_message_unsent", "sms_message", ["updated_at"], postgresql_where=UNSENT, sqlite_where=UNSENT
    )


def downgrade() -> None:
    op.drop_index("ix_sms_message_unsent", table_name="sms_message")
    op.drop_index("ix_sms_message_awaiting_report", table_name="sms_message")
