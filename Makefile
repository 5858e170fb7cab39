# Two commands for a newcomer: `make demo` (set up and run on the synthetic portfolio) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install install-dev system-deps demo test lint bench clean strip-notebook

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1)); set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): on Debian, apt-get install python3-venv"; exit 1; }
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Debian packages the browser tests need (chromium and its driver), the sign-in flood bench's load tool (wrk),
# the PostgreSQL server the store tests start a throwaway cluster of (tests/postgres.py) and promtool (package
# prometheus), which checks and unit-tests the alert rules (tests/test_alerts.py), and nginx and openssl, which
# tests/test_deploy.py runs the shipped site with (in a temporary folder, never the machine's own nginx), and a
# headless Java runtime for Spark when none is installed (predict --engine spark, tests/test_predict_spark.py).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v wrk >/dev/null \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v promtool >/dev/null \
		|| ! test -x /usr/sbin/nginx || ! command -v openssl >/dev/null || ! command -v java >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver wrk postgresql \
			prometheus nginx openssl $$(command -v java >/dev/null || echo default-jre-headless) >/dev/null; \
	fi

demo: install
	$(PY) scripts/demo.py

test: install-dev system-deps
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check scoring api dashboard tests bench scripts deploy
	$(VENV)/bin/ruff format --check scoring api dashboard tests bench scripts deploy

bench: install-dev
	$(PY) bench/run_all.py

# git keeps the methodology notebook without outputs (tests/test_notebook.py checks it)
strip-notebook: install-dev
	$(PY) -c 'import nbformat as f, sys; p = sys.argv[1]; nb = f.read(p, as_version=4); \
	[c.update(outputs=[], execution_count=None) for c in nb.cells if c.cell_type == "code"]; f.write(nb, p)' \
	notebooks/methodology.ipynb

clean:
	rm -rf $(VENV) data/processed/* models/*
