"""`dispatch health worker|cron`: container health checks that exit 0 when this host's part is alive."""

from __future__ import annotations

from collections.abc import Callable

import typer
from redis import Redis
from redis.exceptions import RedisError

from config.settings import load_settings

health_app = typer.Typer(
    help="Exit 0 when this host's worker or cron scheduler is alive (for container health checks).",
    no_args_is_help=True,
)


def _report(check: Callable[[Redis], tuple[bool, str]]) -> None:
    redis = Redis.from_url(load_settings().redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        ok, words = check(redis)
    except RedisError as exc:
        ok, words = False, f"Redis unreachable: {type(exc).__name__}"
    finally:
        redis.close()
    typer.echo(words, err=not ok)
    raise typer.Exit(0 if ok else 1)


@health_app.command("worker")
def worker_health() -> None:
    """Alive when an RQ worker on this host beat in Redis within the last two minutes."""
    from dispatch.observability.probes import worker_status

    _report(worker_status)


@health_app.command("cron")
def cron_health() -> None:
    """Alive when the cron scheduler on this host beat in Redis within the last 30 s."""
    from dispatch.observability.probes import cron_status

    _report(cron_status)
