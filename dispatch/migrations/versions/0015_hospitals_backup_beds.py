"""Hospitals and their backup beds for home patients (free per night), a transport's destination

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 21:15:42.625127
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hospital",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("night_phone", sa.String(length=16), nullable=True),
        sa.Column("backup_support", sa.Boolean(), nullable=False),
        sa.Column("backup_beds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("backup_beds >= 0", name=op.f("ck_hospital_backup_beds_not_negative")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_hospital_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_hospital_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospital")),
        sa.UniqueConstraint("programme_id", "name", name=op.f("uq_hospital_programme_id_name")),
    )
    op.create_table(
        "backup_bed_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("free", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("reported_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("free >= 0", name=op.f("ck_backup_bed_report_free_not_negative")),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["hospital.id"],
            name=op.f("fk_backup_bed_report_hospital_id_hospital"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_backup_bed_report_reported_by_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_bed_report")),
    )
    with op.batch_alter_table("backup_bed_report", schema=None) as batch_op:
        batch_op.create_index("ix_backup_bed_report_hospital_night", ["hospital_id", "night"], unique=False)

    with op.batch_alter_table("visit_outcome", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination_hospital_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("destination_note", sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_visit_outcome_destination_hospital_id_hospital"),
            "hospital",
            ["destination_hospital_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_outcome", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_visit_outcome_destination_hospital_id_hospital"), type_="foreignkey"
        )
        batch_op.drop_column("destination_note")
        batch_op.drop_column("destination_hospital_id")

    with op.batch_alter_table("backup_bed_report", schema=None) as batch_op:
        batch_op.drop_index("ix_backup_bed_report_hospital_night")

    op.drop_table("backup_bed_report")
    op.drop_table("hospital")
