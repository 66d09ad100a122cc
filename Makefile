# The two commands of the README: `make demo` and `make test`.
# Each works alone on a fresh machine: it creates .venv and installs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= out/demo
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test lint typecheck unit bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ccorpus constitution stats constitution/sample.md
	$(BIN)/ccorpus constitution show constitution/sample.md --depth 2
	$(BIN)/ccorpus constitution export constitution/sample.md --out $(DEMO_OUT)/principles --overwrite
	$(BIN)/ccorpus corpus stats $(DEMO_OUT)/principles
	@echo "demo corpus written to $(DEMO_OUT)/principles"

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests bench
	$(BIN)/ruff format --check toolkit tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out .mypy_cache .pytest_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/python -m toolkit.cli.reference --write README.md
