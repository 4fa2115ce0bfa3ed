"""The ids a log line carries (request, case, offer, job), held in contextvars for the request or job at hand.

A request id comes from a sane `X-Request-ID` header or is made here; it travels to every RQ job the
request enqueues in `job.meta` (`job_meta()`), and a worker restores it while the job runs. A job that
nobody's request enqueued (the cron scheduler's) gets an id of its own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# The key in `job.meta` the request id travels under.
META_REQUEST_ID = "request_id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("dispatch_request_id", default=None)
case_id: ContextVar[int | None] = ContextVar("dispatch_case_id", default=None)
offer_id: ContextVar[int | None] = ContextVar("dispatch_offer_id", default=None)
job_id: ContextVar[str | None] = ContextVar("dispatch_job_id", default=None)
# The dotted name of the RQ job running in this context (e.g. 'workers.jobs.reconcile'), if any.
job_function: ContextVar[str | None] = ContextVar("dispatch_job_function", default=None)
# The route template of the request being answered (`/api/v1/cases/{case_id}`), for the access log.
http_route: ContextVar[str | None] = ContextVar("dispatch_http_route", default=None)

_VARS: dict[str, ContextVar[Any]] = {
    "request_id": request_id,
    "case_id": case_id,
    "offer_id": offer_id,
    "job_id": job_id,
    "job_function": job_function,
}


def new_request_id() -> str:
    """A fresh request id: 16 hex characters, unguessable and short enough to read out on the phone."""
    return secrets.token_hex(8)


def sane_request_id(value: str | None) -> str | None:
    """`value` if it is a token we may echo and log as it is ([A-Za-z0-9._-], 1 to 64 characters), else None."""
    if value is None or _SANE.fullmatch(value) is None:
        return None
    return value


def current() -> dict[str, Any]:
    """The ids known in this context (unset ones left out), for a log line."""
    known = {name: var.get() for name, var in _VARS.items()}
    return {name: value for name, value in known.items() if value is not None}


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Set some of request_id, case_id, offer_id, job_id, job_function for the block, then restore them."""
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
    try:
        for name, value in ids.items():
            var = _VARS[name]
            tokens.append((var, var.set(value)))
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**ids: Any) -> None:
    """Set some ids for the rest of this context (a request's task, a job) without restoring them."""
    for name, value in ids.items():
        _VARS[name].set(value)


def job_meta() -> dict[str, str]:
    """What an enqueued job carries of this context in `job.meta`: the request id, when there is one."""
    rid = request_id.get()
    return {META_REQUEST_ID: rid} if rid is not None else {}
