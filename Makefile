# Two commands for a new user (see README): `make run` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= $(CURDIR)/demo-home
# The train extra pins torch==2.13.0, a CPU wheel this project's machines keep on local disk (~25 s to install),
# so the test suite really trains a tiny detector. The cluster extra (Ray) lets the suite run the Ray engine's
# tests on a real local Ray instance. Elsewhere: `make test EXTRAS=test` (the training and Ray tests skip).
EXTRAS ?= test,train,cluster

.PHONY: setup run demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	echo '$(EXTRAS)' > $(STAMP)

setup: $(STAMP)

# Set up, create the demo workspace (benign demo media scanned, SQLite + local vault), then start the web app
# on http://127.0.0.1:8000 with its job worker; the first run prints the one-time administrator login.
run: setup
	$(BIN)/idolguard demo --home $(HOME_DIR)
	$(BIN)/idolguard serve --home $(HOME_DIR) --host 127.0.0.1 --port 8000

# The non-interactive demo: workspace, demo media scanned, HTML report written; no server.
demo: setup
	$(BIN)/idolguard demo --home $(HOME_DIR)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Set up and run everything CI runs: lint and the whole test suite (PostgreSQL too when IDOLGUARD_TEST_PG is
# set), which includes the import-layer contract (lint-imports) and strict mypy on the typed areas
# (tests/pipeline/test_layers_and_types.py).
test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

# The local loop: everything except tests marked `slow` (end-to-end video, training, browser captures).
test-fast: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q -x -m "not slow"

clean:
	rm -rf $(VENV) $(HOME_DIR) .pytest_cache
