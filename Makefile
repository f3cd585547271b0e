# The service's commands. `make help` lists them.
PY       ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
PROTOS   := $(wildcard protos/managedagents/v1/*.proto)
LISTEN   ?= 127.0.0.1:50051
DATABASE_URL ?= sqlite:///var/sessions.db

.PHONY: help install generate check-generated lint test run bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/activate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BIN)/activate

install: $(BIN)/activate ## create the virtualenv and install the service with its dev tools

generate: install ## regenerate generated/ from protos/
	rm -rf generated/managedagents
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=generated --pyi_out=generated \
		--grpc_python_out=generated $(PROTOS)
	touch generated/managedagents/__init__.py generated/managedagents/v1/__init__.py

check-generated: install ## fail when generated/ does not match protos/
	@tmp=$$(mktemp -d) && \
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=$$tmp --pyi_out=$$tmp \
		--grpc_python_out=$$tmp $(PROTOS) && \
	touch $$tmp/managedagents/__init__.py $$tmp/managedagents/v1/__init__.py && \
	diff -r $$tmp/managedagents generated/managedagents -x __pycache__ && rm -rf $$tmp && \
	echo "generated/ is up to date"

node_modules/.bin/buf: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

lint: install node_modules/.bin/buf ## buf lint (the contract), ruff and mypy
	node_modules/.bin/buf lint
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

test: install ## run the test suite (SQLite, and PostgreSQL when reachable)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

run: install ## migrate, serve on $(LISTEN) (SQLite at ./var/sessions.db) with a reference runtime
	mkdir -p var
	$(BIN)/python -m server migrate --database-url $(DATABASE_URL)
	$(BIN)/python -m server serve --listen $(LISTEN) --database-url $(DATABASE_URL) --reference-runtimes 1

bench: install ## measure speed against a bare grpc.aio baseline (bench/results/)
	@command -v h2load >/dev/null || echo "h2load not found (Debian: apt install nghttp2-client); load comes from Python clients"
	$(BIN)/python -m bench --size full

bench-quick: install ## a short bench, under two minutes
	@command -v h2load >/dev/null || echo "h2load not found (Debian: apt install nghttp2-client); load comes from Python clients"
	$(BIN)/python -m bench --size quick

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var
