# The README's commands. Everything installs into .venv; nothing is needed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit demo bench bench-quick faults plugins clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	bash scripts/ensure-postgres.sh
	$(BIN)/pytest

# Everything but the Meltano pipelines and journeys (the own-project one included), which need a PostgreSQL server (and root to
# install one): for a machine where `make test` cannot start PostgreSQL.
unit: lint typecheck
	$(BIN)/pytest --ignore=tests/e2e --ignore=tests/journeys --ignore=tests/install/test_own_project.py

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# `make bench QUICK=1` (or `make bench-quick`): the quick mode, under two minutes.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

# The fault table of docs/faults.md: each fault alone and all together.
faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults $(if $(QUICK),--quick)

# The Meltano plugin definitions in plugins/, generated from the settings schemas; rerun after
# adding or changing a setting (a test fails until the committed files match).
plugins: $(STAMP)
	$(BIN)/python scripts/plugin_definitions.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
