"""Patients searched by a folded kana key, matched by prefix on an index; enrolments indexed by patient

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:00:00.000000
"""

import unicodedata
from collections.abc import Sequence

import jaconv
import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PATIENT = sa.table(
    "patient",
    sa.column("id", sa.Integer()),
    sa.column("family_name_kana", sa.String()),
    sa.column("given_name_kana", sa.String()),
    sa.column("name_kana_key", sa.String()),
)
_BATCH = 5000


def _key(family: str, given: str) -> str:
    # The fold as this revision defines it (dispatch/patients/kana.py may change later; this must not).
    return jaconv.hira2kata("".join(unicodedata.normalize("NFKC", family + given).split()))


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_kana_key", sa.String(length=100), nullable=True))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_PATIENT.c.id, _PATIENT.c.family_name_kana, _PATIENT.c.given_name_kana)
            .where(_PATIENT.c.id > last)
            .order_by(_PATIENT.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            sa.update(_PATIENT).where(_PATIENT.c.id == sa.bindparam("row_id")),
            [{"row_id": r.id, "name_kana_key": _key(r.family_name_kana, r.given_name_kana)} for r in rows],
        )
        last = rows[-1].id
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.alter_column("name_kana_key", existing_type=sa.String(length=100), nullable=False)
        batch_op.create_index(
            "ix_patient_name_kana_key",
            ["name_kana_key"],
            unique=False,
            postgresql_ops={"name_kana_key": "text_pattern_ops"},
        )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_patient_id"))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_name_kana_key")
        batch_op.drop_column("name_kana_key")
