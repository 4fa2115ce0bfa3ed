"""The one table of jobs: every job `dispatch` names is a function of `workers.jobs`, and every job function
there is named in `dispatch/jobs.py`, the only place a job's dotted name is written."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import workers.jobs
from dispatch import jobs
from dispatch.queue import JOBS_MODULE

ROOT = Path(__file__).resolve().parents[1]


def _named() -> dict[str, str]:
    """The table's job names, by constant."""
    prefix = JOBS_MODULE + "."
    return {
        key: value for key, value in vars(jobs).items() if isinstance(value, str) and value.startswith(prefix)
    }


def test_every_named_job_is_a_function_of_workers_jobs() -> None:
    assert workers.jobs.__name__ == JOBS_MODULE
    for key, name in _named().items():
        function = getattr(workers.jobs, name.removeprefix(JOBS_MODULE + "."), None)
        assert inspect.isfunction(function), f"jobs.{key} = {name!r} names no function of workers.jobs"


def test_every_job_function_is_named() -> None:
    defined = {
        f"{JOBS_MODULE}.{name}"
        for name, function in inspect.getmembers(workers.jobs, inspect.isfunction)
        if function.__module__ == workers.jobs.__name__ and not name.startswith("_")
    }
    assert defined == set(_named().values())


def test_the_schedule_runs_named_jobs_once_each() -> None:
    scheduled = [periodic.job for periodic in jobs.PERIODIC]
    assert set(scheduled) <= set(_named().values())
    assert len(scheduled) == len(set(scheduled))
    assert len({periodic.name for periodic in jobs.PERIODIC}) == len(jobs.PERIODIC)


def test_no_job_name_is_written_anywhere_else() -> None:
    """A dotted job name as a string literal outside `dispatch/jobs.py` would be a second table."""
    written = []
    for package in ("dispatch", "workers", "simulations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "dispatch" / "jobs.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                value = node.value if isinstance(node, ast.Constant) else None
                if isinstance(value, str) and value.startswith(JOBS_MODULE + ".") and value.count(".") == 2:
                    written.append(f"{path.relative_to(ROOT)}:{node.lineno} {value}")
    assert written == []
