"""The Alembic migrations: up, down and up again, and nothing in the models that a migration lacks."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from dispatch import schema
from dispatch.models import Base


def test_upgrade_downgrade_upgrade_runs_clean(scratch_database_url):
    schema.upgrade(scratch_database_url)
    engine = create_engine(scratch_database_url)
    assert {"case", "case_event", "audit_log", "shift", "enrolment"} <= set(inspect(engine).get_table_names())
    schema.downgrade(scratch_database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(scratch_database_url)
    assert "case" in inspect(engine).get_table_names()
    engine.dispose()


def test_the_models_and_the_migrations_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from the migrations; write a migration: {diff}"
