# The front door. `make run` and `make test` install whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .cache/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

MEMBERS := $(wildcard shared/pyproject.toml libs/*/pyproject.toml tools/pyproject.toml services/*/pyproject.toml deploy/local/ksef-sim/pyproject.toml)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@echo "== installing uv into $(TOOLS)"
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: $(UV) pyproject.toml uv.lock $(MEMBERS)
	@echo "== python environment ($(VENV))"
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.synced ## install the Python environment, Kafka jars and maildev
	$(PY) deploy/local/stack.py install

run: install ## start the stack and all services, publish a demo batch; Ctrl-C stops it all
	$(PY) deploy/local/launcher.py run

up: install ## start the stack and all services in the background
	$(PY) deploy/local/launcher.py up

stop: ## stop the services and the stack that `make run`/`make up` started (by PID)
	@if [ -x $(PY) ]; then $(PY) deploy/local/launcher.py down; fi

status: ## state of every part and service
	$(PY) deploy/local/launcher.py status

test: install ## unit, integration and end-to-end tests (starts what they need)
	bash deploy/local/ensure-chromium.sh
	$(PY) -m pytest tests

test-unit: $(VENV)/.synced ## unit tests only (no stack needed)
	$(PY) -m pytest tests/unit

N ?= 10000
bench: install ## benchmark the pipeline on the local stack: N=10000 invoices (N=100000: full run)
	$(UV) sync --frozen --group bench
	$(PY) bench/run.py --invoices $(N) $(BENCH_ARGS)

chaos: install ## inject faults (kills, Kafka restart, S3/MongoDB/SMTP down) into a 2,000-invoice run, then count
	$(PY) tests/chaos/run.py --invoices 2000 $(CHAOS_ARGS)

LINTED := shared libs tools services deploy tests bench

lint: $(VENV)/.synced ## ruff lint and format check
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

typecheck: $(VENV)/.synced ## mypy over the workspace's packages (settings in pyproject.toml)
	$(VENV)/bin/mypy

check: lint typecheck ## what CI checks before the tests: ruff, the format check, mypy

hooks: $(VENV)/.synced ## install the git pre-commit hook (runs `make check`'s tools on commit)
	$(VENV)/bin/pre-commit install

docs: $(VENV)/.synced ## regenerate docs/events.md from the event schemas
	$(VENV)/bin/einvoice schemas --output docs/events.md

logs: ## follow every log of the local stack and services
	tail -F .run/logs/*.log

reset: stop ## stop everything and delete local data (topics, buckets, databases, mail)
	$(PY) deploy/local/stack.py reset

.PHONY: help install run up stop status test test-unit bench chaos lint typecheck check hooks docs logs reset
