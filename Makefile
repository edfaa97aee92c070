# One command to set up and run the nightly pipeline, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Prefect's state (its SQLite database, logs) stays inside the project, not in ~/.prefect.
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: run test setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/ercan run

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) ercan-data .prefect .pytest_cache
