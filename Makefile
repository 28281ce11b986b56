# Recast: `make run` starts the whole stack locally, `make test` runs the suite, `make bench` the benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test test-unit bench bench-reads bench-pipeline bench-chunked lint clean lock fuzz chaos

venv: $(STAMP)

# Installed at the versions of requirements-dev.lock (constraints: the same versions as CI and the image).
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,devstack]' -c requirements-dev.lock
	touch $(STAMP)

# Re-resolve both lock files from pyproject.toml (after changing a dependency): requirements.lock is what the
# image installs (no extras), requirements-dev.lock adds every extra for development and CI.
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock"
lock: venv
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras $(LOCK_FLAGS) -o requirements-dev.lock

run: venv
	$(PY) -m recast_devstack.run

test: venv
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q -m "not integration"

# The API fuzz run (schemathesis on /openapi.json, a client key then the admin key: no answer >= 500), longer
# than the one in `make test`: FUZZ_EXAMPLES cases per operation and phase.
FUZZ_EXAMPLES ?= 50
fuzz: venv
	RECAST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -p no:cacheprovider tests/integration/test_api_fuzz.py

# Chaos runs (several minutes each; `make test` runs a short one): make run's stack with an embedded Postgres of
# its own, CHAOS_JOBS learnable jobs (and a few unlearnable) per run while every service, the broker and S3 are
# SIGKILLed and Postgres is crash-restarted for 5-20 s; prints 0 lost / duplicated / learnable failed / stuck /
# S3 orphans and whether every dead letter is a message fault; fails when a run does not. CHAOS_JOBS=200 works.
CHAOS_RUNS ?= 2
CHAOS_JOBS ?= 40
chaos: venv
	env -u DATABASE_URL $(PY) -m recast_devstack.chaos --runs $(CHAOS_RUNS) --jobs $(CHAOS_JOBS) --report chaos-report.json

bench: venv
	$(PY) -c "import duckdb" 2>/dev/null || $(PY) -m pip install -q -e '.[bench]'
	$(PY) -m recast_cli.bench --report bench-report.json
	$(PY) -m recast_devstack.read_bench --report bench-reads-report.json

# Read latency of the job, list and health routes beside a trivial one, at 50/100/200 requests/s (also in bench).
bench-reads: venv
	$(PY) -m recast_devstack.read_bench --report bench-reads-report.json

# Training throughput through `make run`'s stack: PIPELINE_ARGS="--jobs 3000 --window 500 --replicas planner=2".
PIPELINE_ARGS ?=
bench-pipeline: venv
	$(PY) -m recast_devstack.pipeline_bench --report bench-pipeline-report.json $(PIPELINE_ARGS)

# A 200 MB inference in chunks on one tester replica, then on two: CHUNKED_ARGS="--mb 500 --chunk-mb 50".
CHUNKED_ARGS ?=
bench-chunked: venv
	$(PY) -m recast_devstack.chunk_bench --report bench-chunked-report.json $(CHUNKED_ARGS)

lint: venv
	$(PY) -m ruff check libs services tests
	$(PY) -m mypy

clean:
	rm -rf $(VENV) data bench-report.json bench-reads-report.json bench-pipeline-report.json bench-chunked-report.json chaos-report.json
