"""Patient search at a million patients: the kana key's index carries the id (the first matches by id come
from the index alone), chart numbers are indexed on their own (a search gives no clinic), and the birth
date on its own too (in place of the family-kana, given-kana, birth-date index no query uses any more)

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_name_dob")
        batch_op.create_index("ix_patient_date_of_birth", ["date_of_birth"], unique=False)
        batch_op.drop_index("ix_patient_name_kana_key")
        batch_op.create_index(
            "ix_patient_name_kana_key_id",
            ["name_kana_key", "id"],
            unique=False,
            postgresql_ops={"name_kana_key": "text_pattern_ops"},
        )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index("ix_enrolment_clinic_patient_number", ["clinic_patient_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolment_clinic_patient_number")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_name_kana_key_id")
        batch_op.create_index(
            "ix_patient_name_kana_key",
            ["name_kana_key"],
            unique=False,
            postgresql_ops={"name_kana_key": "text_pattern_ops"},
        )
        batch_op.drop_index("ix_patient_date_of_birth")
        batch_op.create_index(
            "ix_patient_name_dob", ["family_name_kana", "given_name_kana", "date_of_birth"], unique=False
        )
