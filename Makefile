# SignalCraft: `make run` sets up and serves the demo; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
# pytest processes of `make test` (pytest-xdist; 0 runs the suite in this process)
TEST_WORKERS ?= 2
# one BLAS thread per process when the processes already share out the cores
TEST_THREADS := $(if $(filter 0 1,$(TEST_WORKERS)),,OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check
PORT ?= 8050
# One BLAS thread per process: 2-core machines are oversubscribed otherwise.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/instance/numba-cache
PIP_INSTALL := $(PIP) install -q -c constraints.txt --build-constraint build-constraints.txt

.PHONY: run test install install-test lint bench clean firmware-test

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required"' \
	  || { echo "Python 3.11 or newer is required"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "Cannot create a venv: apt-get install python3-venv"; exit 1; }
	@$(PIP) install -q --upgrade "pip>=25.3"

$(VENV)/.runtime: $(PY) requirements.txt constraints.txt build-constraints.txt
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt
	$(PIP_INSTALL) -r requirements-test.txt
	@touch $@

install: $(VENV)/.runtime

install-test: $(VENV)/.test

run: install
	PORT=$(PORT) $(VENV)/bin/flask --app wsgi run-demo

firmware-test:
	$(MAKE) -C firmware/esp32 test

test: install-test firmware-test
	$(TEST_THREADS) $(PY) -m pytest --headless -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .

# Every benchmark, then one table of every figure beside its target (bench/run_all.py);
# `make bench BENCH_ARGS=--quick` is a smoke run with smaller sizes.
bench: install-test
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/numba-cache firmware/esp32/.build
