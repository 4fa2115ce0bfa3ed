"""Log lines: one JSON object per line in production (`LOG_FORMAT=json`), readable text in development.

Every process (`dispatch serve` with uvicorn's own loggers and access log, `worker` with RQ's, `cron`,
`migrate`, `up`) configures the root logger once through `configure_logging`; every other logger
propagates to it. A JSON line holds exactly: time (ISO 8601, UTC), level, logger, message, request_id,
and, where known, case_id, offer_id, job_id and job (the RQ function), plus a traceback for an exception.
Nothing else a caller hands to a log call (`extra=...`) is written, so no patient data can ride along;
messages carry ids, never names, phones, addresses or complaints. The access log shows the route template
(`/visit/{token}`, `/calendar/{token}.ics`, never the token) and never a query string (a patient search is
a query); a path no route matched under a token's prefix is cut to the template too.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

from dispatch.telemetry import context

JSON = "json"
TEXT = "text"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers the service routes to the root handler instead of their own (uvicorn's, RQ's).
# Paths whose next part is a secret (a visit link, a calendar feed): logged as their template when unmatched.
_TOKEN_PATHS = re.compile(r"^/(visit|calendar)/[^/]*(?=/|$)")
_PROPAGATED = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq.worker", "rq.job", "rq.scheduler", "rq.cron")


def utc_timestamp(created: float) -> str:
    """A record's time as ISO 8601 in UTC with milliseconds, e.g. 2025-01-15T14:00:00.123Z."""
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with a fixed set of fields (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        ids = context.current()
        entry: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": ids.get("request_id"),
        }
        for name in ("case_id", "offer_id", "job_id"):
            if name in ids:
                entry[name] = ids[name]
        if "job_function" in ids:
            entry["job"] = ids["job_function"]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [request_id=… case_id=…]` for a developer's terminal."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, the ids known in its context appended."""
        line = super().format(record)
        ids = context.current()
        ids.pop("job_function", None)
        if not ids:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before any traceback
        tags = " ".join(f"{name}={value}" for name, value in ids.items())
        return f"{first} [{tags}]{newline}{rest}"


class AccessPathFilter(logging.Filter):
    """uvicorn's access line with the route template instead of the path it was called on, and never a
    query string: `GET /api/v1/patients?kana=…` is logged as `GET /api/v1/patients`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the path in uvicorn's arguments (client, method, path, http version, status)."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            path = context.http_route.get() or _TOKEN_PATHS.sub(r"/\1/{token}", str(args[2]).partition("?")[0])
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def logging_config(fmt: str, level: int | str = logging.INFO) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the whole process (also handed to uvicorn as its `log_config`):
    one handler on the root logger, to standard error, in `fmt` (json or text)."""
    formatter = (
        "dispatch.observability.logs.JsonFormatter"
        if fmt == JSON
        else "dispatch.observability.logs.TextFormatter"
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": formatter}},
        "filters": {"access_path": {"()": "dispatch.observability.logs.AccessPathFilter"}},
        "handlers": {
            "stream": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
        },
        "root": {
            "level": logging.getLevelName(level) if isinstance(level, int) else level.upper(),
            "handlers": ["stream"],
        },
        "loggers": {
            name: {
                "handlers": [],
                "propagate": True,
                **({"filters": ["access_path"]} if name == "uvicorn.access" else {}),
            }
            for name in _PROPAGATED
        },
    }


def configure_logging(fmt: str, level: int | str = logging.INFO) -> None:
    """Send every logger of this process to one handler in `fmt` (json or text) at `level`."""
    logging.config.dictConfig(logging_config(fmt, level))
