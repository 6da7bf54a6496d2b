# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench bench-quick bench-search bench-web screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench,web,pg,parquet,mcp]'
	touch $@

## make demo: harvest the bundled fixtures from a local replay server into demo.db, then query it
demo: $(VENV)/.installed
	$(BIN)/python scripts/demo.py demo.db

## make test: the whole test suite (no network: fixtures are served on 127.0.0.1)
test: $(VENV)/.installed
	$(BIN)/python -m pytest

## make screenshots: PNGs of the home, search, studies and trial pages of `harvest serve` over demo.db, in docs/
screenshots: $(VENV)/.installed
	test -f demo.db || $(MAKE) demo
	$(BIN)/python scripts/screenshots.py demo.db docs

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench scripts

## make bench: benchmarks with same-run baselines; writes bench/results.md, history-results.md, search-results.md,
## web-results.md, publish-results.md
bench: $(VENV)/.installed
	$(BIN)/python bench/run.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/search_recall.py
	$(BIN)/python bench/web.py --studies 100000
	$(BIN)/python bench/publish.py --studies 100000

bench-quick: $(VENV)/.installed
	$(BIN)/python bench/run.py --quick
	$(BIN)/python bench/history.py --quick
	$(BIN)/python bench/search_recall.py
	$(BIN)/python bench/web.py --quick
	$(BIN)/python bench/publish.py --quick

## make bench-search: recall and precision of harvest search alone (seconds); writes bench/search-results.md
bench-search: $(VENV)/.installed
	$(BIN)/python bench/search_recall.py

## make bench-web [DB=file]: the page times alone, on a 100k-study file (or on DB=file as it is)
bench-web: $(VENV)/.installed
	$(BIN)/python bench/web.py $(or $(DB),--studies 100000)

clean:
	rm -rf $(VENV) demo.db demo.db-* demo.db.lock .pytest_cache
