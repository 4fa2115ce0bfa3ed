"""Error responses in plain words: which field, what is wrong with it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.cases.lifecycle import TransitionNotAllowed
from dispatch.outage import install_outage_handler


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict) -> str:
    message = str(error.get("msg", "is invalid"))
    # pydantic prefixes custom errors with "Value error, "; the field name already says what.
    return message.removeprefix("Value error, ")


# A model's own check names the field it is about: "confirmed_at: cannot be before noticed_at".
_NAMED = re.compile(r"([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*): (.+)", re.DOTALL)
# What a console needs to say the problem in its reader's language (limits, the expected choices).
_CONTEXT = ("min_length", "max_length", "ge", "le", "gt", "lt", "expected")


def _problem(error: dict) -> dict[str, Any]:
    """One bad field: its dotted name, the problem in English, pydantic's error type and its limits."""
    field, problem = _field(tuple(error["loc"])), _message(error)
    named = _NAMED.fullmatch(problem) if error.get("type") == "value_error" else None
    if named:
        name, problem = named[1], named[2]
        if field == "body":
            field = name
        elif field != name and not field.endswith(f".{name}"):
            field = f"{field}.{name}"
    out: dict[str, Any] = {"field": field, "problem": problem, "type": error.get("type", "value_error")}
    context = {
        k: v for k, v in (error.get("ctx") or {}).items() if k in _CONTEXT and isinstance(v, int | float | str)
    }
    if context:
        out["context"] = context
    return out


def install_error_handlers(app: FastAPI) -> None:
    """422 names each bad field and its problem; a forbidden transition is 409; a database outage is 503."""
    install_outage_handler(app)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_problem(e) for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": summary, "errors": errors})

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={"detail": "the case changed while you were acting on it; reload and retry"},
        )

    @app.exception_handler(TransitionNotAllowed)
    async def _transition(_: Request, exc: TransitionNotAllowed) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={"detail": str(exc), "case_id": exc.case_id, "current_state": exc.current.value},
        )


def _has_nul(request_body: bytes, content_type: str, query: str) -> bool:
    if "%00" in query:
        return True
    if b"\x00" in request_body:
        return True
    if content_type.startswith("application/json"):
        return b"\\u0000" in request_body
    return content_type.startswith("application/x-www-form-urlencoded") and b"%00" in request_body


class NulGuard:
    """Pure ASGI middleware (no task group or response streaming per request, as `@app.middleware` has):
    reads the body of a POST/PUT/PATCH, refuses it if it holds a NUL, else hands it on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] in {"POST", "PUT", "PATCH"}:
            chunks, more = [], True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client is gone: nobody to answer
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            receive = _replay(body, receive)
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
        if _has_nul(body, content_type, scope.get("query_string", b"").decode("latin-1")):
            response = JSONResponse(status_code=422, content={"detail": "text must not contain NUL characters"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the already-read body once, then whatever the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def install_nul_guard(app: FastAPI) -> None:
    """Refuse NUL characters in any request: PostgreSQL text cannot hold them, and no person types one."""
    app.add_middleware(NulGuard)
