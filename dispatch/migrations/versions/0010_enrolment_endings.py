"""Enrolments end: the instant, the reason, and the case whose death record ended it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENROLMENT = sa.table(
    "enrolment",
    sa.column("id", sa.Integer()),
    sa.column("ended_on", sa.Date()),
    sa.column("ended_at", dispatch.db.UTCDateTime(timezone=True)),
    sa.column("end_reason", sa.String()),
)
_COMPLETE = (
    "(ended_on IS NULL AND ended_at IS NULL AND end_reason IS NULL)"
    " OR (ended_on IS NOT NULL AND ended_at IS NOT NULL AND end_reason IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "end_reason",
                sa.Enum(
                    "deceased",
                    "admitted",
                    "moved",
                    "withdrawn",
                    "contract_ended",
                    name="enrolment_end_reason",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("ended_by_case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolment_ended_by_case_id_case"), "case", ["ended_by_case_id"], ["id"]
        )
    # An enrolment that ended before had only its last day: it ended at the next local midnight.
    bind = op.get_bind()
    tokyo = ZoneInfo("Asia/Tokyo")
    ended = sa.select(_ENROLMENT.c.id, _ENROLMENT.c.ended_on).where(_ENROLMENT.c.ended_on.is_not(None))
    for row in bind.execute(ended).all():
        ended_at = datetime.combine(row.ended_on + timedelta(days=1), time(0), tokyo).astimezone(UTC)
        bind.execute(
            sa.update(_ENROLMENT)
            .where(_ENROLMENT.c.id == row.id)
            .values(ended_at=ended_at, end_reason="contract_ended")
        )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_enrolment_ending_complete"), _COMPLETE)


def downgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrolment_ending_complete"), type_="check")
        # The reason's own CHECK (a non-native enum) names the column: SQLite's table copy would keep it.
        batch_op.drop_constraint(op.f("ck_enrolment_enrolment_end_reason"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_enrolment_ended_by_case_id_case"), type_="foreignkey")
        batch_op.drop_column("ended_by_case_id")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_at")
