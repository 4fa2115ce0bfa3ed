"""Initial schema: programme, clinics, roster, patients, cases and timeline, users, audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:20:57.011232
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatch.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timelines and the audit log are append-only: the database itself refuses UPDATE and DELETE.
APPEND_ONLY_TABLES = ("case_event", "audit_log")


def _create_append_only_guards() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(
                f"""
                CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
                END;
                $$ LANGUAGE plpgsql
                """
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
        elif dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
                )


def _drop_append_only_guards() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        elif dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    op.create_table(
        "medical_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefecture", sa.String(length=16), nullable=False),
        sa.Column("road_factor", sa.Float(), nullable=False),
        sa.Column("travel_speed_kmh", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_area")),
        sa.UniqueConstraint("code", name=op.f("uq_medical_area_code")),
    )
    op.create_table(
        "municipality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["medical_area.id"], name=op.f("fk_municipality_area_id_medical_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipality")),
        sa.UniqueConstraint("code", name=op.f("uq_municipality_code")),
    )
    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefecture", sa.String(length=16), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("coordinator_phone", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"], ["medical_area.id"], name=op.f("fk_programme_area_id_medical_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("code", name=op.f("uq_programme_code")),
    )
    op.create_table(
        "clinic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "clinic", "hospital", name="clinickind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("handoff_phone", sa.String(length=16), nullable=True),
        sa.Column("newly_started_house_calls", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_clinic_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_clinic_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
        sa.UniqueConstraint("programme_id", "label", name=op.f("uq_clinic_programme_id_label")),
    )
    op.create_table(
        "fiscal_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("counts_consultations", sa.Boolean(), nullable=False),
        sa.Column("operator_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_fiscal_year_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_year")),
        sa.UniqueConstraint("programme_id", "year", name=op.f("uq_fiscal_year_programme_id_year")),
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_name", sa.String(length=50), nullable=False),
        sa.Column("given_name", sa.String(length=50), nullable=False),
        sa.Column("family_name_kana", sa.String(length=50), nullable=False),
        sa.Column("given_name_kana", sa.String(length=50), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column(
            "sex",
            sa.Enum(
                "female",
                "male",
                "other",
                "unknown",
                name="sex",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("household_phone_e164", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "diagnoses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "acp",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "devices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "key_person",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_patient_municipality_id_municipality")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_household_phone_e164"), ["household_phone_e164"], unique=False
        )
        batch_op.create_index(
            "ix_patient_name_dob", ["family_name_kana", "given_name_kana", "date_of_birth"], unique=False
        )

    op.create_table(
        "service_hours_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_service_hours_rule_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_hours_rule")),
        sa.UniqueConstraint("programme_id", "version", name=op.f("uq_service_hours_rule_programme_id_version")),
    )
    op.create_table(
        "contract_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("end_month", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "end_month IS NULL OR end_month >= start_month", name=op.f("ck_contract_period_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_contract_period_clinic_id_clinic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_period")),
        sa.UniqueConstraint("clinic_id", "start_month", name=op.f("uq_contract_period_clinic_id_start_month")),
    )
    op.create_table(
        "physician",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "attending",
                "consulting",
                "substitute",
                name="physicianrole",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("base_municipality_id", sa.Integer(), nullable=True),
        sa.Column("base_latitude", sa.Float(), nullable=True),
        sa.Column("base_longitude", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_municipality_id"],
            ["municipality.id"],
            name=op.f("fk_physician_base_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_physician_clinic_id_clinic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physician")),
        sa.UniqueConstraint("phone_e164", name=op.f("uq_physician_phone_e164")),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "operator",
                "consulting_physician",
                "substitute_physician",
                "coordinator",
                "clinic_admin",
                "prefecture_analyst",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("physician_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role != 'clinic_admin' OR clinic_id IS NOT NULL",
            name=op.f("ck_app_user_clinic_admin_has_clinic"),
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_app_user_clinic_id_clinic")),
        sa.ForeignKeyConstraint(
            ["physician_id"], ["physician.id"], name=op.f("fk_app_user_physician_id_physician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "received",
                "triage_pending",
                "triaging",
                "closed_consultation",
                "dispatching",
                "offered",
                "accepted",
                "en_route",
                "on_scene",
                "visit_completed",
                "handed_off",
                "closed",
                "cancelled",
                "referred_ems",
                "unfilled",
                name="casestate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("municipality_id", sa.Integer(), nullable=True),
        sa.Column("called_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("in_service_hours", sa.Boolean(), nullable=False),
        sa.Column("service_hours_rule_version", sa.Integer(), nullable=False),
        sa.Column("caller_name", sa.String(length=100), nullable=True),
        sa.Column("caller_relation", sa.String(length=50), nullable=True),
        sa.Column("callback_phone_e164", sa.String(length=16), nullable=True),
        sa.Column("chief_complaint", sa.Text(), nullable=True),
        sa.Column(
            "intake",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("triage_physician_id", sa.Integer(), nullable=True),
        sa.Column("triage_claimed_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "disposition",
            sa.Enum(
                "advice_only",
                "advice_follow_up_attending",
                "attending_handles",
                "ems_119",
                "visit_urgent",
                "visit_standard",
                "expected_death_visit",
                name="disposition",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "urgency",
            sa.Enum(
                "red",
                "orange",
                "yellow",
                "green",
                "white",
                name="urgency",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=True,
        ),
        sa.Column("jtas_level", sa.Integer(), nullable=True),
        sa.Column("decided_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "escalation_policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("assigned_physician_id", sa.Integer(), nullable=True),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_physician_id"], ["physician.id"], name=op.f("fk_case_assigned_physician_id_physician")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_case_clinic_id_clinic")),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"], name=op.f("fk_case_municipality_id_municipality")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_case_patient_id_patient")),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_case_programme_id_programme")
        ),
        sa.ForeignKeyConstraint(
            ["triage_physician_id"], ["physician.id"], name=op.f("fk_case_triage_physician_id_physician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_clinic_called_at", ["clinic_id", "called_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_case_state_called_at", ["state", "called_at"], unique=False)
        batch_op.create_index(
            "uq_case_one_active_visit_per_physician",
            ["assigned_physician_id"],
            unique=True,
            postgresql_where=sa.text("state IN ('accepted', 'en_route', 'on_scene')"),
            sqlite_where=sa.text("state IN ('accepted', 'en_route', 'on_scene')"),
        )

    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("clinic_patient_number", sa.String(length=32), nullable=False),
        sa.Column("attending_physician_id", sa.Integer(), nullable=True),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("consent_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consent_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "NOT consent_given OR (consent_at IS NOT NULL AND consent_by IS NOT NULL)",
            name=op.f("ck_enrolment_consent_recorded"),
        ),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= enrolled_on", name=op.f("ck_enrolment_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["attending_physician_id"],
            ["physician.id"],
            name=op.f("fk_enrolment_attending_physician_id_physician"),
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_enrolment_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_enrolment_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index("ix_enrolment_clinic_number", ["clinic_id", "clinic_patient_number"], unique=True)

    op.create_table(
        "shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("physician_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_shift_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["physician_id"], ["physician.id"], name=op.f("fk_shift_physician_id_physician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift")),
    )
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.create_index("ix_shift_window", ["starts_at", "ends_at"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_audit_log_case_id_case")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_audit_log_patient_id_patient")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_audit_log_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_patient_at", ["patient_id", "at"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "received",
                "triage_pending",
                "triaging",
                "closed_consultation",
                "dispatching",
                "offered",
                "accepted",
                "en_route",
                "on_scene",
                "visit_completed",
                "handed_off",
                "closed",
                "cancelled",
                "referred_ems",
                "unfilled",
                name="from_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "received",
                "triage_pending",
                "triaging",
                "closed_consultation",
                "dispatching",
                "offered",
                "accepted",
                "en_route",
                "on_scene",
                "visit_completed",
                "handed_off",
                "closed",
                "cancelled",
                "referred_ems",
                "unfilled",
                name="to_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["app_user.id"], name=op.f("fk_case_event_actor_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_event_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_case_id_id", ["case_id", "id"], unique=False)

    op.create_table(
        "shift_coverage",
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_shift_coverage_municipality_id_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shift.id"], name=op.f("fk_shift_coverage_shift_id_shift"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shift_id", "municipality_id", name=op.f("pk_shift_coverage")),
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dispatch.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_session_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_user_session_token_sha256")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    _create_append_only_guards()


def downgrade() -> None:
    _drop_append_only_guards()
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
    op.drop_table("shift_coverage")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_case_id_id")

    op.drop_table("case_event")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_patient_at")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.drop_index("ix_shift_window")

    op.drop_table("shift")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolment_clinic_number")

    op.drop_table("enrolment")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_case_one_active_visit_per_physician",
            postgresql_where=sa.text("state IN ('accepted', 'en_route', 'on_scene')"),
            sqlite_where=sa.text("state IN ('accepted', 'en_route', 'on_scene')"),
        )
        batch_op.drop_index("ix_case_state_called_at")
        batch_op.drop_index(batch_op.f("ix_case_patient_id"))
        batch_op.drop_index("ix_case_clinic_called_at")

    op.drop_table("case")
    op.drop_table("app_user")
    op.drop_table("physician")
    op.drop_table("contract_period")
    op.drop_table("service_hours_rule")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_name_dob")
        batch_op.drop_index(batch_op.f("ix_patient_household_phone_e164"))

    op.drop_table("patient")
    op.drop_table("fiscal_year")
    op.drop_table("clinic")
    op.drop_table("programme")
    op.drop_table("municipality")
    op.drop_table("medical_area")
