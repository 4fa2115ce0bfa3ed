"""The service as a deployment runs it, for the production smoke: the runtime-only install (`make runtime`),
each part a process of its own as docker-compose starts them, production settings, the fake Twilio as a
process of its own that signs for the public https URL; their output captured to files."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dispatch import embedded

REPO = Path(__file__).resolve().parent.parent
PUBLIC_URL = "https://dispatch.example.test"  # as if behind a TLS proxy: Twilio signs for this URL
TWILIO_NUMBER = "+815012345678"
T = TypeVar("T")


def skip_or_fail(reason: str) -> None:
    """Skip the test with `reason`, or fail it under CI (`CI` set), where nothing may be skipped quietly."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def runtime_venv() -> Path:
    """The runtime-only virtualenv `make runtime` builds (RUNTIME_VENV, default .venv-runtime)."""
    return Path(os.environ.get("RUNTIME_VENV") or REPO / ".venv-runtime")


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, every_s: float = 0.05) -> T:
    """The first truthy value of `probe()`, polled until `timeout_s`; fails the test naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(every_s)


def database_named(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    """Drop the PostgreSQL database named in `url` (with any connection to it) and create it empty."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL as libpq (pg_dump, pg_restore) takes it, the password in PGPASSWORD, not argv."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


@dataclass
class Exit:
    """How a process ended after SIGTERM: its exit code (None: still running at the bound) and when."""

    returncode: int | None
    seconds: float


@dataclass
class ProductionStack:
    """The runtime install's processes on one database and Redis, their output in `logs`."""

    database_url: str
    redis_url: str
    logs: Path
    api_port: int = field(default_factory=embedded.free_port)
    fake_port: int = field(default_factory=embedded.free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.venv = runtime_venv()
        self.workdir = self.logs / "cwd"  # outside the checkout: the installed package is what runs
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sid = "AC" + secrets.token_hex(16)
        self.token = secrets.token_hex(16)
        self.env = {
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "ENVIRONMENT": "production",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": self.sid,
            "TWILIO_AUTH_TOKEN": self.token,
            "TWILIO_FROM_NUMBER": TWILIO_NUMBER,
            "TWILIO_API_BASE_URL": self.fake_url,
            "PUBLIC_BASE_URL": PUBLIC_URL,
            # Reports are made for the day that ended at midnight, so the morning handoff of a call logged
            # for last night can be made now, whatever the hour the suite runs at (see the smoke test).
            "HANDOFF_TIME": "00:00",
            # Cron starts before the API answers, so from 15:00 in Tokyo the coverage-gap alert it sends at
            # once loses its delivery reports; the reconciler asks Twilio after 2 s here, not two minutes.
            "SMS_STATUS_CHECK_AFTER_S": "2",
            # JSON log lines, once the service has them (settings ignore a name they do not know).
            "LOG_FORMAT": "json",
            # One metrics directory for every process, as the compose file's shared volume.
            "METRICS_DIR": str(self.workdir / "metrics"),
        }

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def fake_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    def _files(self, name: str) -> tuple[Any, Any]:
        return (self.logs / f"{name}.stdout.log").open("ab"), (self.logs / f"{name}.stderr.log").open("ab")

    def run(self, name: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        """Run `dispatch ARGS` to completion (60 s at most) from the runtime install; its standard output."""
        out, err = self._files(name)
        with out, err:
            result = subprocess.run(
                [str(self.venv / "bin" / "dispatch"), *args],
                cwd=self.workdir,
                env={**self.env, **(env or {})},
                input=(stdin or "").encode(),
                stdout=subprocess.PIPE,
                stderr=err,
                timeout=60,
                check=False,
            )
            out.write(result.stdout)
        assert result.returncode == 0, (
            f"dispatch {' '.join(args)} exited {result.returncode}: {self.tail(name)}"
        )
        return result.stdout.decode()

    def start(self, name: str, *args: str) -> None:
        """Start `dispatch ARGS` from the runtime install, as a container's command would."""
        out, err = self._files(name)
        with out, err:
            self.processes[name] = embedded.spawn(
                [str(self.venv / "bin" / "dispatch"), *args],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=err,
            )

    def start_fake_twilio(self) -> None:
        """The fake Twilio from the development install, signing for PUBLIC_URL, posting to the local port."""
        out, err = self._files("fake-twilio")
        env = {**os.environ, "TWILIO_ACCOUNT_SID": self.sid, "TWILIO_AUTH_TOKEN": self.token}
        argv = [sys.executable, "-m", "simulations", "fake-twilio", "--port", str(self.fake_port)]
        argv += ["--public-url", PUBLIC_URL, "--deliver-to", self.api_url, "--number", TWILIO_NUMBER]
        with out, err:
            self.processes["fake-twilio"] = embedded.spawn(argv, env=env, cwd=REPO, stdout=out, stderr=err)

    def tail(self, name: str, lines: int = 15) -> str:
        """The last lines a process wrote, for a failure's message."""
        found = []
        for stream in ("stdout", "stderr"):
            path = self.logs / f"{name}.{stream}.log"
            if path.exists():
                found += path.read_text("utf-8", "replace").splitlines()[-lines:]
        return "\n".join(found)

    def wait_until_up(self, timeout_s: float = 30) -> None:
        """The fake Twilio answers and /healthz says healthy (the reconciler has swept)."""

        def answers(url: str) -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited {process.returncode}: {self.tail(name)}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the fake Twilio", lambda: answers(self.fake_url + "/_fake/messages"), timeout_s)
        wait_for("a healthy /healthz", lambda: answers(self.api_url + "/healthz"), timeout_s, 0.2)

    def terminate(self, names: list[str], bound_s: float) -> dict[str, Exit]:
        """SIGTERM these processes at once (as `docker compose stop` does) and wait up to `bound_s` for each."""
        started = time.monotonic()
        for name in names:
            self.processes[name].send_signal(signal.SIGTERM)
        exits = {}
        for name in names:
            try:
                code: int | None = self.processes[name].wait(max(0.1, started + bound_s - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            exits[name] = Exit(code, round(time.monotonic() - started, 2))
        return exits

    def leftovers(self, grace_s: float = 5) -> list[str]:
        """Processes still alive in a started process's group (uvicorn's workers, multiprocessing's resource
        tracker, RQ's scheduler) `grace_s` after the stop, each as `name: command line`."""
        groups = {process.pid: name for name, process in self.processes.items()}  # each its own group

        def alive() -> list[str]:
            found = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError):
                    fields = stat.read_text().rpartition(")")[2].split()
                    if fields[0] != "Z" and int(fields[2]) in groups:
                        argv = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                        found.append(f"{groups[int(fields[2])]}: {argv.strip()}")
            return found

        deadline = time.monotonic() + grace_s
        while (found := alive()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def kill_all(self) -> None:
        """Whatever is still running, and its children: after a failure."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def log_files(self) -> list[Path]:
        return sorted(self.logs.glob("*.log"))


class Api:
    """The HTTP API as people use it: each logs in with their own password and their authenticator app's code
    (production requires a second factor: each enrols at their first login), and acts with their token."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=15)
        self.apps: dict[str, pyotp.TOTP] = {}  # each person's authenticator app, from the enrolment's QR code
        self.recovery_codes: dict[str, list[str]] = {}
        self.had_to_enrol: dict[str, bool] = {}
        self._logins: dict[str, dict[str, str]] = {}
        self._last_step: dict[str, int] = {}

    def login(
        self, username: str, password: str, *, again: bool = False, recovery: bool = False
    ) -> dict[str, str]:
        """The person's login (the one they have, unless `again`): the password, then the app's code or (with
        `recovery`) a recovery code; at the first login, which may only enrol, the enrolment."""
        if username in self._logins and not again:
            return self._logins[username]
        response = self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        if response.status_code == 202:
            proof = (
                {"recovery_code": self.recovery_codes[username].pop()}
                if recovery
                else {"code": self.code(username)}
            )
            body = {"challenge": response.json()["challenge"], **proof}
            response = self.http.post("/api/v1/auth/login/verify", json=body)
        assert response.status_code == 200, response.text
        self.http.cookies.clear()  # the cookie is Secure (production): the bearer token is what proves us
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self.had_to_enrol.setdefault(username, response.json()["enrolment_required"])
        if response.json()["enrolment_required"]:
            started = self(headers, "POST", "/api/v1/auth/totp/enrol")
            self.apps[username] = pyotp.parse_uri(started["otpauth_uri"])
            confirmed = self(headers, "POST", "/api/v1/auth/totp/confirm", json={"code": self.code(username)})
            self.recovery_codes[username] = confirmed["recovery_codes"]
        self._logins[username] = headers
        return headers

    def code(self, username: str) -> str:
        """The app's code now, or for the next time step when now's was used (an app a little ahead: the
        service takes one step either side, and never one code twice)."""
        step = max(int(time.time()) // 30, self._last_step.get(username, 0) + 1)
        self._last_step[username] = step
        return self.apps[username].generate_otp(step)

    def two_factor_secrets(self) -> list[str]:
        """Every secret and unspent recovery code handed out: none may reach a log."""
        return [app.secret for app in self.apps.values()] + [
            c for codes in self.recovery_codes.values() for c in codes
        ]

    def __call__(self, who: dict[str, str], method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers={**who, **kwargs.pop("headers", {})}, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


def leaks(paths: list[Path], secrets_: list[str]) -> list[str]:
    """`file: secret` for every secret (patient data) found in a file, and `file: Traceback`."""
    found = []
    for path in paths:
        content = path.read_text("utf-8", "replace")
        found += [f"{path.name}: {s!r}" for s in secrets_ if s in content]
        if "Traceback" in content:
            found.append(f"{path.name}: Traceback")
    return found


def json_log_problems(path: Path) -> list[str]:
    """Each non-empty line of a log that is not one JSON object with a `request_id` key, with its number.
    (An access line, `uvicorn.access`, and a line written while a job ran must also carry a request id.)"""
    problems = []
    for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"{path.name}:{number}: not JSON: {line[:120]}")
            continue
        if not isinstance(entry, dict) or "request_id" not in entry:
            problems.append(f"{path.name}:{number}: no request_id: {line[:120]}")
        elif (entry.get("logger") == "uvicorn.access" or "job_id" in entry) and not entry["request_id"]:
            problems.append(f"{path.name}:{number}: an access or job line without a request id: {line[:120]}")
    return problems


def installed_setting(venv: Path, name: str, cwd: Path) -> bool:
    """Whether the installed service's settings know `name` (e.g. log_format: JSON logs have landed)."""
    probe = (
        f"from config.settings import Settings; raise SystemExit(0 if {name!r} in Settings.model_fields else 1)"
    )
    return subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=cwd, timeout=30).returncode == 0
