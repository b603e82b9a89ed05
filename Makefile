# recap: thin wrappers over the CLI and pytest. `make` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= ../shared/data/market
WEEK   ?=
FORMAT ?= html,pdf,json,email

.DEFAULT_GOAL := help
.PHONY: help install sysdeps recap test lint golden bench screenshots clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

sysdeps: ## Install the Debian packages recap needs (when missing and apt is usable)
	@sh scripts/sysdeps.sh

install: sysdeps $(STAMP) ## Create .venv and install recap with its dependencies

recap: install ## Build a recap: WEEK=YYYY-MM-DD (default latest), DATA_DIR=snapshot (default Yahoo)
	$(BIN)/recap build $(if $(WEEK),--week $(WEEK)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) --format $(FORMAT)

test: install ## Run every test (no network)
	$(BIN)/python -m pytest

lint: install ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check recap tests scripts
	$(BIN)/ruff format --check recap tests scripts
	$(BIN)/mypy recap

golden: install ## Regenerate the golden files under tests/golden/ (review the diff!)
	$(BIN)/python scripts/make_golden.py --data-dir $(DATA)

bench: install ## Benchmark build and backfill on the snapshot; prints figures
	$(BIN)/python scripts/bench.py --data-dir $(DATA)

screenshots: install ## PNGs of the PDF pages and the HTML (phone, desktop) into screenshots/
	$(BIN)/python scripts/screenshots.py --data-dir $(DATA) --out screenshots

clean: ## Remove generated files (output/, .cache/, screenshots/), keep .venv
	rm -rf output/20* output/.20* .cache screenshots bench-results .pytest_cache .mypy_cache .ruff_cache
