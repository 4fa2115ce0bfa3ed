"""Engine, sessions and the declarative base shared by every domain package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, DateTime, Dialect, Engine, Enum, MetaData, Table, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from dispatch import sqlite_lock
from dispatch.db_watchdog import watchdog

# Stable constraint names so Alembic can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back timezone-aware, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table for Core statements (`__table__`, which SQLAlchemy types as a FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def make_engine(
    url: str,
    *,
    connect_timeout_s: int | None = None,
    pool_timeout_s: float | None = None,
    statement_timeout_ms: int | None = None,
    **kwargs: object,
) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout, PostgreSQL the given timeouts."""
    # A failed statement's error (and so any traceback or log line) must not carry its bound values: they
    # are callers' names, phones and complaints.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # pysqlite's own timeout is SQLite's busy timeout; the pragma below says it again, in milliseconds.
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        sqlite_lock.install(engine, SQLITE_BUSY_TIMEOUT_MS)
        return engine
    bounded = bool(statement_timeout_ms)
    kwargs.setdefault("pool_pre_ping", not bounded)  # bounded engines ping within a deadline instead
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    if pool_timeout_s is not None:
        kwargs.setdefault("pool_timeout", pool_timeout_s)
    engine = create_engine(url, connect_args=_timeouts(connect_timeout_s, statement_timeout_ms), **kwargs)
    # RQ forks a work horse per job: the child must not reuse the parent's sockets.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    if statement_timeout_ms:
        _bound_calls(engine, statement_timeout_ms / 1000 + STATEMENT_GRACE_S)
    return engine


# How long an SQLite connection waits for another's write to finish before it gives up (then retries).
SQLITE_BUSY_TIMEOUT_MS = 15_000
# A pooled connection's ping: a live server answers in milliseconds.
PING_DEADLINE_S = 1.0
# Past the server's own statement_timeout, a statement that has not failed means a server that is not there.
STATEMENT_GRACE_S = 2.0


def _bound_calls(engine: Engine, statement_deadline_s: float) -> None:
    """Ping each connection taken from the pool, and run each statement, within a client-side deadline."""

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, _record, _proxy) -> None:
        with watchdog.deadline(dbapi_conn, dbapi_conn.fileno(), PING_DEADLINE_S):
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:  # the pool replaces the connection and tries once more
                raise DisconnectionError("the pooled connection did not answer its ping") from exc

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(_conn, cursor, *_args) -> None:
        watchdog.arm(cursor.connection, cursor.connection.fileno(), statement_deadline_s)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(_conn, cursor, *_args) -> None:
        watchdog.disarm(cursor.connection)

    @event.listens_for(engine, "handle_error")
    def _disarm_failed(context) -> None:
        cursor = getattr(context, "cursor", None)  # absent on a failed connect
        if cursor is not None:
            watchdog.disarm(cursor.connection)


def _timeouts(connect_timeout_s: int | None, statement_timeout_ms: int | None) -> dict[str, object]:
    """libpq's connect_timeout and the server-side statement_timeout (unset or 0: none) for each connection."""
    args: dict[str, object] = {}
    if connect_timeout_s:
        args["connect_timeout"] = connect_timeout_s
        # A database host gone from the network (what was sent is never acknowledged) fails as fast.
        args["tcp_user_timeout"] = connect_timeout_s * 1000
    if statement_timeout_ms:
        args["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    return args


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def db_enum(enum_cls: type, length: int = 32, name: str | None = None) -> Enum:
    """A portable enum column: stored as its string value, checked by a named constraint."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        name=name or enum_cls.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


_CUSTOM_PLANS = "dispatch.custom_plans"  # session.info: the transaction custom plans were set in


def plan_for_these_values(session: Session) -> None:
    """PostgreSQL: plan each statement of this transaction for its own values. A statement run often on one
    connection is prepared (psycopg, from its fifth run), and PostgreSQL may then keep one generic plan for
    any value: for "the day's arrivals" it guessed a third of every visit ever and a round took seconds."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # Once per transaction (a round's reads each ask for it): the innermost transaction it was set in is kept,
    # so a savepoint rolled back, which undoes SET LOCAL, is set again.
    current = session.get_nested_transaction() or session.get_transaction()
    if current is not None and session.info.get(_CUSTOM_PLANS) is current:
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info[_CUSTOM_PLANS] = session.get_nested_transaction() or session.get_transaction()
