# Recast: `make run` starts the whole stack locally, `make test` runs the suite, `make bench` the benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test test-unit bench lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,devstack]'
	touch $(STAMP)

run: venv
	$(PY) -m recast_devstack.run

test: venv
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: venv
	$(PY) -m pytest -q -m "not integration"

bench: venv
	$(PY) -c "import duckdb" 2>/dev/null || $(PY) -m pip install -q -e '.[bench]'
	$(PY) -m recast_cli.bench --report bench-report.json

lint: venv
	$(PY) -m ruff check libs services tests

clean:
	rm -rf $(VENV) data bench-report.json
