# mcloud: `make run` runs the app on a fresh machine, `make test` passes the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test demo lint format install install-dev browser isolation migrate clean

run: install isolation migrate ## Set up and run the web server and a q2 worker on 127.0.0.1:8000
	DEBUG=$${DEBUG:-true} bin/run-dev $(HOST) $(PORT)

demo: install ## Load the sandbox estate (needs the emulators of `make run` running)
	DEBUG=$${DEBUG:-true} $(PY) manage.py demo

test: install-dev browser isolation ## Lint and type-check, then the tests on SQLite, then on PostgreSQL when one answers
	bin/run-tests

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt bin/install-terraform
	bin/make-venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	bin/install-terraform $(VENV) var/terraform-plugins
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

browser: ## Debian's Chromium for the browser tests (Playwright cannot download one), wrk for bench/load.py
	@command -v chromium >/dev/null && command -v wrk >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium wrk >/dev/null; }

isolation: ## Debian's bubblewrap and socat: every Terraform step runs in a sandbox
	@command -v bwrap >/dev/null && command -v socat >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bubblewrap socat >/dev/null; }

migrate:
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py createcachetable
	DEBUG=$${DEBUG:-true} $(PY) manage.py ensure_superuser

lint: install-dev ## ruff, then mypy over the product code (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var
