# The two commands of the README: `make serve` and `make test`. Both set up everything
# they need (a virtualenv in .venv with the package and its test tools) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install serve test lint typecheck pytest schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## serve: demo data + the GraphQL endpoint at http://localhost:8080/graphql
serve: $(STAMP)
	$(BIN)/issuegraph seed --demo
	$(BIN)/issuegraph serve

## test: lint, type-check, then the whole test suite against a real PostgreSQL
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## schema: rewrite schema.graphql from the code (the snapshot test compares the two)
schema: $(STAMP)
	$(BIN)/issuegraph schema > schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
