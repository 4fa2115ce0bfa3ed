"""FastAPI dependencies: the wiring, a database session per request, the clock."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def db_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything uncommitted is rolled back."""
    session = get_services(request).session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def get_clock(request: Request) -> Clock:
    return get_services(request).clock
