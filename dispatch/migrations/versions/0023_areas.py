"""広域連携: the prefecture's areas, 保健所, district medical associations and neighbours; area coordinators;
cross-area offers and visits. Also corrects 栄町's local-government code (12329; 12349 is 東庄町).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("medical_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("travel_cap_min", sa.Integer(), server_default="60", nullable=False))
        batch_op.add_column(sa.Column("municipalities_with_hub", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "medical_area_neighbour",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("neighbour_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["medical_area.id"], name=op.f("fk_medical_area_neighbour_area_id_medical_area")
        ),
        sa.ForeignKeyConstraint(
            ["neighbour_id"],
            ["medical_area.id"],
            name=op.f("fk_medical_area_neighbour_neighbour_id_medical_area"),
        ),
        sa.PrimaryKeyConstraint("area_id", "neighbour_id", name=op.f("pk_medical_area_neighbour")),
    )
    op.create_table(
        "health_centre",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["medical_area.id"], name=op.f("fk_health_centre_area_id_medical_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_centre")),
        sa.UniqueConstraint("area_id", "name", name=op.f("uq_health_centre_area_id_name")),
    )
    op.create_index(op.f("ix_health_centre_area_id"), "health_centre", ["area_id"], unique=False)
    op.create_table(
        "medical_association",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("health_centre_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enhanced_support_hospitals", sa.Integer(), nullable=False),
        sa.Column("enhanced_support_clinics", sa.Integer(), nullable=False),
        sa.Column("backup_hospitals", sa.Integer(), nullable=False),
        sa.Column("enhanced_visiting_nurse_stations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["health_centre_id"],
            ["health_centre.id"],
            name=op.f("fk_medical_association_health_centre_id_health_centre"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_association")),
        sa.UniqueConstraint("name", name=op.f("uq_medical_association_name")),
    )
    op.create_index(
        op.f("ix_medical_association_health_centre_id"),
        "medical_association",
        ["health_centre_id"],
        unique=False,
    )
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health_centre_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("medical_association_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_municipality_health_centre_id_health_centre"),
            "health_centre",
            ["health_centre_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_municipality_medical_association_id_medical_association"),
            "medical_association",
            ["medical_association_id"],
            ["id"],
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_app_user_area_id_medical_area"), "medical_area", ["area_id"], ["id"]
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visiting_area_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_visiting_area_id_medical_area"), "medical_area", ["visiting_area_id"], ["id"]
        )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_area_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_offer_from_area_id_medical_area"), "medical_area", ["from_area_id"], ["id"]
        )
    # 栄町 is 12329 (12349 is 東庄町, in 香取海匝, which the prefecture's tables now bring).
    op.execute("UPDATE municipality SET code = '12329' WHERE code = '12349' AND name = '栄町'")


def downgrade() -> None:
    op.execute("UPDATE municipality SET code = '12349' WHERE code = '12329' AND name = '栄町'")
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_offer_from_area_id_medical_area"), type_="foreignkey")
        batch_op.drop_column("from_area_id")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_case_visiting_area_id_medical_area"), type_="foreignkey")
        batch_op.drop_column("visiting_area_id")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_app_user_area_id_medical_area"), type_="foreignkey")
        batch_op.drop_column("area_id")
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_municipality_medical_association_id_medical_association"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_municipality_health_centre_id_health_centre"), type_="foreignkey"
        )
        batch_op.drop_column("medical_association_id")
        batch_op.drop_column("health_centre_id")
    op.drop_index(op.f("ix_medical_association_health_centre_id"), table_name="medical_association")
    op.drop_table("medical_association")
    op.drop_index(op.f("ix_health_centre_area_id"), table_name="health_centre")
    op.drop_table("health_centre")
    op.drop_table("medical_area_neighbour")
    with op.batch_alter_table("medical_area", schema=None) as batch_op:
        batch_op.drop_column("position")
        batch_op.drop_column("municipalities_with_hub")
        batch_op.drop_column("travel_cap_min")
