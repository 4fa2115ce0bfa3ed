"""Visit outcomes, death records, handoffs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:17:29.189612
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("period_start", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("flagged_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["app_user.id"], name=op.f("fk_handoff_acknowledged_by_app_user")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_handoff_clinic_id_clinic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff")),
        sa.UniqueConstraint("clinic_id", "period_end", name=op.f("uq_handoff_clinic_id_period_end")),
    )
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "visit_outcome",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "treated_at_home",
                "transported_admitted",
                "death_pronounced",
                "no_contact",
                name="outcomecode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("treatment", sa.Text(), nullable=True),
        sa.Column("medication", sa.Text(), nullable=True),
        sa.Column("departed_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_visit_outcome_case_id_case")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_visit_outcome")),
    )
    op.create_table(
        "death_record",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("noticed_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirming_physician_id", sa.Integer(), nullable=False),
        sa.Column("related_to_treated_disease", sa.Boolean(), nullable=False),
        sa.Column(
            "certificate_by",
            sa.Enum(
                "substitute",
                "attending",
                name="certificateby",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("police_informed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["visit_outcome.case_id"], name=op.f("fk_death_record_case_id_visit_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["confirming_physician_id"],
            ["physician.id"],
            name=op.f("fk_death_record_confirming_physician_id_physician"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_death_record")),
    )
    op.create_table(
        "handoff_case",
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_handoff_case_case_id_case")),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoff.id"], name=op.f("fk_handoff_case_handoff_id_handoff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("handoff_id", "case_id", name=op.f("pk_handoff_case")),
    )


def downgrade() -> None:
    op.drop_table("handoff_case")
    op.drop_table("death_record")
    op.drop_table("visit_outcome")
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_clinic_id"))

    op.drop_table("handoff")
