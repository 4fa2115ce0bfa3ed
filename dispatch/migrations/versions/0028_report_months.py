"""Reports at national size: an index of a programme's calls by time holding what the reports count (an
index-only read of a month on PostgreSQL), partial indexes of the declined and timed-out offers and of the
coordinator alerts, and a cache of each ended month's figures (`report_month`) that
triggers on every table a figure counts delete from whenever a row changes — a bulk UPDATE, an amended
outcome, a patient linked, a call logged late into an ended month — so the next report recomputes that month;
and an ended fiscal year's enrolled patients (契約患者数), forgotten on any change of an enrolment.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORT_COLUMNS = [
    "id",
    "clinic_id",
    "municipality_id",
    "visiting_area_id",
    "patient_id",
    "state",
    "disposition",
    "in_service_hours",
    "in_contract",
    "decided_at",
    "accepted_at",
    "arrived_at",
]
REFUSED = "state IN ('declined', 'timed_out')"
ALERT = "kind = 'alert.coordinator'"

# Forget the months a changed row counts in: its programme's and every programme's (scope 0).
TRIGGERS = """
CREATE FUNCTION report_month_forget(programme integer, at timestamptz) RETURNS void LANGUAGE sql AS $$
    DELETE FROM report_month WHERE scope IN (programme, 0)
        AND month = to_char(timezone('Asia/Tokyo', at), 'YYYY-MM')
$$;
CREATE FUNCTION report_month_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM report_month_forget(OLD.programme_id, OLD.called_at); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM report_month_forget(NEW.programme_id, NEW.called_at); END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION report_month_of_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM report_month_forget(c.programme_id, c.called_at) FROM "case" c WHERE c.id = OLD.case_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM report_month_forget(c.programme_id, c.called_at) FROM "case" c WHERE c.id = NEW.case_id;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION report_month_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_month WHERE kind IN ('monthly', 'enrolled');
    RETURN NULL;
END $$;
CREATE FUNCTION report_month_enrolled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_month WHERE kind = 'enrolled';
    RETURN NULL;
END $$;
CREATE TRIGGER report_month_case AFTER INSERT OR UPDATE OR DELETE ON "case"
    FOR EACH ROW EXECUTE FUNCTION report_month_case();
CREATE TRIGGER report_month_visit_outcome AFTER INSERT OR UPDATE OR DELETE ON visit_outcome
    FOR EACH ROW EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_offer AFTER INSERT OR UPDATE OR DELETE ON offer
    FOR EACH ROW EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event AFTER INSERT ON case_event
    FOR EACH ROW WHEN (NEW.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_change AFTER UPDATE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator' OR NEW.kind = 'alert.coordinator')
    EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_gone AFTER DELETE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_enrolment AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON enrolment
    FOR EACH STATEMENT EXECUTE FUNCTION report_month_enrolled();
CREATE TRIGGER report_month_clinic AFTER UPDATE OF label, programme_id OR DELETE ON clinic
    FOR EACH STATEMENT EXECUTE FUNCTION report_month_names();
CREATE TRIGGER report_month_municipality AFTER UPDATE OF name OR DELETE ON municipality
    FOR EACH STATEMENT EXECUTE FUNCTION report_month_names();
"""
DROP = """
DROP TRIGGER IF EXISTS report_month_municipality ON municipality;
DROP TRIGGER IF EXISTS report_month_clinic ON clinic;
DROP TRIGGER IF EXISTS report_month_enrolment ON enrolment;
DROP TRIGGER IF EXISTS report_month_case_event_gone ON case_event;
DROP TRIGGER IF EXISTS report_month_case_event_change ON case_event;
DROP TRIGGER IF EXISTS report_month_case_event ON case_event;
DROP TRIGGER IF EXISTS report_month_offer ON offer;
DROP TRIGGER IF EXISTS report_month_visit_outcome ON visit_outcome;
DROP TRIGGER IF EXISTS report_month_case ON "case";
DROP FUNCTION IF EXISTS report_month_enrolled();
DROP FUNCTION IF EXISTS report_month_names();
DROP FUNCTION IF EXISTS report_month_of_case();
DROP FUNCTION IF EXISTS report_month_case();
DROP FUNCTION IF EXISTS report_month_forget(integer, timestamptz);
"""


def upgrade() -> None:
    op.create_table(
        "report_month",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "month", "kind", name=op.f("pk_report_month")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_programme_called_at",
            ["programme_id", "called_at"],
            unique=False,
            postgresql_include=REPORT_COLUMNS,
        )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_refused_case_id",
            ["case_id", "state"],
            unique=False,
            postgresql_where=sa.text(REFUSED),
            sqlite_where=sa.text(REFUSED),
        )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_event_alert_case_id",
            ["case_id"],
            unique=False,
            postgresql_where=sa.text(ALERT),
            sqlite_where=sa.text(ALERT),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP)
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_case_event_alert_case_id", postgresql_where=sa.text(ALERT), sqlite_where=sa.text(ALERT)
        )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_offer_refused_case_id", postgresql_where=sa.text(REFUSED), sqlite_where=sa.text(REFUSED)
        )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_programme_called_at", postgresql_include=REPORT_COLUMNS)
    op.drop_table("report_month")
