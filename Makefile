# FormScout: `make demo` scores the bundled demo clip end to end; `make test` runs the whole suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out/demo

.PHONY: demo test test-all app bench install clean-demo

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/formscout demo --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# heavy cases (long renders, browser, random-weight big models) behind the `slow` marker
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

app: $(STAMP)
	$(BIN)/python app.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py
