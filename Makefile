# The two commands of the README: `make serve` and `make test`. Both set up what they need
# on first use, in a virtualenv in .venv at the versions of requirements.lock: `make serve`
# the package and its runtime dependencies only, `make test` (and lint, typecheck, pytest)
# the test and bench extras as well.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What serving needs: `pip install -e .`.
SERVE_STAMP := $(VENV)/.serve-stamp
# Everything: the serve install plus the test and bench extras (`make install`).
STAMP := $(VENV)/.installed-stamp

# Exact versions of every distribution .venv holds (runtime + test + bench extras), for
# CPython 3.11 on Linux, compiled from pyproject.toml by uv in a tools virtualenv of its own
# (never a dependency of the package): `make lock`.
LOCK := requirements.lock
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
UV_STAMP := $(TOOLS)/.uv-$(UV_VERSION)
LOCK_COMPILE = $(UV) pip compile pyproject.toml --extra test --extra bench \
	--python-version 3.11 --python-platform linux --no-emit-index-url \
	--custom-compile-command 'make lock' --output-file $(LOCK) --quiet

# `make test-latest`: the newest releases of every declared dependency, in a virtualenv of
# their own, whatever the lock and the exact pins say. PYTEST_ARGS narrows the suite.
LATEST := .venv-latest
PYTEST_ARGS ?=

.PHONY: install install-serve serve test lint typecheck pytest schema clean playground chromium \
	lock lock-upgrade test-latest

# The GraphiQL playground (graphql_playground/, an npm project) is built to static files
# that the server serves; npm ci runs when the lock file changes, the build when a source does.
PLAYGROUND := graphql_playground
PLAYGROUND_MODULES := $(PLAYGROUND)/node_modules/.package-lock.json
PLAYGROUND_BUILT := $(PLAYGROUND)/dist/.build-stamp
PLAYGROUND_SOURCES := $(PLAYGROUND)/index.html $(PLAYGROUND)/graph.html \
	$(PLAYGROUND)/vite.config.js $(shell find $(PLAYGROUND)/src -type f 2>/dev/null)
# Debian's Chromium, for the playground's end-to-end test (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Installed from the lock: pip resolves pyproject.toml's requirements with the lock as
# constraints, then tools/deps.py fails when something installed is not the lock's version
# (a dependency added to pyproject.toml without `make lock`). The full install builds on
# the serve install, so `make serve` then `make test` installs each package once.
$(SERVE_STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	$(BIN)/python tools/deps.py check $(LOCK)
	touch $@

$(STAMP): $(SERVE_STAMP)
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test,bench]'
	$(BIN)/python tools/deps.py check $(LOCK) test bench
	touch $@

## install-serve: .venv with what `issuegraph serve` needs (the package, its runtime dependencies)
install-serve: $(SERVE_STAMP)

## install: .venv with the test and bench extras too (what make test, lint and typecheck use)
install: $(STAMP)

$(UV_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)
	touch $@

## lock: rewrite requirements.lock from pyproject.toml, keeping the locked versions it allows
lock: $(UV_STAMP)
	$(LOCK_COMPILE)

## lock-upgrade: rewrite requirements.lock with the newest versions pyproject.toml allows
lock-upgrade: $(UV_STAMP)
	$(LOCK_COMPILE) --upgrade

## test-latest: the test suite against the newest release of every declared dependency
## (exact pins and lock ignored) in $(LATEST); prints those versions beside the locked ones
test-latest: playground chromium
	$(PYTHON) -m venv --clear $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(PYTHON) tools/deps.py names > $(LATEST)/declared.txt
	$(LATEST)/bin/pip install --quiet --upgrade -r $(LATEST)/declared.txt
	$(LATEST)/bin/pip install --quiet --no-deps -e .
	$(LATEST)/bin/python tools/deps.py compare $(LOCK)
	ISSUEGRAPH_E2E=required $(LATEST)/bin/pytest $(PYTEST_ARGS)

$(PLAYGROUND_MODULES): $(PLAYGROUND)/package.json $(PLAYGROUND)/package-lock.json
	@command -v npm >/dev/null || { echo "the playground needs Node.js 20+ and npm" >&2; exit 1; }
	cd $(PLAYGROUND) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(PLAYGROUND_BUILT): $(PLAYGROUND_MODULES) $(PLAYGROUND_SOURCES)
	cd $(PLAYGROUND) && npm run --silent build -- --logLevel warn
	touch $@

## playground: npm ci && npm run build in graphql_playground (only when its sources changed)
playground: $(PLAYGROUND_BUILT)

## chromium: install Debian's chromium when $(CHROMIUM) is missing
chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium with apt-get ..."; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## serve: demo data + the GraphQL endpoint at http://localhost:8080/graphql, and a new
## token for alice printed once it listens (the runtime install only, no test tools)
serve: $(SERVE_STAMP) playground
	$(BIN)/issuegraph serve --demo

## test: lint (ruff, the import contracts), type-check, then the whole suite against a real PostgreSQL
test: playground chromium lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# ISSUEGRAPH_E2E=required: the browser test fails, never skips, when something is missing.
pytest: $(STAMP) playground chromium
	ISSUEGRAPH_E2E=required $(BIN)/pytest

## schema: rewrite schema.graphql from the code (the snapshot test compares the two)
schema: $(SERVE_STAMP)
	$(BIN)/issuegraph schema > schema.graphql

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache test-artifacts \
	  $(PLAYGROUND)/dist $(PLAYGROUND)/node_modules
