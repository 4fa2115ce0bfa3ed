"""FastAPI dependencies: the wiring, a database session per request, the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dispatch.clock import Clock
from dispatch.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def _end(session: Session) -> None:
    session.rollback()
    session.close()


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route commits, anything uncommitted is rolled back.

    Opening a session touches no connection, so it happens on the event loop; the close goes to the
    threadpool only when a transaction is still open (a route that failed or never committed)."""
    session = get_services(request).session_factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_end, session)
        else:
            session.close()


def get_clock(request: Request) -> Clock:
    return get_services(request).clock


def model_response(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`model` as a JSON response, serialised once. A sync route that returns a model instead has FastAPI
    validate it again against `response_model`, in one more threadpool hop; the hot routes skip that (their
    `response_model` still documents the shape)."""
    return Response(model.model_dump_json(), status_code, headers, media_type="application/json")
