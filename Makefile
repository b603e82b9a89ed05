# recap: thin wrappers over the CLI and pytest. `make` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# axe-core and the Nu HTML checker for tests/test_a11y.py (tests/package.json)
NODE_STAMP := tests/node_modules/.installed-stamp
DATA   ?= ../shared/data/market
WEEK   ?=
FORMAT ?= html,pdf,json,email

.DEFAULT_GOAL := help
.PHONY: help install sysdeps recap test lint golden bench screenshots lighthouse clean email publish weekly backfill

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

sysdeps: ## Install the Debian packages recap needs (when missing and apt is usable)
	@sh scripts/sysdeps.sh

$(NODE_STAMP): tests/package.json tests/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "recap: npm not found; the axe-core and Nu checker tests will be skipped" >&2; \
	elif npm ci --prefix tests --ignore-scripts --no-audit --no-fund --loglevel=error; then \
	  touch $(NODE_STAMP); \
	else \
	  echo "recap: npm ci in tests/ failed; the axe-core and Nu checker tests will be skipped" >&2; \
	fi

install: sysdeps $(STAMP) $(NODE_STAMP) ## Create .venv and install recap with its dependencies

recap: install ## Build a recap: WEEK=YYYY-MM-DD (default latest), DATA_DIR=snapshot (default Yahoo)
	$(BIN)/recap build $(if $(WEEK),--week $(WEEK)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) --format $(FORMAT)

# Two workers on two cores (pytest-xdist), a file's tests in one worker, the slowest files
# handed out first (tests/conftest.py orders them; --no-loadscope-reorder keeps that order).
# conftest.py shares the real weeks between workers. PYTEST_FLAGS= runs in one process.
PYTEST_FLAGS ?= -n auto --dist loadfile --no-loadscope-reorder

# Bytecode written even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1 on
# this project's machines): pytest then rewrites and compiles the test modules once, not
# in every worker on every run (1.5 s a process), and each `python -m recap` a test starts
# reads compiled modules.
test: install ## Run every test (no network)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest $(PYTEST_FLAGS)

lint: install ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check recap tests scripts
	$(BIN)/ruff format --check recap tests scripts
	$(BIN)/mypy recap

golden: install ## Regenerate the golden files under tests/golden/ (review the diff!)
	$(BIN)/python scripts/make_golden.py --data-dir $(DATA)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP) ## Benchmark build (vs a floor, html vs QuantStats) and backfill; prints figures
	$(BIN)/python scripts/bench.py --data-dir $(DATA)

screenshots: install ## PNGs of the PDF pages and the HTML (phone, desktop) into screenshots/
	$(BIN)/python scripts/screenshots.py --data-dir $(DATA) --out screenshots

lighthouse: install ## Lighthouse 13 (accessibility, best practices, SEO) on the page, email, archive
	$(BIN)/python scripts/lighthouse.py --data-dir $(DATA)

clean: ## Remove generated files (output/, .cache/, screenshots/), keep .venv
	rm -rf output/20* output/.20* output/sample-* output/.sample-* .cache screenshots bench-results .pytest_cache .mypy_cache .ruff_cache

TO   ?= subscribers.csv
SITE ?= site
FROM ?=
UNTIL ?=

email: install ## Email a week: WEEK=DATE TO=subscribers.csv [DRY_RUN=DIR] (RECAP_SMTP_PASSWORD)
	$(BIN)/recap email $(if $(WEEK),--week $(WEEK)) --to $(TO) $(if $(DRY_RUN),--dry-run $(DRY_RUN)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

publish: install ## Publish a week to a site: WEEK=DATE SITE=dir
	$(BIN)/recap publish $(if $(WEEK),--week $(WEEK)) --site $(SITE) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

weekly: install ## Build the latest week, publish it, email it: [TO=csv] [SITE=dir] ([weekly] in config)
	$(BIN)/recap weekly $(if $(filter command line,$(origin TO)),--to $(TO)) $(if $(filter command line,$(origin SITE)),--site $(SITE)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

backfill: install ## Build every week in a range: FROM=DATE UNTIL=DATE [SITE=dir to publish]
	$(BIN)/recap backfill --from $(FROM) --to $(UNTIL) $(if $(filter command line,$(origin SITE)),--publish $(SITE)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))
