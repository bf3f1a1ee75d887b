# voicebridge: `make run` starts the service, `make test` checks it, `make bench` measures it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "voicebridge needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

run: install
	@if [ -z "$$VOICEBRIDGE_REDIS_URL" ]; then $(BIN)/python scripts/ensure_services.py --redis-only; fi
	$(BIN)/voicebridge run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	$(BIN)/python scripts/ensure_services.py
	$(BIN)/pytest

bench: install
	$(BIN)/python scripts/ensure_services.py --redis-only --wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
