# Quick start: `make demo` then `make test`. Everything runs inside .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/demo
BUNDLE ?= sample_logs/kics-incident
ADVISORY ?= sample_logs/advisories/kics-2026-04-22.toml
BENCH_MB ?= 256

.PHONY: demo test lint typecheck unit browser bench clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e . pytest ruff mypy playwright
	touch $(STAMP)

demo: $(STAMP)
	@rm -rf $(OUT)
	@$(BIN)/forensics investigate $(BUNDLE) --advisory $(ADVISORY) --out $(OUT); \
	  status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi; \
	  if [ $$status -eq 1 ]; then echo "(exit status 1: the run completed; some input was not understood, see the coverage section)"; fi
	@echo "case:     $(OUT)/case/  (try: $(BIN)/forensics sql $(OUT) \"SELECT * FROM job_verdicts\")"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/python tests/tools/typecheck_tree.py build/typecheck
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml \
	  --cache-dir ../mypy-cache forensics

unit: $(STAMP)
	$(BIN)/pytest -m "not browser"

browser: $(STAMP)
	tests/tools/ensure_chromium.sh
	$(BIN)/pytest -m browser

test: lint typecheck $(STAMP)
	tests/tools/ensure_chromium.sh
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run --size-mb $(BENCH_MB)

clean:
	rm -rf $(VENV) build out .pytest_cache .mypy_cache .ruff_cache
