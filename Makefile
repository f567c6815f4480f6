# exportgate: set-up, demo and tests. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
OPA_BINDINGS := opa-golib-python-bindings==0.4.4

.PHONY: all setup demo tryton-demo test test-fast test-tryton lint bench clean postgres chromium

all: demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,tryton]'
	# The OPA Go engine declares Python >= 3.14 but loads on 3.11 (see README).
	$(PIP) install -q --ignore-requires-python --no-deps $(OPA_BINDINGS)
	touch $@

setup: $(VENV)/.installed

## The main job on the embedded defaults: a batch over examples/ with the decisions shown.
demo: setup
	rm -f .exportgate/demo-ledger.db
	$(VENV)/bin/exportgate batch --regime us-ai-diffusion-2025 \
	    --ledger sqlite:///.exportgate/demo-ledger.db examples/orders.jsonl

## exportgate in Tryton's sale workflow: a throwaway Tryton database, five sales (docs/tryton.md).
tryton-demo: setup
	$(PY) examples/tryton/demo.py .exportgate/tryton-demo

postgres:
	bash .ci/ensure-postgres.sh

## Headless Chromium for the impact report's rendering test.
chromium:
	bash .ci/ensure-chromium.sh

## Everything CI runs: Rego tests on every engine, the pytest suite, the conformance cases.
test: setup postgres chromium lint
	$(VENV)/bin/exportgate test
	$(PY) -m pytest -q
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) tests/conformance/run.py
	# The shared conformance runner too, where a copy lies beside the repository (CI).
	if [ -f ../shared/conformance/run.py ]; then PATH=$(abspath $(VENV))/bin:$$PATH $(PY) ../shared/conformance/run.py; fi  # optional

test-fast: setup
	$(PY) -m pytest -q -m 'not slow'

## The Tryton module alone, on a real Tryton server (SQLite).
test-tryton: setup
	$(PY) -m pytest -q -m tryton tests/tryton

## Types (mypy strict, over the installed package layout) and lint (ruff).
lint: setup
	$(PIP) install -q mypy ruff
	rm -rf build/typecheck && mkdir -p build/typecheck/exportgate
	ln -s $(CURDIR)/plugin/* build/typecheck/exportgate/
	ln -s $(CURDIR)/adapters build/typecheck/exportgate/adapters
	cd build/typecheck && $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml -p exportgate
	$(VENV)/bin/ruff check plugin adapters --select E,F,W,B

## Benchmarks (docs/performance.md): per-order figures and a 10k-line batch per engine.
bench: setup
	$(PY) bench/run.py

## The batch over a million generated lines (several minutes).
bench-full: setup
	$(PY) bench/run.py --batch-lines 1000000

clean:
	rm -rf $(VENV) .exportgate build *.egg-info
