# The two commands of the README: `make demo` and `make test`.
# Each works alone on a fresh machine: it creates .venv and installs first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= out/demo
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser demo test lint typecheck unit bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium (Playwright never downloads one).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

browser: $(CHROMIUM)

CONSTITUTION ?= constitution/sample.md
CC := $(BIN)/ccorpus

demo: $(STAMP)
	$(CC) constitution stats $(CONSTITUTION)
	$(CC) constitution export $(CONSTITUTION) --out $(DEMO_OUT)/principles --overwrite
	$(CC) generate plan explainers --constitution $(CONSTITUTION) --per-principle 2 --seed 1 --out $(DEMO_OUT)/plans/explainers.jsonl
	$(CC) generate plan stories --constitution $(CONSTITUTION) --per-principle 2 --seed 1 --out $(DEMO_OUT)/plans/stories.jsonl
	$(CC) generate plan advice --constitution $(CONSTITUTION) --per-principle 1 --seed 1 --out $(DEMO_OUT)/plans/advice.jsonl
	$(CC) generate run $(DEMO_OUT)/plans/explainers.jsonl --out $(DEMO_OUT)/runs/explainers --backend offline
	$(CC) generate run $(DEMO_OUT)/plans/stories.jsonl --out $(DEMO_OUT)/runs/stories --backend offline
	$(CC) generate run $(DEMO_OUT)/plans/advice.jsonl --out $(DEMO_OUT)/runs/advice --backend offline
	for kind in explainers stories advice; do $(CC) corpus stats $(DEMO_OUT)/runs/$$kind/documents --quiet || exit 1; done
	@echo "demo: documents under $(DEMO_OUT)/runs/*/documents, principles under $(DEMO_OUT)/principles"

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests bench
	$(BIN)/ruff format --check toolkit tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out .mypy_cache .pytest_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/python -m toolkit.cli.reference --write README.md
