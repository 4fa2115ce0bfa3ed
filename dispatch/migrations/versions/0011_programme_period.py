"""The programme's first and optional last day, so that every fiscal year from its start can be reported

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROGRAMME = sa.table("programme", sa.column("id", sa.Integer()), sa.column("starts_on", sa.Date()))
_FISCAL_YEAR = sa.table("fiscal_year", sa.column("programme_id", sa.Integer()), sa.column("year", sa.Integer()))
_CLINIC = sa.table("clinic", sa.column("id", sa.Integer()), sa.column("programme_id", sa.Integer()))
_CONTRACT = sa.table(
    "contract_period", sa.column("clinic_id", sa.Integer()), sa.column("start_month", sa.Date())
)


def _first_day(bind: sa.Connection, programme_id: int) -> date:
    """The first day of the programme's earliest fiscal year, else its earliest contract, else this year's."""
    year = bind.scalar(
        sa.select(sa.func.min(_FISCAL_YEAR.c.year)).where(_FISCAL_YEAR.c.programme_id == programme_id)
    )
    if year is not None:
        return date(year, 4, 1)
    month = bind.scalar(
        sa.select(sa.func.min(_CONTRACT.c.start_month))
        .join(_CLINIC, _CLINIC.c.id == _CONTRACT.c.clinic_id)
        .where(_CLINIC.c.programme_id == programme_id)
    )
    if month is not None:
        return month if isinstance(month, date) else date.fromisoformat(str(month)[:10])
    today = datetime.now(UTC).date()
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def upgrade() -> None:
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
    bind = op.get_bind()
    for programme_id in bind.scalars(sa.select(_PROGRAMME.c.id)).all():
        bind.execute(
            sa.update(_PROGRAMME)
            .where(_PROGRAMME.c.id == programme_id)
            .values(starts_on=_first_day(bind, programme_id))
        )
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.alter_column("starts_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("ends_on")
        batch_op.drop_column("starts_on")
