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
# reused. So llama-cpp-python is always built here, from source, without the cache.
LLAMA_CPP_PIN := llama-cpp-python==0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK = 1

NOTEBOOKS := $(wildcard notebooks/*.md)
LLAMA_BENCH := $(VENV)/llama-bench/llama-bench
LLAMA_BATCHED_BENCH := $(VENV)/llama-bench/llama-batched-bench
LB_BUILD := $(VENV)/llama-bench-build
KERNEL_BENCHES := $(VENV)/llama-bench/native/llama-bench $(VENV)/llama-bench/cpu-variants/llama-bench

.PHONY: help install book test browser bench bench-book llama-bench kernel-benches finetune lint format notebooks sync clean

help:
	@echo "make book       install (first time), execute every chapter, render _build/html"
	@echo "make test       install (first time), run the unit tests and nbval on the notebooks, then"
	@echo "                build the site and check every page in headless Chromium (installs"
	@echo "                Debian's chromium and Noto fonts with apt-get if missing)"
	@echo "make bench      the harness against raw llama.cpp (llama-bench and llama-batched-bench,"
	@echo "                built once from the pinned llama-cpp-python sdist): results/bench.json,"
	@echo "                book/data/kernel-bench.json and book/data/batched-bench.json"
	@echo "make bench-book whole-book costs (a cold build in a scratch copy, ~30 min):"
	@echo "                book/data/book-bench.json, shown on the Performance page"
	@echo "make finetune   train the Korean LoRA adapter (installs the fine-tuning extra; ~10 min):"
	@echo "                src/reportlib/data/finetune/korean-lora.{gguf,json}, committed"
	@echo "make notebooks  re-sync .md -> .ipynb and store fresh outputs (after editing a chapter)"
	@echo "make lint       ruff (library, tests, chapters) + format check + mypy (make test runs it)"
	@echo "make clean      remove the built site and its execution cache"

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-cache-dir --no-binary llama-cpp-python "$(LLAMA_CPP_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -c "from reportlib.backends.specs import default_model_path as p; print('model:', p())"
	touch $(STAMP)

install: $(STAMP)

$(FT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,finetune]"
	touch $(FT_STAMP)

finetune: $(FT_STAMP)
	$(BIN)/reportlib finetune

book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo "open _build/html/index.html"

# then the built site in a real browser (tests/browser): every page at 1280 and 412 px,
# screenshots in _build/screenshots
test: lint $(FT_STAMP)
	$(BIN)/python -m pytest --nbval --nbval-cell-timeout=1800 tests notebooks --ignore=tests/browser
	$(MAKE) browser
	$(MAKE) book
	$(BIN)/python -m pytest tests/browser

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

# llama.cpp's own llama-bench and llama-batched-bench, from the llama.cpp sources inside the
# pinned llama-cpp-python sdist (fetched by pip, built in a temporary folder with the same
# portable flags, ~6 min once); both come from one build
llama-bench: $(LLAMA_BATCHED_BENCH)

$(LLAMA_BATCHED_BENCH): $(STAMP)
	rm -rf $(LB_BUILD) && mkdir -p $(LB_BUILD)
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: "$(LLAMA_CPP_PIN)" -d $(LB_BUILD)
	tar -xzf $(LB_BUILD)/llama_cpp_python-*.tar.gz -C $(LB_BUILD)
	cmake -S $(LB_BUILD)/llama_cpp_python-*/vendor/llama.cpp -B $(LB_BUILD)/build -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
	  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF > $(LB_BUILD).log
	cmake --build $(LB_BUILD)/build --target llama-bench llama-batched-bench llama-simple -j 2 \
	  >> $(LB_BUILD).log
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
	rm -rf $(LB_BUILD)-$* && mkdir -p $(LB_BUILD)-$*
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: "$(LLAMA_CPP_PIN)" -d $(LB_BUILD)-$*
	tar -xzf $(LB_BUILD)-$*/llama_cpp_python-*.tar.gz -C $(LB_BUILD)-$*
	cmake -S $(LB_BUILD)-$*/llama_cpp_python-*/vendor/llama.cpp -B $(LB_BUILD)-$*/build -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release $(KERNEL_ARGS_$*) -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
	  -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF > $(LB_BUILD)-$*.log
	cmake --build $(LB_BUILD)-$*/build --target $(KERNEL_TARGETS_$*) -j 2 >> $(LB_BUILD)-$*.log
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

notebooks: sync
	$(BIN)/python -m reportlib.site.chapters $(NOTEBOOKS:.md=.ipynb)
	$(BIN)/jupytext --sync $(NOTEBOOKS)

clean:
	rm -rf _build results
