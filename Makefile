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

.PHONY: demo test test-sqlite test-postgres install install-test browser lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

# Browser tests use Debian's Chromium (never a downloaded browser); poppler renders PDFs to PNG.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null) \
	      || echo "warning: could not install chromium/poppler-utils"; \
	  else echo "note: install chromium, chromium-driver and poppler-utils for the browser and PDF tests"; fi; \
	fi

demo: install
	$(FLASK) init-db
	$(FLASK) demo
	@echo "Starting the server on http://127.0.0.1:$(PORT)/ (PORT=... make demo for another port);"
	@echo "open it once it says 'Running on'. Demo logins are listed in the README."
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test browser
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
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
