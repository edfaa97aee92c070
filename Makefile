# One command to set up and run the nightly pipeline, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Prefect's state (its SQLite database, logs) stays inside the project, not in ~/.prefect.
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: run test setup clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# The browser tests (tests/test_links.py) drive Debian's Chromium: installed when missing (sudo unless root).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

setup: $(STAMP) $(CHROMIUM)

run: $(STAMP)
	$(BIN)/ercan run

# Two workers, one test file each at a time (module fixtures are built once): most end-to-end tests
# wait on subprocesses and servers, so two of them share the 2 cores well.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The benchmark (benchmarks/README.md): ROWS synthetic rows through every stage, against DuckDB.
ROWS ?= 1000000
TIME_V := $(shell test -x /usr/bin/time && echo /usr/bin/time -v)
bench: $(STAMP)
	$(TIME_V) $(BIN)/python benchmarks/run.py --rows $(ROWS) --flow

clean:
	rm -rf $(VENV) ercan-data .prefect .pytest_cache
