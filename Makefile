# Saraban: two commands for a new user — `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
ARGS ?=
WORKERS ?= $(shell echo $$(( $$(nproc) + 2 )))
SOAK_MINUTES ?= 30
SOAK_SEED ?= 1
# Python keeps the compiled modules (__pycache__, ignored by git) even where the
# environment asks it not to: every test worker, served hub and node and command imports
# some 300 of the project's modules, and compiling them again took 0.45 s of each start
# (and 10 s of each test worker's collection, rewriting the tests' asserts).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test lint typecheck pytest pytest-postgresql fuzz bench bench-search soak soak-scenarios browser postgresql clean

# Install steps print to stderr so `make demo ARGS='--once --json'` prints only JSON.
$(BIN)/python:
	@echo "creating $(VENV)" >&2
	@$(PY) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install -q --upgrade pip >&2

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@echo "installing saraban into $(VENV)" >&2
	@$(BIN)/pip install -q -e . >&2
	@touch $@

$(TEST_STAMP): $(STAMP)
	@$(BIN)/pip install -q -e '.[test]' >&2
	@touch $@

demo: $(STAMP)
	@$(BIN)/saraban demo $(ARGS)

# Debian's chromium drives the browser tests; installed once when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || scripts/install-chromium.sh

# Debian's PostgreSQL server for the throwaway clusters of the tests and the benchmarks
# (scripts/pgcluster.py); installed once when missing.
postgresql:
	@scripts/install-postgresql.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# Two workers more than the cores: the tests that run real hub and node processes wait on
# them, and a third and fourth worker on two cores fill that time; worksteal hands the long
# tests' neighbours to idle workers. WORKERS=0 runs in one process (easier to debug). The long
# fault scenarios (marked soak) are left to `make soak-scenarios`.
pytest: $(TEST_STAMP)
	$(BIN)/pytest -n $(WORKERS) --dist worksteal -m "not soak" $(ARGS)

# Every test with every hub on PostgreSQL (a throwaway server per worker, a fresh database
# per test, scripts/pgcluster.py). make test runs the hub's store and federation modules on
# both engines already (tests/conftest.py BOTH_ENGINES); this runs all of them (~20 min).
pytest-postgresql: $(TEST_STAMP) postgresql
	SARABAN_TEST_HUB_BACKEND=postgresql $(BIN)/pytest -n $(WORKERS) --dist worksteal \
		-m "not soak" $(ARGS)

# ruff and mypy run beside pytest (make test has ten minutes on two cores); any of the
# three failing fails it.
test: $(TEST_STAMP) browser postgresql
	@$(MAKE) --no-print-directory -j3 lint typecheck pytest

# The property tests (hypothesis) of the protocol with many more examples than make test
# runs: the profile "fuzz" of tests/conftest.py, 50,000 examples per property, no time limit.
fuzz: $(TEST_STAMP)
	SARABAN_HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -n $(WORKERS) --timeout=0 \
		tests/test_protocol_properties.py tests/test_ledger.py tests/test_numbers.py \
		tests/test_thai.py $(ARGS)

# Every figure of docs/design.md §11 with real hub and node processes on 127.0.0.1 (about
# 15 minutes); prints one line per figure and writes bench-results.json.
# ARGS='--quick' for a smoke test, ARGS='--only storm,catchup' for some families.
bench: $(TEST_STAMP)
	$(BIN)/python -m scripts.bench $(ARGS)

# Builds bench-results/search-1000000.sqlite once (minutes, ~6 GB), then times the queries.
bench-search: $(TEST_STAMP)
	$(BIN)/python -m scripts.bench_search $(ARGS)

# A hub and 19 nodes under random traffic, kills, partitions and restarts from old copies
# for SOAK_MINUTES, then every store checked; writes soak-result.json, fails on any loss,
# duplicate, reissued number or invariant violation (docs/reliability.md).
soak: $(STAMP)
	$(BIN)/python -m scripts.soak --minutes $(SOAK_MINUTES) --seed $(SOAK_SEED) $(ARGS)

# The fault scenarios too long for make test (marked soak: tests/faults, the kill points
# of tests/test_crash_faults.py), and 2,000 concurrent sends at one node
# (tests/test_node_concurrency.py).
soak-scenarios: $(TEST_STAMP)
	$(BIN)/pytest -n $(WORKERS) -m soak tests/faults tests/test_crash_faults.py \
		tests/test_node_concurrency.py $(ARGS)

# One office (ROLE=node NAME=chiangmai) or the hub (ROLE=hub) as a systemd service on this
# Debian machine, as root: /opt/saraban, /var/lib/saraban/NAME, /etc/saraban/NAME.env, the
# systemd units and `saraban-as`; check it with `sudo saraban-as NAME node doctor` (or
# `sudo saraban-as hub hub doctor`). Paths and DESTDIR: deploy/install.sh.
.PHONY: install
install:
	@PYTHON='$(PY)' deploy/install.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache demo-run soak-run
