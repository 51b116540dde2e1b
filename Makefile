# dnsbatch: every target does its own set-up. The only prerequisite is a Python >= 3.11 on PATH
# (`sam build` also needs python3.13; see README "Deploying").
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
# The emulator's defaults for `make emulator`; override on the command line: make emulator PORT=9000 ZONES=...
PORT ?= 8787
ZONES ?= example.com=free
# `make run` options: EVENTS (a file of change events, or a zone file: *.zone, *.db), ZONE_FILE (a zone file
# of any name, e.g. a Cloudflare export, imported as upserts), REPORT (write the JSON report there), ARGS.
EVENTS ?=
ZONE_FILE ?=
REPORT ?=
ARGS ?=
# `make run-volume` options: VOLUME is MESSAGES[xWINDOWS[xCHANGES]] of the generated stream.
VOLUME ?= 3000
FUNCTION ?= aggregator
EVENT ?= events/ingest-single.json
PYTEST_ARGS ?=
# `make chaos` options: SEED (replay a run; default a random seed, printed), CHAOS_ARGS (more flags).
SEED ?=
CHAOS_ARGS ?=
# Branch-coverage gates of `make test`, in percent: what the suite reaches today (README "The two commands").
COV_LIBRARY ?= 95
COV_HANDLERS ?= 100

.PHONY: help venv lint format test test-fast emulator run run-volume invoke chaos bench validate build lock clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "dnsbatch needs Python >= 3.11 as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.installed ## create .venv with the pinned development dependencies

lint: venv ## ruff (lint + format check) and mypy --strict on the library, handlers and dev stack
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint validate ## the whole gate: lint, type check, sam validate --lint, every test suite, branch coverage
	rm -f .coverage .coverage.*
	$(PY) -m pytest -n 2 --dist loadgroup --cov --cov-report= $(PYTEST_ARGS)
	@echo "branch coverage: library (gate $(COV_LIBRARY)%)"
	$(VENV)/bin/coverage report --include='layers/dnsbatch/dnsbatch/*' --fail-under=$(COV_LIBRARY)
	@echo "branch coverage: handlers (gate $(COV_HANDLERS)%)"
	$(VENV)/bin/coverage report --include='functions/*' --fail-under=$(COV_HANDLERS)

test-fast: venv ## the tests without the slow marker, no lint
	$(PY) -m pytest -n 2 --dist loadgroup -m 'not slow' $(PYTEST_ARGS)

emulator: venv ## run the Cloudflare emulator alone: make emulator PORT=8787 ZONES="example.com=free shop.example=pro"
	$(PY) -m devstack.emulator --port $(PORT) $(foreach z,$(ZONES),--zone $(z))

run: venv ## the main job on the embedded default: local AWS + Cloudflare emulator, sample events, report
	$(PY) -m devstack.stack run $(if $(EVENTS),--events $(EVENTS)) $(if $(ZONE_FILE),--events $(ZONE_FILE) --zone-file) $(if $(REPORT),--report $(REPORT)) $(ARGS)

run-volume: venv ## make run on a generated stream on a paid-plan zone: make run-volume VOLUME=3000 (2500x4, 250x4x10)
	$(PY) -m devstack.stack run --generate $(VOLUME) --zone example.com=pro --context-time-scale 1 $(if $(REPORT),--report $(REPORT)) $(ARGS)

invoke: venv ## run one handler against the local stack: make invoke FUNCTION=aggregator EVENT=events/ingest-single.json
	$(PY) -m devstack.stack invoke --function $(FUNCTION) --event $(EVENT) $(ARGS)

chaos: venv ## chaos suite: 10,000 seeded events, every fault, killed functions, oracle check (SEED=n replays a run)
	$(PY) -m devstack.stack chaos $(if $(SEED),--seed $(SEED)) $(CHAOS_ARGS)

bench: venv ## benchmarks (figures printed, not asserted)
	$(PY) -m bench

$(SAM_VENV)/.installed: requirements-sam.lock
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.lock
	touch $@

validate: $(SAM_VENV)/.installed ## sam validate --lint (offline, no credentials)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1

build: $(SAM_VENV)/.installed ## sam build (needs python3.13 on PATH; on pyenv: PYENV_VERSION=3.11.7:3.12.1:3.13.0)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

lock: ## re-pin requirements-dev.lock and requirements-sam.lock (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --python-platform linux -o requirements-dev.lock
	uv pip compile requirements-sam.in --python-version 3.11 -o requirements-sam.lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .venv-layer .venv-layer.lock .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov
