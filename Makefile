# One entry point for readers and CI. `make book` and `make test` do all set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# llama-cpp-python builds llama.cpp from source. A portable AVX2 build: -march=native
# also enables AMX, which crashes in sandboxes that do not grant AMX tile state.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# pip's wheel cache ignores CMAKE_ARGS: a wheel built elsewhere with -march=native would be
# reused. So llama-cpp-python is always built here, from source, without the cache.
LLAMA_CPP_PIN := llama-cpp-python==0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK = 1

NOTEBOOKS := $(wildcard notebooks/*.md)

.PHONY: help install book test bench bench-book lint format notebooks sync clean

help:
	@echo "make book       install (first time), execute every chapter, render _build/html"
	@echo "make test       install (first time), run the unit tests and nbval on the notebooks"
	@echo "make bench      the harness against raw llama.cpp: results/bench.json"
	@echo "make bench-book whole-book costs (a cold build in a scratch copy, ~15 min):"
	@echo "                book/data/book-bench.json, shown on the Performance page"
	@echo "make notebooks  re-sync .md -> .ipynb and store fresh outputs (after editing a chapter)"
	@echo "make lint       ruff check + format check"
	@echo "make clean      remove the built site and its execution cache"

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-cache-dir --no-binary llama-cpp-python "$(LLAMA_CPP_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "from reportlib.models import default_model_path as p; print('model:', p())"
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo "open _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest --nbval --nbval-cell-timeout=900 tests notebooks

bench: $(STAMP)
	$(BIN)/reportlib bench --output results/bench.json

bench-book: $(STAMP)
	$(BIN)/reportlib bench --book --output book/data/book-bench.json

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

sync: $(STAMP)
	$(BIN)/jupytext --sync $(NOTEBOOKS)

notebooks: sync
	$(BIN)/python -m reportlib.chapters $(NOTEBOOKS:.md=.ipynb)
	$(BIN)/jupytext --sync $(NOTEBOOKS)

clean:
	rm -rf _build results
