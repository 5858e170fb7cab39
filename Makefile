# Two commands for a newcomer: `make demo` (set up and run on the synthetic portfolio) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install install-dev system-deps demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Debian packages the browser tests need: chromium and its driver.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

demo: install
	$(PY) scripts/demo.py

test: install-dev system-deps
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check scoring api dashboard tests bench

bench: install-dev
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) data/processed/* models/*
