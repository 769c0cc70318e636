# asm-mock: `make run` serves the mock, `make test` runs every check. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: install bytecode run test lint typecheck unit fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "asm-mock needs Python >= 3.11" or 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Bytecode for the editable install (pip compiles a wheel's at install; an editable checkout is
# compiled on first import, unless PYTHONDONTWRITEBYTECODE is set): ~0.15 s of every start.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q asm_mock

run: bytecode
	$(BIN)/asm-mock serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check asm_mock tests fuzz bench
	$(BIN)/ruff format --check asm_mock tests fuzz bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

FUZZ_EXAMPLES ?= 30

# schemathesis CLI against a live server: every check, every phase; `make fuzz FUZZ_EXAMPLES=500` soaks
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py --examples $(FUZZ_EXAMPLES)
	$(BIN)/python fuzz/run.py --examples $(FUZZ_EXAMPLES) --store redis

test: lint typecheck unit fuzz

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info

.PHONY: bench
BENCH_SECONDS ?= 5
BENCH_ROUNDS ?= 5
bench: bytecode
	$(BIN)/python bench/run.py --seconds $(BENCH_SECONDS) --rounds $(BENCH_ROUNDS)
