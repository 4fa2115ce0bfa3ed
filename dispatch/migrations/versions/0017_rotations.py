"""Rotations (recurring on-call patterns) and the shifts made from them: draft until published, overridable

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "rotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "weekly",
                "alternate_weeks",
                "weekly_turn",
                name="rotationkind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("weekdays", _JSON, nullable=False),
        sa.Column("physician_ids", _JSON, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation")),
    )
    op.create_table(
        "rotation_coverage",
        sa.Column("rotation_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_rotation_coverage_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["rotation_id"],
            ["rotation.id"],
            name=op.f("fk_rotation_coverage_rotation_id_rotation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rotation_id", "municipality_id", name=op.f("pk_rotation_coverage")),
    )
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rotation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rotation_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("generated", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("published", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("overridden", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("removed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_shift_rotation_day"), ["rotation_day"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_shift_rotation_id_rotation"),
            "rotation",
            ["rotation_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_shift_rotation_id_rotation"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_shift_rotation_day"))
        batch_op.drop_column("removed")
        batch_op.drop_column("overridden")
        batch_op.drop_column("published")
        batch_op.drop_column("generated")
        batch_op.drop_column("rotation_day")
        batch_op.drop_column("rotation_id")
    op.drop_table("rotation_coverage")
    op.drop_table("rotation")
