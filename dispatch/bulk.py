"""Many rows written by one statement with one array parameter per column, on PostgreSQL: INSERT ... SELECT
FROM unnest(...) and UPDATE ... FROM unnest(...). SQLAlchemy's own batches bind one parameter per value, which
psycopg and then the server parse one by one: for a matching round's 200 offers, their events and their SMS,
that was most of the round. Elsewhere (SQLite) callers write row by row as before: `supported` says which."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, Row, Table, text
from sqlalchemy.orm import Session


def supported(session: Session) -> bool:
    """Whether this session's database takes the array statements (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def _arrays(session: Session, table: Table, columns: dict[str, list[Any]], first: int = 0) -> tuple:
    """Each column's values as one bound array, typed as the column: the casts and the parameters."""
    dialect = session.get_bind().dialect
    casts, params = [], {}
    for n, (name, values) in enumerate(columns.items(), start=first):
        kind = table.c[name].type.dialect_impl(dialect)
        if isinstance(kind, JSON):  # psycopg adapts a document alone, not in an array: send each as text
            params[f"a{n}"] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        else:
            process = kind.bind_processor(dialect)
            params[f"a{n}"] = [process(v) if process and v is not None else v for v in values]
        casts.append(f"CAST(:a{n} AS {kind.compile(dialect=dialect)}[])")
    return casts, params


def insert(
    session: Session, table: Table, columns: dict[str, list[Any]], returning: Sequence[str]
) -> list[Row]:
    """Insert one row per position of the `columns`' lists by one statement; the `returning` columns of each
    row written (in no promised order: return a key to match them by)."""
    casts, params = _arrays(session, table, columns)
    quote = session.get_bind().dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT * FROM unnest({', '.join(casts)}) RETURNING {', '.join(quote(c) for c in returning)}"
    )
    return list(session.execute(text(statement), params).all())


def update(session: Session, table: Table, where: dict[str, list[Any]], values: dict[str, list[Any]]) -> int:
    """Update, for each position of the lists, the row whose `where` columns hold that position's values with
    that position's `values`, by one statement; how many rows were updated."""
    match, params = _arrays(session, table, where)
    sets, more = _arrays(session, table, values, first=len(where))
    quote = session.get_bind().dialect.identifier_preparer.quote
    name = quote(table.name)
    aliases = [f"u{n}" for n in range(len(where) + len(values))]
    conditions = [f"{name}.{quote(c)} = u.{a}" for c, a in zip(where, aliases, strict=False)]
    changes = [f"{quote(c)} = u.{a}" for c, a in zip(values, aliases[len(where) :], strict=True)]
    statement = (
        f"UPDATE {name} SET {', '.join(changes)} FROM unnest({', '.join(match + sets)}) "
        f"AS u({', '.join(aliases)}) WHERE {' AND '.join(conditions)}"
    )
    return cast(CursorResult, session.execute(text(statement), params | more)).rowcount
