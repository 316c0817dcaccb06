# Two commands for a newcomer: `make serve` and `make test`. Both set everything up first.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-all install lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

# torch first, pinned, so the CPU build on local disk is used and no CUDA build is ever pulled.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0"
	# The pin again: pip backtracks over s3fs/fsspec releases and would otherwise reach torch 2.14 (CUDA).
	$(BIN)/pip install -q -e ".[test]" "torch==2.13.0"
	# Chromium for the studio's browser tests (they skip, saying why, where apt is unavailable).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || true
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/zoetrope serve

# Two test processes: most tests wait on live servers and subprocesses, so two overlap well even on
# two cores. Tests sharing a started server or built weights stay on one process (tests/conftest.py).
TEST_PROCESSES ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadgroup

test: install
	$(PYTEST)

# `make test` already runs the multi-process deployment and fault tests (tests/scale/) and a quick
# schemathesis pass; test-all fuzzes every API operation with 50 generated requests instead of 6.
test-all: install
	ZOETROPE_FUZZ_EXAMPLES=50 $(PYTEST)

lint: install
	$(BIN)/ruff check zoetrope tests bench

bench: install
	$(BIN)/python bench/world.py

clean:
	rm -rf $(VENV) .pytest_cache
