"""The HTTP side: a request id on every request and its answer, the ids in the path bound for the log lines,
and each request counted and timed by route template."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.telemetry import context, metrics

_HEADER = context.REQUEST_ID_HEADER.lower().encode("latin-1")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CASE = re.compile(r"/cases/(\d{1,18})(?:/|$)")
_OFFER = re.compile(r"/offers/(\d{1,18})(?:/|$)")
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/api/v1/cases/{case_id}`), or 'unmatched': never the raw
    path, whose ids and tokens would make a label per case."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


def _path_id(pattern: re.Pattern[str], path: str) -> int | None:
    match = pattern.search(path)
    return int(match.group(1)) if match else None


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return context.sane_request_id(value.decode("latin-1"))
    return None


class ObservabilityMiddleware:
    """Pure ASGI middleware (no task per request): binds the request id (a sane `X-Request-ID`, else a new
    one) and any case or offer id in the path for this request's log lines and the jobs it enqueues, answers
    with `X-Request-ID`, and records the request's route, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or context.new_request_id()
        path = scope.get("path", "")
        # Set, not reset after: uvicorn logs an unhandled error after the app returns, in this request's own
        # task, and that line should carry the id too. Every id is set afresh, so nothing stale is kept.
        context.bind(
            request_id=request_id,
            case_id=_path_id(_CASE, path),
            offer_id=_path_id(_OFFER, path),
            job_id=None,
            job_function=None,
        )
        context.http_route.set(None)
        status = 500
        header = (_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
                context.http_route.set(route_template(scope))  # for uvicorn's access line, logged in send
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = scope.get("method", "")
            metrics.observe_request(
                method if method in _METHODS else "other",
                route_template(scope),
                status,
                time.perf_counter() - started,
            )


def install(app: FastAPI) -> None:
    """Request ids, HTTP metrics, `/livez` and `/readyz`, and the offer metrics, on this app. Call before
    `enforce_declared_roles` (the probes declare theirs) and after the other middleware (this one then
    wraps them and times their answers too)."""
    from dispatch.observability.offers import install_offer_metrics
    from dispatch.observability.probes import router

    app.include_router(router)
    app.add_middleware(ObservabilityMiddleware)
    install_offer_metrics()
