# The two commands of the README:
#   make demo   installs everything and serves the app on SQLite with the SYNTHETIC demo data
#   make test   installs everything and runs the test suite on SQLite, then on PostgreSQL
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hrpipeline_test
PYTEST_ARGS ?= -n 2
PORT ?= 5000
FLASK := $(BIN)/flask --app hrpipeline

AXE_VERSION ?= 4.14.1
AXE_DIR := tests/web/.axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

.PHONY: demo test test-sqlite test-postgres install install-test browser axe lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

# Browser tests use Debian's Chromium (never a downloaded browser); poppler renders PDFs to PNG;
# npm fetches axe-core (target axe).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils npm >/dev/null) \
	      || echo "warning: could not install chromium/poppler-utils/npm"; \
	  else echo "note: install chromium, chromium-driver, poppler-utils and npm for the browser, PDF and accessibility tests"; fi; \
	fi

# The accessibility checker injected into Chromium by tests/web/test_accessibility.py, from the
# npm registry into a test-only, git-ignored folder (never served by the app).
axe: $(AXE)

$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --prefix $(AXE_DIR) --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION); \
	else echo "note: install npm (Debian: apt-get install npm) for the accessibility tests"; fi

demo: install
	$(FLASK) init-db
	$(FLASK) demo
	@echo "Starting the server on http://127.0.0.1:$(PORT)/ (PORT=... make demo for another port);"
	@echo "open it once it says 'Running on'. Demo logins are listed in the README."
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test browser axe
	$(MAKE) test-sqlite test-postgres

test-sqlite:
	@echo "=== test suite on SQLite ==="
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@echo "=== test suite on PostgreSQL ($(PG_TEST_URL)) ==="
	HRPIPELINE_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check hrpipeline tests bench scripts

screenshots: install-test browser
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info $(AXE_DIR)
