# journeymap: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser demo test test-snowflake lint dev bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]" -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## generate the sample business, load it, build everything, write the journey map
	$(BIN)/journeymap demo

# The journey map page is tested in a real headless Chromium (Debian's package; never a downloaded browser).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium is not installed; the browser test is skipped outside CI (apt-get install chromium)"; fi

test: $(STAMP) browser  ## the whole test suite (unit, dbt, integration, browser)
	$(BIN)/python -m pytest

# The same project on Snowflake: the loader, dbt and the Dagster job against the Snowflake
# emulator (fakesnow, started on 127.0.0.1 and stopped by the tests, whatever happens).
test-snowflake: $(STAMP)  ## loader, dbt seed/build, incremental day and Dagster job on Snowflake
	$(BIN)/python -m pytest -m snowflake tests/snowflake

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Dagster's UI and daemon (schedule, sensor, run queue) on the project; state in ./dagster_home.
DAGSTER_HOME_DIR ?= $(CURDIR)/dagster_home
DAGSTER_PORT     ?= 3000

dev: $(STAMP)  ## Dagster UI on http://127.0.0.1:3000: assets, checks, runs, schedule, sensor
	mkdir -p $(DAGSTER_HOME_DIR)
	cp orchestration/dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/dagster dev -m journeymap.orchestration.definitions -h 127.0.0.1 -p $(DAGSTER_PORT)

bench: $(STAMP)  ## benchmarks: see bench/README.md
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.text_labels
	$(BIN)/python -m bench.load_formats
	$(BIN)/python -m bench.customers --customers 100000 --json bench/results/customers.json

clean:
	rm -rf data warehouse build target logs
