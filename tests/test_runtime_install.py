"""The production install (`make runtime`): exactly the lock's runtime set and the service, nothing a test, a
simulation or the demo needs, and it imports the service without them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.production import REPO, runtime_venv, skip_or_fail

# Packages only the dev, demo or simulations extras bring: none may reach production.
NOT_FOR_PRODUCTION = {"pytest", "httpx", "simpy", "matplotlib", "schemathesis", "playwright", "ruff", "mypy"}


def _locked(lock: Path) -> set[str]:
    return {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9._-]+)==", lock.read_text(), re.M)}


def _installed(venv: Path) -> set[str]:
    listing = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("==")[0].lower().replace("_", "-") for line in listing.splitlines() if "==" in line}


def test_the_runtime_install_is_the_locked_runtime_set_and_the_service():
    venv = runtime_venv()
    if not (venv / "bin" / "dispatch").exists():
        skip_or_fail(f"no runtime install at {venv}: run `make runtime`")
    installed = _installed(venv) - {"pip", "setuptools", "wheel"}
    locked = _locked(REPO / "requirements" / "runtime.txt")
    assert installed - locked == {"house-call-dispatch"}, "installed beyond the lock"
    assert not installed & NOT_FOR_PRODUCTION
    # What is locked and not installed is only what the lock's markers keep for other platforms.
    assert {"fastapi", "sqlalchemy", "rq", "twilio", "uvicorn", "scipy", "numpy"} <= installed
    probe = "import dispatch.app, workers.jobs, sys; assert not {'httpx', 'simpy', 'pytest'} & set(sys.modules)"
    assert subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd="/", check=False).returncode == 0
