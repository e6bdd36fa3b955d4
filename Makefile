# One entry point for readers and CI. `make book` and `make test` do all set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the optional fine-tuning extra (torch, transformers, peft, gguf: ~2.5 min, ~5.7 GB once);
# `make test` and `make finetune` need it, `make book` never does
FT_STAMP := $(VENV)/.finetune-stamp
# llama-cpp-python builds llama.cpp from source. A portable AVX2 build: -march=native
# also enables AMX, which crashes in sandboxes that do not grant AMX tile state.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# pip's wheel cache ignores CMAKE_ARGS: a wheel built elsewhere with -march=native would be
# reused. So llama-cpp-python is always built here, from source, without the cache, and
# without its multimodal library (LLAVA_BUILD=OFF: mtmd, which the book never loads; its
# Python bindings load it only when a multimodal chat handler is used).
LLAMA_CPP_PIN := llama-cpp-python==0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK = 1

NOTEBOOKS := $(wildcard notebooks/*.md)
LLAMA_BENCH := $(VENV)/llama-bench/llama-bench
LLAMA_BATCHED_BENCH := $(VENV)/llama-bench/llama-batched-bench
LB_BUILD := $(VENV)/llama-bench-build
KERNEL_BENCHES := $(VENV)/llama-bench/native/llama-bench $(VENV)/llama-bench/cpu-variants/llama-bench

.PHONY: help install book check test test-phases browser bench bench-book llama-bench kernel-benches finetune lint format notebooks sync clean

help:
	@echo "Targets, with what each costs on 2 cores (first run: install ~7 min, once):"
	@echo "  make book        execute every chapter on the archived model answers, render"
	@echo "                   _build/html (minutes; seconds when nothing changed; COLD=1 skips"
	@echo "                   the archive: over an hour with an empty cache)"
	@echo "  make check       lint + the fast tests (no real model, no book): under 2 minutes"
	@echo "  make test        lint, every test (real model, nbval on the chapters), then the"
	@echo "                   site in headless Chromium (~45 min cold; installs the fine-tuning"
	@echo "                   extra, ~2.5 min and 5.7 GB once, and Debian's chromium + Noto fonts)"
	@echo "  make bench       the harness against llama.cpp's own tools, kernels and batching"
	@echo "                   (~15 min, plus ~6 min per llama.cpp build, once)"
	@echo "  make bench-book  whole-book costs: a cold build in a scratch copy (~95 min)"
	@echo "  make finetune    retrain the committed LoRA adapters (installs the extra)"
	@echo "  make notebooks   re-sync .md -> .ipynb and store fresh outputs (after editing)"
	@echo "  make lint        ruff (library, tests, chapters) + format check + mypy"
	@echo "  make format      ruff format and fixes"
	@echo "  make clean       remove the built site, its execution cache and results/"

$(STAMP): pyproject.toml requirements/chat-model.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(CMAKE_ARGS) -DLLAVA_BUILD=OFF" $(BIN)/python -m pip install --quiet \
	  --no-cache-dir --no-binary llama-cpp-python "$(LLAMA_CPP_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/chat-model.txt
	$(BIN)/python -c "from reportlib.backends.specs import default_model_path as p; print('model:', p())"
	$(BIN)/python -c "from reportlib.backends.specs import embedded_chat_model_path as p; print('chat model:', p())"
	touch $(STAMP)

install: $(STAMP)

$(FT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,finetune]"
	touch $(FT_STAMP)

finetune: $(FT_STAMP)
	$(BIN)/reportlib finetune --overwrite

# jupyter-book build . -n -W --keep-going, with each chapter's start, end, estimate and
# progress on the terminal (never on the pages), and the costliest chapters at the end
# The model answers come from the archive the chapters' stored outputs were made with
# (book/data/model-answers.jsonl.gz, restored into the result cache first); `make book COLD=1`
# computes every answer the cache does not hold (about 80 min on 2 cores from an empty cache)
book: $(STAMP)
	$(if $(COLD),,$(BIN)/reportlib answers restore)
	$(BIN)/reportlib book
	@echo "open _build/html/index.html"

# the fast loop: lint and the tests that need neither the real model nor a book build
check: lint
	$(BIN)/python -m pytest -q -m "not model and not slow and not browser" --durations=5

# then the built site in a real browser (tests/browser): every page at 1280 and 412 px,
# screenshots in _build/screenshots
# Each phase is timed; the breakdown is printed at the end (and when a phase fails). The book
# is built before nbval, so nbval's chapters find the model's answers in the result cache.
PHASES := _build/test-phases.tsv
define timed
	@mkdir -p _build; start=$$(date +%s); $(2); code=$$?; \
	printf '%s\t%s\n' "$(1)" "$$(( $$(date +%s) - start ))" >> $(PHASES); \
	if [ $$code -ne 0 ]; then $(MAKE) --no-print-directory test-phases; fi; exit $$code
endef

test:
	@mkdir -p _build && : > $(PHASES)
	$(call timed,installs,$(MAKE) --no-print-directory $(FT_STAMP) browser)
	$(call timed,lint,$(MAKE) --no-print-directory lint)
	$(call timed,answers,$(BIN)/reportlib answers restore)
	$(call timed,unit tests,$(BIN)/python -m pytest tests --ignore=tests/browser)
	$(call timed,site build,$(MAKE) --no-print-directory book)
	$(call timed,nbval,$(BIN)/python -m pytest --nbval --nbval-cell-timeout=1800 notebooks)
	$(call timed,browser,$(BIN)/python -m pytest -m browser tests/browser)
	@$(MAKE) --no-print-directory test-phases

# the time each phase of the last `make test` took (2 cores; the machine is named by `lscpu`)
test-phases:
	@echo "make test, by phase ($$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)):"
	@awk -F'\t' '{ t += $$2; printf "  %-12s %6.1f min\n", $$1, $$2 / 60 } \
	  END { printf "  %-12s %6.1f min\n", "total", t / 60 }' $(PHASES)

# Debian's chromium for the site test (Playwright drives it; no browser is downloaded), and
# Noto fonts so that the screenshots show every script of the book (Hangul, Thai, Ge'ez, ...)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "Noto Sans CJK" \
	  && fc-list 2>/dev/null | grep -q "Noto Sans Thai"; } || { \
	  echo "installing Debian's chromium and Noto fonts for the site test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install \
	  -y -qq --no-install-recommends chromium fonts-noto-core fonts-noto-cjk >/dev/null \
	  || { echo "could not install chromium and fonts-noto-core/-cjk with apt-get: install" \
	  "them (as root) and rerun; the site test needs them"; exit 1; }; }

bench: $(STAMP) $(LLAMA_BATCHED_BENCH) $(KERNEL_BENCHES)
	$(BIN)/reportlib bench --output results/bench.json --kernel-record book/data/kernel-bench.json \
	  --batched-record book/data/batched-bench.json

# llama.cpp's own tools, built from the llama.cpp sources inside the pinned llama-cpp-python
# sdist: $(call build_llama_cpp,BUILD_DIR,CMAKE_ARGS,TARGETS); the one recipe for every build
define build_llama_cpp
	rm -rf $(1) && mkdir -p $(1)
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: "$(LLAMA_CPP_PIN)" -d $(1)
	tar -xzf $(1)/llama_cpp_python-*.tar.gz -C $(1)
	cmake -S $(1)/llama_cpp_python-*/vendor/llama.cpp -B $(1)/build -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release $(2) -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
	  -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF > $(1).log
	cmake --build $(1)/build --target $(3) -j 2 >> $(1).log
endef

# llama-bench and llama-batched-bench, portable (the library's own flags), ~6 min once
llama-bench: $(LLAMA_BATCHED_BENCH)

$(LLAMA_BATCHED_BENCH): $(STAMP)
	$(call build_llama_cpp,$(LB_BUILD),$(CMAKE_ARGS) -DBUILD_SHARED_LIBS=OFF,llama-bench llama-batched-bench llama-simple)
	mkdir -p $(dir $(LLAMA_BENCH)) && cp $(LB_BUILD)/build/bin/llama-bench $(LLAMA_BENCH)
	cp $(LB_BUILD)/build/bin/llama-batched-bench $(LLAMA_BATCHED_BENCH)
	cp $(LB_BUILD)/build/bin/llama-simple $(dir $(LLAMA_BENCH))
	rm -rf $(LB_BUILD) $(LB_BUILD).log

# The CPU's kernels compared (make bench): llama-bench built two more ways from the same
# sources. native: -march=native for this CPU with AMX switched off (AMX crashed where the
# sandbox does not grant its tile state); cpu-variants: ggml's runtime dispatch
# (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS, as llama.cpp's release builds), every x86 variant
# up to AVX-512; the AMX one (sapphirerapids) is deleted after the build, so it can never be
# picked.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
KERNEL_ARGS_native := -DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=$(NO_AMX)" "-DCMAKE_CXX_FLAGS=$(NO_AMX)" \
  -DBUILD_SHARED_LIBS=OFF
KERNEL_ARGS_cpu-variants := -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON \
  -DBUILD_SHARED_LIBS=ON "-DCMAKE_BUILD_RPATH=\$$ORIGIN"
KERNEL_TARGETS_native := llama-bench llama-simple
KERNEL_TARGETS_cpu-variants := llama-bench llama-simple ggml-cpu-x64 ggml-cpu-sse42 ggml-cpu-haswell \
  ggml-cpu-skylakex ggml-cpu-icelake ggml-cpu-zen4 ggml-cpu-alderlake

kernel-benches: $(KERNEL_BENCHES)

$(VENV)/llama-bench/%/llama-bench: $(STAMP)
	$(call build_llama_cpp,$(LB_BUILD)-$*,$(KERNEL_ARGS_$*),$(KERNEL_TARGETS_$*))
	rm -rf $(dir $@) && mkdir -p $(dir $@)
	cp $(LB_BUILD)-$*/build/bin/llama-bench $(LB_BUILD)-$*/build/bin/llama-simple $(dir $@)
	find $(LB_BUILD)-$*/build/bin -name '*.so*' -exec cp -P {} $(dir $@) \;
	rm -f $(dir $@)libggml-cpu-sapphirerapids.so  # the AMX variant: never loadable
	rm -rf $(LB_BUILD)-$* $(LB_BUILD)-$*.log

bench-book: $(STAMP)
	$(BIN)/reportlib bench --book --output book/data/book-bench.json

# ruff on the library, the tests and the chapters' code (the paired .ipynb, kept in sync with
# the .md by a test), and mypy on the library
lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks book/_ext
	$(BIN)/ruff format --check src tests book/_ext
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests book/_ext
	$(BIN)/ruff check --fix src tests

sync: $(STAMP)
	$(BIN)/jupytext --sync $(NOTEBOOKS)

# ... and archive the model answers they asked for (book/data/model-answers.jsonl.gz), so that
# make book and make test render these outputs' answers without recomputing them
notebooks: sync
	@mkdir -p _build && : > _build/cache-access.log
	REPORTLIB_CACHE_LOG=$(CURDIR)/_build/cache-access.log \
	  $(BIN)/python -m reportlib.site.chapters $(NOTEBOOKS:.md=.ipynb)
	$(BIN)/reportlib answers export
	$(BIN)/jupytext --sync $(NOTEBOOKS)

clean:
	rm -rf _build results
