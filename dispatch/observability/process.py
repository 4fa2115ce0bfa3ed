"""Setting a process up before it does anything: its logging, and where its metrics go.

Called first thing by `dispatch serve`, `worker`, `cron`, `migrate` and `up`, before anything imports
`dispatch.telemetry.metrics` (which reads `PROMETHEUS_MULTIPROC_DIR` when it is imported).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

from config.settings import Settings
from dispatch.observability.logs import configure_logging, logging_config
from dispatch.telemetry import MULTIPROC_ENV


def setup_logging(settings: Settings, level: int | str = logging.INFO) -> None:
    """Configure this process's logging in the settings' format (json in production, text otherwise)."""
    configure_logging(settings.resolved_log_format.value, level)


def prepare_metrics_dir(settings: Settings, private: bool = False) -> str | None:
    """Point this process, and every child it starts, at the shared metrics directory: `METRICS_DIR`, else
    one a parent (`dispatch up`) handed down, else, when `private`, a fresh temporary one removed at exit
    (so `dispatch serve --workers 2` adds up its own processes). None: this process keeps its metrics to
    itself (a worker or cron with no `METRICS_DIR`; nothing scrapes them)."""
    inherited = os.environ.get(MULTIPROC_ENV)
    if settings.metrics_dir is not None:
        path = str(settings.metrics_dir)
        os.makedirs(path, exist_ok=True)
    elif inherited and os.path.isdir(inherited):
        path = inherited
    elif private:
        path = tempfile.mkdtemp(prefix="dispatch-metrics-")
        atexit.register(shutil.rmtree, path, True)
    else:
        return None
    os.environ[MULTIPROC_ENV] = path
    if "dispatch.telemetry.metrics" in sys.modules and inherited != path:
        # Its metrics already exist in this process's memory: they would never reach the directory.
        logging.getLogger(__name__).warning("metrics were imported before the metrics directory was set")
    return path


def uvicorn_log_config(settings: Settings, level: int | str = logging.INFO) -> dict[str, Any]:
    """The `log_config` to hand uvicorn (its worker processes configure themselves from it): the same one
    handler as the rest of the process, with uvicorn's loggers and access log propagating to it."""
    return logging_config(settings.resolved_log_format.value, level)
