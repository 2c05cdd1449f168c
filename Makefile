# Tripline: `make demo` runs the main job on generated data; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RUNTIME__DLTHUB_TELEMETRY := false
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: venv demo test lint bench services diagrams clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Tripline needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## demo: generate sample data, run every pipeline, build the dbt project and the report
demo: venv
	@# Kafka's jars come from Maven Central; without Java the demo skips Kafka in one line.
	-@bash scripts/services.d/kafka.sh
	$(BIN)/tripline demo

## test: lint, dbt build on generated data, and the whole pytest suite (real servers), on two
## workers (pytest-xdist), one test file at a time each, so a file's fixtures are built once
test: venv services lint
	$(BIN)/pytest -n 2 --dist loadfile

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict ingestion devservers

## services: what the tests need beyond PyPI (MariaDB from Debian, Kafka jars from Maven)
services:
	bash scripts/services.sh

## bench: the trips benchmark (bench/RESULTS.md); other benches: python -m bench.<name>_bench
bench: venv
	$(BIN)/python -m bench.trips_bench

## diagrams: render architecture/diagrams/*.mmd to SVG (mermaid-cli on Debian's Chromium)
diagrams:
	bash scripts/render_diagrams.sh

clean:
	rm -rf data target logs bench/work
