"""Backing up and restoring the service's PostgreSQL database, without a shell: what the drill runs.

Back up: `pg_dump --format=custom --file FILE --dbname URL` (one file: schema, data, sequences, the
append-only triggers). Restore into a new, empty database: `pg_restore --exit-on-error --single-transaction
--no-owner --dbname URL FILE`. Redis needs nothing: it only carries work, which the reconciler re-derives
from the database.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.production import libpq, recreate_database


def dump(database_url: str, path: Path) -> list[str]:
    """Back the database up into `path` (pg_dump's custom format); the command run."""
    url, env = libpq(database_url)
    argv = ["pg_dump", "--format=custom", "--file", str(path), "--dbname", url]
    subprocess.run(argv, env={**os.environ, **env}, check=True, timeout=60, capture_output=True)
    return argv


def restore(path: Path, database_url: str) -> list[str]:
    """Restore `path` into the database named in `database_url`, created afresh; the command run."""
    recreate_database(database_url)
    url, env = libpq(database_url)
    argv = ["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner", "--dbname", url, str(path)]
    subprocess.run(argv, env={**os.environ, **env}, check=True, timeout=60, capture_output=True)
    return argv


def contents(database_url: str) -> dict[str, Any]:
    """Every table's rows (in a stable order) and every sequence's position: what a restore must keep."""
    engine = create_engine(database_url)
    found: dict[str, Any] = {}
    with engine.connect() as conn:
        tables = conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).all()
        for table in tables:
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            found[table] = sorted((tuple(row) for row in rows), key=repr)
        sequences = conn.execute(
            text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        ).all()
        found["(sequences)"] = sorted((tuple(row) for row in sequences), key=repr)
    engine.dispose()
    return found
