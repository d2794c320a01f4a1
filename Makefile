# Hudoor: `make run` starts the whole system on embedded defaults; `make test` runs the tests.
# Both create the virtual environment and install what they need on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format bench bench-full clean

$(VENV)/.run-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.run-installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	$(PY) -m runner

test: $(VENV)/.test-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

format: $(VENV)/.test-installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(VENV)/.test-installed
	$(PY) -m bench --quick

bench-full: $(VENV)/.test-installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
