# The nightly warehouse: `make run` (ingest + dbt build) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Python: the newest of these on PATH that runs (a pyenv shim of a version it has not selected
# does not), unless PYTHON=/path/to/python3.x is given.
PYTHONS := python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(PYTHONS),$(shell $(p) -c '' >/dev/null 2>&1 && echo $(p))))
endif
VENV := .venv
BIN := $(VENV)/bin
SOURCE ?=
WAREHOUSE ?= warehouse/connect.duckdb
RAW_LAKE ?=
export SOURCE WAREHOUSE RAW_LAKE

SOURCE_ARG := $(if $(SOURCE),--source "$(SOURCE)",)

.PHONY: help setup setup-spark java build-spark test-spark run ingest build verify report sample sql test test-fast test-browser lint fuzz bench bench-nightly docs docs-static clean

help: ## list the targets
	@echo "make TARGET, with TARGET one of:"
	@awk -F ':.*## ' '/^[a-z-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

setup: $(VENV)/.installed ## create .venv/ and install the pinned dependencies (the targets that need it run it first)

$(VENV)/.installed: requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "No Python found: this project needs Python 3.11, 3.12 or 3.13 as python3.13, python3.12 or python3.11 on PATH (or make PYTHON=/path/to/python3.x)." >&2; \
		exit 1; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
		echo "PYTHON=$(PYTHON) is not Python 3.11, 3.12 or 3.13 ($$($(PYTHON) --version 2>&1 | head -n 1)): this project needs one of them." >&2; \
		exit 1; \
	}
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# The Spark target (profiles.yml `spark`): pyspark and dbt-spark, pinned in
# requirements-spark.lock and installed together with requirements.lock (so that dbt-spark
# keeps our dbt-core), and a Java 17 or 21 runtime (Debian: apt-get install
# openjdk-17-jre-headless).
setup-spark: $(VENV)/.spark-installed ## install pyspark and dbt-spark (requirements-spark.lock) into .venv/

$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock -r requirements-spark.lock
	touch $@

java: ## check that a Java runtime for Spark is there (JAVA_HOME or java on PATH)
	@if [ -n "$$JAVA_HOME" ]; then \
		[ -x "$$JAVA_HOME/bin/java" ] || { echo "JAVA_HOME=$$JAVA_HOME has no bin/java: Spark needs a Java 17 or 21 runtime (Debian: apt-get install openjdk-17-jre-headless)." >&2; exit 1; }; \
	elif ! command -v java >/dev/null 2>&1; then \
		echo "No Java runtime found (JAVA_HOME is not set and java is not on PATH): Spark needs Java 17 or 21 (Debian: apt-get install openjdk-17-jre-headless)." >&2; \
		exit 1; \
	fi

# RAW_LAKE: the Parquet lake of the raw tables Spark reads (see README). Without it,
# build-spark ingests the sample archive into the lake warehouse/spark/lake/ (exactly once:
# a second time loads nothing), with warehouse/spark/sample.duckdb as its DuckDB warehouse.
SPARK_DIR ?= warehouse/spark
export SPARK_DIR

build-spark: setup-spark java ## every model and dbt test on Spark (local mode) from the lake RAW_LAKE (default: the sample's)
	@if [ -z "$(RAW_LAKE)" ]; then \
		set -e; \
		[ -d sample-archive ] || $(BIN)/connect-warehouse sample; \
		mkdir -p $(SPARK_DIR); \
		$(BIN)/connect-warehouse ingest --source sample-archive --lake $(SPARK_DIR)/lake \
			--warehouse $(SPARK_DIR)/sample.duckdb; \
	fi
	RAW_LAKE="$(or $(RAW_LAKE),$(abspath $(SPARK_DIR))/lake)" $(BIN)/dbt build --target spark --profiles-dir . \
		--target-path target/spark

test-spark: setup-spark java ## DuckDB and Spark build the sample and the hand-built test days: every mart compared row by row
	$(BIN)/python -m pytest -m spark

run: setup ## nightly job: ingest, then dbt build
	$(BIN)/connect-warehouse run $(SOURCE_ARG) --warehouse "$(WAREHOUSE)"

ingest: setup ## ingest only
	$(BIN)/connect-warehouse ingest $(SOURCE_ARG) --warehouse "$(WAREHOUSE)"

build: setup ## dbt build only
	$(BIN)/connect-warehouse build --warehouse "$(WAREHOUSE)"

verify: setup ## every dbt data test over all history, read-only (weekly; the nightly build tests its look-back window)
	$(BIN)/connect-warehouse verify --warehouse "$(WAREHOUSE)"

report: setup ## the HTML report, one page a day, in warehouse/report/ (DAY=YYYY-MM-DD for one, OUT=dir)
	$(BIN)/connect-warehouse report --warehouse "$(WAREHOUSE)" $(if $(DAY),--day "$(DAY)",) $(if $(OUT),--out "$(OUT)",)

sample: setup ## write the generated sample archive
	$(BIN)/connect-warehouse sample

sql: setup ## a read-only query: make sql Q="select ..."
	$(BIN)/connect-warehouse sql "$(Q)" --warehouse "$(WAREHOUSE)"

test: setup lint ## lint, then the whole test suite but the browser and Spark tests (15-30 minutes)
	$(BIN)/python -m pytest -m "not browser and not spark"

test-browser: setup ## the browser tests: the report and the dbt docs in headless Chromium (apt: chromium)
	$(BIN)/python -m pytest -m browser

test-fast: setup ## the tests not marked e2e (no CLI, dbt or S3 server; under a minute)
	$(BIN)/python -m pytest -m "not e2e and not browser and not spark"

lint: setup ## ruff on the Python; sqlfluff on the dbt models, each ending with its final CTE
	$(BIN)/ruff check ingest tests sqlfluff_libs
	$(BIN)/ruff format --check ingest tests sqlfluff_libs
	$(BIN)/sqlfluff lint models
	@for f in models/*/*.sql; do \
		[ "$$(grep -v '^[[:space:]]*$$' "$$f" | tail -n 1)" = "select * from final" ] \
			|| { echo "$$f: the model does not end with 'select * from final'"; exit 1; }; \
	done

FUZZ_SECONDS ?= 600
fuzz: setup ## property-based fuzzing of the ingest on random inputs for FUZZ_SECONDS (600)
	end=$$((SECONDS + $(FUZZ_SECONDS))); while [ $$SECONDS -lt $$end ]; do \
	  HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_fuzz.py || exit 1; \
	done

bench: setup ## the ingest against read_json auto and a DuckDB-SQL load of the same tables (EVENTS=500000 by default)
	$(BIN)/python -m ingest.bench $(if $(EVENTS),--events $(EVENTS),)

bench-nightly: setup ## one night on DAYS (8) of AGENTS (100) beside the same night on 1 day; WORK=dir for the warehouses
	$(BIN)/python -m ingest.bench_nightly $(if $(AGENTS),--agents $(AGENTS),) $(if $(DAYS),--days $(DAYS),) $(if $(WORK),--work "$(WORK)",)

docs: setup ## dbt docs on http://127.0.0.1:8080 (offline)
	$(BIN)/connect-warehouse docs --warehouse "$(WAREHOUSE)" --serve

docs-static: setup ## a single-file docs site in target/static_index.html
	$(BIN)/connect-warehouse docs --warehouse "$(WAREHOUSE)"

clean: ## remove .venv, dbt's output, the warehouse and the generated archives
	rm -rf $(VENV) target dbt_packages logs warehouse sample-archive bench-archive
