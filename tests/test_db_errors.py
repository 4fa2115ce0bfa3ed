"""A failed statement's error carries no bound value: the values are callers' names, phones and complaints, and
the error's text reaches tracebacks and log lines."""

from __future__ import annotations

import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_a_failed_statement_names_no_bound_value(services):
    secret = "印旛 花子 090-1234-5678 胸が苦しい"
    with pytest.raises(DBAPIError) as failed, services.engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "case" (id, chief_complaint) VALUES (:id, :c)'), {"id": "x", "c": secret}
        )
    rendered = "".join(traceback.format_exception(failed.value))
    assert "[SQL parameters hidden" in rendered  # SQLAlchemy says so instead of the values
    assert secret not in rendered and "090-1234-5678" not in rendered
