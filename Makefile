# FormScout: `make demo` scores the bundled demo clip end to end; `make test` runs the whole suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?=

.PHONY: demo test test-all app bench install install-sam3 clean-demo screenshots

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# optional SAM 3 athlete-mask backend (no weights: pass your local sam3.pt with --sam3-checkpoint).
# Everything --no-deps: the pyproject extra `sam3` lists the same set; sam3's own pins would downgrade hub/tqdm.
install-sam3: $(STAMP)
	$(BIN)/python -m pip install -q open-clip-torch==3.3.0 iopath==0.1.10 portalocker==4.4.2 einops==0.8.2 \
		timm==1.0.31 pycocotools==2.0.11 ftfy==6.3.1 wcwidth==0.9.4 --no-deps
	$(BIN)/python -m pip install -q --no-deps sam3==0.1.4

demo: $(STAMP)
	$(BIN)/formscout demo $(if $(OUT),--out $(OUT))

# each demo run keeps its own folder under out/demo/; this removes them all
clean-demo:
	rm -rf out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# heavy cases (long renders, browser, random-weight big models) behind the `slow` marker
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

app: $(STAMP)
	$(BIN)/python app.py

# rewrite the app screenshots in docs/ (docs/app_*.png): only on request, `make test` never writes them
screenshots: $(STAMP)
	FORMSCOUT_SCREENSHOTS=1 $(BIN)/python -m pytest -q -m browser tests/app/browser

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py
