"""Fixtures on real services: PostgreSQL when TEST_DATABASE_URL is set (SQLite otherwise), real Redis."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config.settings import Environment, Settings
from dispatch import embedded, schema
from dispatch.app import create_app
from dispatch.clock import ManualClock
from dispatch.db import unit_of_work
from dispatch.models import Base
from dispatch.seed.demo import DemoLogin, seed_demo, seed_demo_areas
from dispatch.seed.reference import load_programme_data
from dispatch.services import Services


def _own_services_per_xdist_worker() -> None:
    """Under pytest-xdist each worker gets its own database (`<name>_gw1`) and Redis index: the second worker
    the base index - 8 (15 → 7), so that checkouts side by side on bases 9..15 never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    if index > 1:
        raise RuntimeError("the suite gives its own Redis index to two xdist workers at most (make test: -n 2)")
    os.environ["TEST_REDIS_DB"] = str(int(os.environ.get("TEST_REDIS_DB", "15")) - 8 * index)
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return
    own = make_url(url).set(database=f"{make_url(url).database}_{worker}")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


_own_services_per_xdist_worker()

TOKYO = ZoneInfo("Asia/Tokyo")
# A Wednesday night in January, well inside the service hours.
NIGHT = datetime(2025, 1, 15, 23, 0, tzinfo=TOKYO)
# Own database index; TEST_REDIS_DB lets two checkouts run their suites side by side.
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def _redis_url() -> tuple[str, embedded.EmbeddedRedis | None]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parsed = make_url(url.replace("redis://", "postgresql://", 1))  # reuse the URL parser
    base = f"redis://{parsed.host or '127.0.0.1'}:{parsed.port or 6379}/{TEST_REDIS_DB}"
    try:
        Redis.from_url(base, socket_connect_timeout=1).ping()
        return base, None
    except RedisError:
        server = embedded.start_redis()
        return server.url.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}", server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url, server = _redis_url()
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database for the whole run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        schema.upgrade(url)
        yield url
        return
    template = tmp_path_factory.mktemp("db") / "template.sqlite3"
    schema.upgrade(f"sqlite:///{template}")
    yield f"sqlite:///{template}"


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    url = database_url
    if url.startswith("sqlite"):
        # Each test gets a copy of the migrated template: fast, and isolation is total.
        copy = tmp_path / "test.sqlite3"
        shutil.copyfile(make_url(url).database, copy)
        url = f"sqlite:///{copy}"
    return Settings(
        _env_file=None,
        environment=Environment.test,
        database_url=url,
        redis_url=redis_url,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        public_base_url="http://testserver",
    )


# Every table emptied and every id counter back at 1. DELETE, not TRUNCATE: a test leaves a few rows, which
# DELETE clears in milliseconds, while TRUNCATE of every table makes new files for each (~0.2 s a test). With
# the session as a replica, the append-only and report-cache triggers and the foreign keys stand aside.
_EMPTY_ALL = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables))
_RESTART_IDS = (
    "SELECT setval(s.oid, 1, false) FROM pg_class AS s "
    "WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace"
)


def _truncate_all(services: Services) -> None:
    if services.engine.dialect.name != "postgresql":
        return
    with services.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.exec_driver_sql(_EMPTY_ALL)
        conn.execute(text(_RESTART_IDS))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NIGHT)


@pytest.fixture
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    """Fresh wiring on an empty database and a flushed Redis database."""
    svc = Services.build(settings, clock=clock)
    _truncate_all(svc)
    svc.redis.flushdb()
    yield svc
    svc.redis.flushdb()
    svc.close()


@pytest.fixture
def demo_logins(services: Services) -> list[DemoLogin]:
    """The reference programme plus the demo roster, patients and users."""
    with unit_of_work(services.session_factory) as session:
        return seed_demo(session, load_programme_data("inba"), services.clock, services.passwords)


@pytest.fixture
def demo_areas(services: Services) -> list[DemoLogin]:
    """As `demo_logins`, with the demo's second area (香取海匝) beside 印旛, as `dispatch seed demo` loads."""
    with unit_of_work(services.session_factory) as session:
        return seed_demo_areas(session, load_programme_data("inba"), services.clock, services.passwords)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


@pytest.fixture
def login(client: TestClient, demo_logins: list[DemoLogin]):
    """login('operator') -> headers with that demo user's bearer token."""
    passwords = {d.username: d.password for d in demo_logins}

    def _login(username: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": passwords[username]}
        )
        assert response.status_code == 200, response.text
        client.cookies.clear()  # each caller proves itself by its header alone
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dispatch-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def worker_env(settings: Settings, monkeypatch) -> Iterator[None]:
    """Point a worker in this process (RQ SimpleWorker) at the test database and Redis."""
    import workers.context

    for name in ("database_url", "redis_url", "argon2_memory_kib", "argon2_time_cost", "environment"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    workers.context.reset()
    yield
    workers.context.reset()


class LiveServer:
    """The app under a real uvicorn in a thread, for what the test client cannot do (endless streams)."""

    def __init__(self, app, port: int | None = None, graceful_s: int | None = None) -> None:
        import threading

        import uvicorn

        from dispatch.header_limit import MAX_HEAD_BYTES, http_protocol

        self.port = port or embedded.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # graceful_s: how long a stop waits for open streams (None: for ever, as uvicorn does by default).
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=graceful_s,
            http=http_protocol(),  # as `dispatch serve` runs
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(client: TestClient) -> Iterator[LiveServer]:
    """The same app as `client`, also served over a real socket."""
    with LiveServer(client.app) as server:
        yield server


@pytest.fixture
def scratch_database_url(tmp_path):
    """An empty database of the same kind as the suite's."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
