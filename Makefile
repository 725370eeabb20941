# socialcrm: `make run` starts a demo server, `make test` runs the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_HOST := 127.0.0.1
PG_PORT := 5432

export SCRM_DATABASE_URL ?= sqlite+aiosqlite:///./scrm.db
export TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@$(PG_HOST):$(PG_PORT)/test

.PHONY: run test lint schema postgres install help

help:
	@echo "make run     migrate, load the demo workspace, serve on http://127.0.0.1:8000/graphql"
	@echo "make test    lint (ruff, mypy) and the whole test suite on PostgreSQL"
	@echo "make lint    ruff check, ruff format --check, mypy"
	@echo "make schema  write schema.graphql from the GraphQL schema"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies or metadata change. The example plugin
# (examples/scrm-line) is installed too: the suite runs its tests as a partner would.
$(STAMP): pyproject.toml examples/scrm-line/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-build-isolation -e examples/scrm-line
	mkdir -p $(VENV)/src && ln -sfn ../.. $(VENV)/src/socialcrm
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/scrm migrate
	$(BIN)/scrm demo
	SCRM_GRAPHIQL=true SCRM_INTROSPECTION=on SCRM_METRICS=on $(BIN)/scrm serve --admin-token-for demo

# The suite needs PostgreSQL; start the local cluster when nothing answers.
postgres:
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT); then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n 1) main start; \
		for i in $$(seq 1 30); do \
			pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; \
			sleep 1; \
		done; \
		pg_isready -h $(PG_HOST) -p $(PG_PORT) || { echo "PostgreSQL did not start"; exit 1; }; \
	fi

test: $(STAMP) postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/scrm export-schema --output schema.graphql
