"""The `dispatch` command: migrate, seed, serve, worker, cron, and `up` (everything at once)."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import sys
from typing import TypedDict

import typer

from config.settings import Settings, load_settings
from dispatch.audit.cli import audit_app
from dispatch.observability.cli import health_app
from dispatch.observability.process import prepare_metrics_dir, setup_logging, uvicorn_log_config
from dispatch.report_cli import report_app
from dispatch.startup import settings_or_exit
from dispatch.user_cli import user_app

app = typer.Typer(help="Night and holiday house-call dispatch service.", no_args_is_help=True)
seed_app = typer.Typer(help="Load reference or demo data.", no_args_is_help=True)
app.add_typer(seed_app, name="seed")
app.add_typer(report_app, name="report")
app.add_typer(user_app, name="user")
app.add_typer(health_app, name="health")
app.add_typer(audit_app, name="audit")

log = logging.getLogger("dispatch")
RQ_MAINTENANCE_S = 15


def _settings() -> Settings:
    return settings_or_exit()


@app.command()
def migrate(revision: str = typer.Option("head", help="Alembic revision to upgrade to")) -> None:
    """Bring the database schema up to date."""
    from dispatch import schema

    settings = _settings()
    setup_logging(settings)
    schema.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@seed_app.command("reference")
def seed_reference_cmd() -> None:
    """Load the reference programme (area, municipalities, fiscal years, hours, clinics)."""
    from dispatch.db import make_engine, make_session_factory, unit_of_work
    from dispatch.seed.reference import load_programme_data, seed_reference

    settings = _settings()
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        programme = seed_reference(session, load_programme_data(settings.programme_code))
        typer.echo(f"programme {programme.code} loaded")
    engine.dispose()


@seed_app.command("demo")
def seed_demo_cmd(
    patients: bool = typer.Option(True, help="also the three fictional patients (a replay wants none)"),
) -> None:
    """Load the reference programme plus a demo roster, patients and one user per role."""
    settings = _settings()
    if settings.is_production:
        typer.secho("refusing to load demo users into a production database", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    for login in _seed_demo(settings, patients):
        typer.echo(f"  {login.role.value:<22} {login.username} / {login.password}")


def _seed_demo(settings: Settings, patients: bool = True):
    from dispatch.auth.passwords import Passwords
    from dispatch.clock import SystemClock
    from dispatch.db import make_engine, make_session_factory, unit_of_work
    from dispatch.seed.demo import seed_demo_areas
    from dispatch.seed.reference import load_programme_data

    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return seed_demo_areas(
                session,
                load_programme_data(settings.programme_code),
                SystemClock(),
                Passwords.from_settings(settings),
                patients,
            )
    finally:
        engine.dispose()


class ProxyOptions(TypedDict, total=False):
    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(settings: Settings) -> ProxyOptions:
    """uvicorn's proxy handling: X-Forwarded-For is believed only from the proxies FORWARDED_ALLOW_IPS
    names; with none named it is ignored (uvicorn alone would believe any local process)."""
    if not settings.forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, help="uvicorn worker processes"),
    access_log: bool = typer.Option(
        False, help="Log every request (the proxy in front usually does); errors are logged either way"
    ),
    graceful_timeout: int = typer.Option(
        5, min=1, help="seconds a stop waits for open requests and the consoles' live streams, which reconnect"
    ),
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from dispatch.header_limit import MAX_HEAD_BYTES, http_protocol

    settings = _settings()
    prepare_metrics_dir(settings, private=True)  # before any process imports the app and its metrics
    uvicorn.run(
        "dispatch.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **proxy_options(settings),
        access_log=access_log,
        log_config=uvicorn_log_config(settings),
        # Without a bound, one console's open event stream holds SIGTERM off for ever.
        timeout_graceful_shutdown=graceful_timeout,
        # The request line and headers, at most: h11's own bound, and under httptools `BoundedHeadProtocol`
        # (bodies are capped by `dispatch.body_limit`).
        http=http_protocol(),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )


@app.command()
def worker(
    burst: bool = typer.Option(False, help="Stop when the queue is empty"),
    scheduler: bool = typer.Option(True, help="Also run RQ's scheduler for delayed jobs"),
    fork: bool = typer.Option(
        False, help="Run each job in a forked work horse (isolation, ~0.3 s a job) or in this warm process"
    ),
    log_level: str = typer.Option("INFO", help="RQ's own lines (WARNING hides one line per job)"),
    maintenance_interval: int = typer.Option(
        RQ_MAINTENANCE_S,
        min=1,
        help="Seconds between RQ's maintenance passes (when a worker takes the scheduler of a dead holder)",
    ),
) -> None:
    """Run an RQ worker on the service's queue (start as many as you like); it sweeps if cron stops."""
    from redis import Redis

    from dispatch.queue import JOBS_MODULE, QUEUE_NAME

    settings = _settings()
    setup_logging(settings)  # the service's own lines stay at INFO whatever RQ's level
    prepare_metrics_dir(settings)  # before the job modules import the metrics
    from dispatch.flow.keeper import SweepKeeper
    from dispatch.observability.offers import install_offer_metrics
    from dispatch.observability.probes import WORKER_TTL_S
    from dispatch.observability.rqjob import ForkingServiceWorker, ObservedJob, ServiceWorker
    from dispatch.services import Services
    from dispatch.telemetry.metrics import mark_worker_process

    mark_worker_process()
    install_offer_metrics()  # offers time out here (deadline jobs, the sweep): their lateness is counted here
    redis = Redis.from_url(settings.redis_url)
    # Import the job modules and wire the service once, before the first job (and before RQ forks a work
    # horse per job): no job pays for imports or connections (by name: `dispatch` never imports `workers`
    # statically).
    importlib.import_module(JOBS_MODULE).warm_up(redis)
    worker_class = ForkingServiceWorker if fork else ServiceWorker
    # ObservedJob: each job's request id and ids on its log lines, its count and time in the metrics. The
    # worker classes log a job failing on a database outage in one rate-limited line, not a trace per job.
    # worker_ttl: an idle worker beats at least every 45 s, which `dispatch health worker` checks.
    # maintenance_interval: a worker without RQ's scheduler tries to take it every 15 s (when its loop comes
    # round: at least every 45 s idle), so once a dead holder's lock expires (61 s) another worker schedules
    # the deadline jobs; RQ's default, 600 s, left them waiting up to ten minutes.
    rq_worker = worker_class(
        [QUEUE_NAME],
        connection=redis,
        job_class=ObservedJob,
        worker_ttl=WORKER_TTL_S,
        maintenance_interval=maintenance_interval,
    )
    # The sweep in cron's place while cron's sweeps are overdue, on connections of its own (a job's Twilio
    # client and sessions are never shared with the keeper's thread).
    keeper = None if burst else SweepKeeper(Services.build(settings))
    if keeper is not None:
        keeper.start()
    try:
        rq_worker.work(with_scheduler=scheduler, burst=burst, logging_level=log_level.upper())
    finally:
        if keeper is not None:
            keeper.stop()


@app.command()
def cron(
    log_level: str = typer.Option("INFO", help="RQ's own lines (WARNING hides one line per periodic job)"),
) -> None:
    """Run RQ's cron scheduler: the periodic jobs (the reconciler's sweep, handoffs, heartbeat). Run one."""
    from redis import Redis
    from rq.cron import CronScheduler
    from rq.exceptions import SchedulerNotFound

    from dispatch.queue import CRON_CONFIG

    settings = _settings()
    setup_logging(settings)
    prepare_metrics_dir(settings)
    logging.getLogger("rq.cron").setLevel(log_level.upper())  # RQ sets it only when it has no handler
    scheduler = CronScheduler(connection=Redis.from_url(settings.redis_url), logging_level=log_level.upper())
    scheduler.load_config_from_file(CRON_CONFIG)
    try:
        scheduler.start()
    except SchedulerNotFound:
        # Redis keeps nothing on disk: after a restart (or a flush) the scheduler's registry entry is gone, and
        # RQ raises while removing it on the way out. The jobs are unaffected; stop cleanly, in one line.
        log.warning("cron scheduler stopped; its registry entry was already gone (Redis restarted or flushed)")


@app.command()
def up(
    port: int = typer.Option(8000, help="Port to serve on"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
) -> None:
    """Everything in one command: database, Redis, API, a worker and the cron scheduler. Ctrl-C stops all."""
    import uvicorn

    # Read once before PUBLIC_BASE_URL and REDIS_URL are filled in below (then read again, complete).
    initial = load_settings()
    # Before the app is imported: the API's metrics, the worker's and the cron's go to one directory.
    prepare_metrics_dir(initial, private=True)
    from dispatch import embedded, schema
    from dispatch.app import create_app
    from dispatch.runtime import freeze_startup_objects

    problem = embedded.port_taken(host, port)
    if problem:  # before anything starts or claims to be up
        typer.secho(
            f"cannot serve on {host}:{port}: {problem}; choose another with PORT=… (make demo) or --port",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    setup_logging(initial)
    redis_server = None
    configured = initial.model_fields_set
    if "public_base_url" not in configured:  # links in SMS and webhook signatures use the real port
        os.environ["PUBLIC_BASE_URL"] = f"http://{host}:{port}"
    if "redis_url" not in configured:  # neither REDIS_URL nor .env names one
        redis_server = embedded.start_redis()
        os.environ["REDIS_URL"] = redis_server.url
    children = []
    try:
        settings = _settings()
        schema.upgrade(settings.database_url)
        logins = [] if settings.is_production else _seed_demo(settings)
        env = embedded.child_env()
        for command in ("worker", "cron"):
            # Quiet RQ's line per job (a reconcile every 5 s would bury the console SMS and the errors).
            argv = [sys.executable, "-m", "dispatch", command, "--log-level", "WARNING"]
            children.append(embedded.spawn(argv, env=env))
        url = f"http://{host}:{port}"
        typer.secho(f"\nHouse-call dispatch is up at {url}  (API docs: {url}/docs)", fg=typer.colors.GREEN)
        typer.echo(f"  console:  {url}/login  (Japanese; English at the top right)")
        typer.echo(f"  database: {settings.database_url}\n  redis:    {settings.redis_url}")
        if logins:
            typer.echo("  demo logins (username / password):")
            for login in logins:
                typer.echo(f"    {login.role.value:<22} {login.username} / {login.password}")
        typer.echo("  Ctrl-C stops everything.\n")
        app = create_app(settings)
        freeze_startup_objects()
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            log_config=uvicorn_log_config(settings),
            **proxy_options(settings),
        )
        server = _quiet_server_class()(config)
        server.run()
    finally:
        for child in children:
            embedded.stop(child)
        if redis_server is not None:
            redis_server.stop()
        typer.echo("stopped: API, worker, cron scheduler" + (" and Redis" if redis_server else ""))


def _quiet_server_class():
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn re-raises Ctrl-C after shutting down; under `up` we stop the children instead."""

        @contextlib.contextmanager
        def capture_signals(self):
            def request_exit(signum, _frame):
                self.force_exit = self.should_exit
                self.should_exit = True

            previous = {sig: signal.signal(sig, request_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return QuietServer


def main() -> None:
    app()
