# Goumai. `make up`: the whole system on the embedded default. `make test`: the whole suite on real
# PostgreSQL and Apache Kafka, started (and stopped) by deploy/local/.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint install servers-up servers-down asyncapi demo bench bench-flow bench-eligibility clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/goumai up

test: $(STAMP)
	@bash scripts/test.sh $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check services gateway tests bench
	$(BIN)/mypy services gateway

servers-up:
	@deploy/local/postgres.sh start && deploy/local/kafka.sh start

servers-down:
	@deploy/local/kafka.sh stop; deploy/local/postgres.sh stop

asyncapi: $(STAMP)
	$(BIN)/goumai asyncapi

demo: $(STAMP)
	$(BIN)/goumai demo

bench: $(STAMP)
	@bash scripts/with-servers.sh $(BIN)/python bench/relay.py

bench-flow: $(STAMP)
	@bash scripts/with-servers.sh $(BIN)/python bench/flow.py

bench-eligibility: $(STAMP)
	@bash scripts/with-servers.sh $(BIN)/python bench/eligibility.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
