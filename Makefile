# The few verbs people type. `make run` and `make test` each install what they need first.
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint typecheck bench bench-model bench-e2e bench-integrations bench-shadow bench-learning services mutation clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet

run: install
	$(VENV)/bin/moderation up

services:
	bash scripts/ensure-services.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy service workers classifiers

test: install services lint typecheck
	$(VENV)/bin/pytest

bench: bench-model bench-e2e bench-integrations bench-shadow bench-learning

bench-model: install
	$(VENV)/bin/python scripts/bench_model.py

bench-e2e: install services
	$(VENV)/bin/python -m bench

bench-integrations: install services
	$(VENV)/bin/python -m bench.integrations

# One worker's drain rate with no shadow model and with one (issue 16: a shadow scores twice).
bench-shadow: install services
	$(VENV)/bin/python -m bench.shadow

# Issue 16's learning loop: store 10,000 moderators' decisions, train --from-decisions on the
# shared data plus them (and on the shared data alone, for the ratio), gate + promote, and the
# worker's switch time; ~10 min with the shared data. `--quick` is a one-minute smoke run.
LEARNING_ARGS ?=
bench-learning: install services
	$(VENV)/bin/python -m bench.learning_loop $(LEARNING_ARGS)

# Mutation testing of the store, policy and word-list, scoring, review, authorisation, GDPR
# erasure and webhook modules ([tool.mutmut] in pyproject.toml); hours, so not part of
# `make test`. One module: `make mutation MUTANTS='service.policy*'`. Survivors:
# `.venv/bin/mutmut show NAME`.
MUTANTS ?=
mutation: install services
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(VENV)/bin/mutmut export-cicd-stats
	$(VENV)/bin/python scripts/mutation_report.py

clean:
	rm -rf $(VENV) $(TOOLS) var mutants
