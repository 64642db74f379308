# memview: the two commands are `make run` and `make test`.
# Each checks for the Debian packages it needs and installs what is missing
# when run as root (otherwise it prints the apt-get line and stops).

BUILD       ?= build
BUILD_CLANG ?= build-clang
BUILD_ASAN  ?= build-asan
BUILD_TSAN  ?= build-tsan
BUILD_FUZZ  ?= build-fuzz
BUILD_BENCH ?= build-bench
# scripts/cross.sh puts each architecture's cross file and build here.
BUILD_CROSS ?= build-cross
CROSS_ARCHS ?= s390x aarch64
# Seconds per libFuzzer target and SIMD level for `make fuzz`.
FUZZ_SECONDS ?= 150
MESON_TEST  = meson test --print-errorlogs --num-processes 2
# The interpreter the Python module is built for and tested with: Debian's,
# named by path so that no other python3 on PATH is picked.
PYTHON      ?= /usr/bin/python3

DEPS = gcc clang libclang-rt-14-dev make meson ninja-build pkg-config libcmocka-dev valgrind
# mview's tests compare its dump with xxd's.
DEPS += xxd
# The Python module (python/) and its tests, including CPython's own
# test_buffer / test_memoryview and _testbuffer (libpython3.11-testsuite).
DEPS += python3-dev python3-numpy python3-hypothesis python3-pytest \
	python3-mesonpy libpython3.11-testsuite python3-venv

# `make test-cross`: Debian's cross compilers, qemu-user, and cmocka for each
# target from Debian's multiarch archive (deps.sh adds the architecture).
CROSS_DEPS = make meson ninja-build pkg-config python3 qemu-user gcc-s390x-linux-gnu gcc-aarch64-linux-gnu \
	libcmocka-dev:s390x libcmocka-dev:arm64 python3-numpy python3-pytest python3-hypothesis

# `make bench` only: the chart (gnuplot), the NumPy column, callgrind.
BENCH_DEPS = gcc make meson ninja-build pkg-config python3-dev python3-numpy valgrind gnuplot-nox

VALGRIND = valgrind --quiet --error-exitcode=1 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible

.PHONY: all run test deps bench-deps build test-gcc test-clang test-asan test-tsan test-valgrind clean
.PHONY: test-python test-python-asan
.PHONY: test-fuzz fuzz bench test-cross test-long

all: build

deps:
	@./scripts/deps.sh $(DEPS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized -Dpython=$(PYTHON)

$(BUILD_CLANG)/build.ninja:
	CC=clang meson setup $(BUILD_CLANG) --buildtype=debugoptimized -Dpython=$(PYTHON)

$(BUILD_TSAN)/build.ninja:
	meson setup $(BUILD_TSAN) --buildtype=debug -Db_sanitize=thread -Db_lundef=false \
		-Dpython=$(PYTHON)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dpython=$(PYTHON)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The mview demo on the sample files in examples/ (examples/demo.sh).
run: build
	./examples/demo.sh ./$(BUILD)/mview

# gcc build and tests, clang build (-Werror) and tests, the C suite under
# ASan+UBSan, the concurrent test under TSan, then the C suite under
# valgrind memcheck; then the Python module: CPython's memoryview tests,
# the pytest suites and a pip install, and both suites again under ASan+UBSan;
# last, the C suites and mview's on big-endian s390x and on aarch64.
test: deps test-gcc test-clang test-asan test-tsan test-fuzz test-valgrind test-python test-python-asan \
	test-cross
	@echo "make test: all suites passed"

test-gcc: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON_TEST) -C $(BUILD)

test-clang: $(BUILD_CLANG)/build.ninja
	ninja -C $(BUILD_CLANG)
	$(MESON_TEST) -C $(BUILD_CLANG) --suite c --suite isa

test-asan: $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON_TEST) -C $(BUILD_ASAN) --suite c --suite isa --suite cli

test-tsan: $(BUILD_TSAN)/build.ninja
	ninja -C $(BUILD_TSAN) tests/test_threads
	TSAN_OPTIONS=halt_on_error=1 $(MESON_TEST) -C $(BUILD_TSAN) --no-rebuild threads

# libFuzzer targets (fuzz/): clang, the library instrumented for coverage
# under ASan+UBSan.  test-fuzz runs each target briefly from its seed
# corpus plus fuzz/regressions/ and fails on any crash, leak or failed
# check; `make fuzz` runs them FUZZ_SECONDS each, keeping the corpus.
$(BUILD_FUZZ)/build.ninja:
	@./scripts/deps.sh clang libclang-rt-14-dev
	CC=clang meson setup $(BUILD_FUZZ) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
		-Dpython_ext=disabled -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fno-sanitize-recover=all -fsanitize=fuzzer-no-link'

# Every target once per SIMD level (MEMVIEW_ISA: portable, ssse3, avx2,
# avx512 where the CPU has them), FUZZ_TEST_SECONDS each; then the targets
# that reach the copy and hex kernels again with every large output
# streaming (MEMVIEW_STREAM_MIN=0: otherwise only 48 MiB inputs stream).
FUZZ_TEST_SECONDS ?= 8
test-fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	./fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_TEST_SECONDS) fresh
	MEMVIEW_STREAM_MIN=0 FUZZ_TARGETS="view_ops mview" FUZZ_ISAS="ssse3 avx2 avx512" \
		./fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_TEST_SECONDS) fresh

# FUZZ_SECONDS per target and level, the corpus kept between runs.
fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	./fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) keep

# Cross-built for each of CROSS_ARCHS and run under qemu-user
# (scripts/cross.sh): every C suite, the quickstart and the mview suite.
test-cross:
	@./scripts/deps.sh $(CROSS_DEPS)
	@for arch in $(CROSS_ARCHS); do \
		echo "== $$arch (qemu-user)"; \
		./scripts/cross.sh $$arch $(BUILD_CROSS) || exit 1; \
	done

test-valgrind: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	MEMVIEW_ISA=avx2 $(MESON_TEST) -C $(BUILD) --suite c --wrapper '$(VALGRIND)' --timeout-multiplier 4

# Build dirs configured before the 'python' option existed (or for another
# interpreter) are reconfigured for $(PYTHON) first.
define use_python
	@meson introspect --buildoptions $(1) 2>/dev/null | $(PYTHON) -c 'import json, sys; \
		sys.exit(not any(o["name"] == "python" and o["value"] == sys.argv[1] \
		for o in json.load(sys.stdin)))' '$(PYTHON)' \
		|| meson setup --reconfigure $(1) -Dpython=$(PYTHON) >/dev/null
endef

PYTEST = -m pytest -q -p no:cacheprovider tests/python

# CPython's test_memoryview / test_buffer with memview.memoryview
# (tests/python/run_cpython_tests.py), the pytest suites, then the package
# as a user gets it: `pip install --no-build-isolation .` into a scratch venv.
test-python: $(BUILD)/build.ninja
	$(call use_python,$(BUILD))
	ninja -C $(BUILD)
	PYTHONPATH=$(CURDIR)/$(BUILD)/python $(PYTHON) tests/python/run_cpython_tests.py
	PYTHONPATH=$(CURDIR)/$(BUILD)/python $(PYTHON) $(PYTEST)
	rm -rf $(BUILD)/pip-venv
	$(PYTHON) -m venv --system-site-packages $(BUILD)/pip-venv
	$(BUILD)/pip-venv/bin/pip install -q --no-index --no-build-isolation .
	rm -f .mesonpy-native-file.ini  # meson-python leaves it in the source tree
	cd / && $(CURDIR)/$(BUILD)/pip-venv/bin/python -c 'import sys, memview; \
		assert memview.__file__.startswith(sys.prefix), memview.__file__; \
		print("pip install: memview.memoryview(b\"ok\").tobytes() =", \
		memview.memoryview(b"ok").tobytes(), "from", memview.__file__)'

# The same suites with the module from the ASan+UBSan build, loaded into the
# uninstrumented interpreter: the ASan runtime preloaded, Python's allocator
# replaced by malloc so ASan sees every object, leaks not checked (the
# interpreter keeps memory at exit).
ASAN_PYTHON = LD_PRELOAD=$$(gcc -print-file-name=libasan.so) PYTHONMALLOC=malloc \
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	PYTHONPATH=$(CURDIR)/$(BUILD_ASAN)/python $(PYTHON)
# Under ASan every Python allocation is checked (about 5x slower): a quarter
# of the Hypothesis examples keeps test-python-asan at a few minutes.
ASAN_HYPOTHESIS_SCALE ?= 0.25

# The Hypothesis suites (Python module and mview) at LONG_SCALE times their
# usual example counts, with new random examples on every run (a failure
# prints the blob that reproduces it); not part of `make test`.
LONG_SCALE ?= 25
test-long: $(BUILD)/build.ninja
	$(call use_python,$(BUILD))
	ninja -C $(BUILD)
	MEMVIEW_HYPOTHESIS_SCALE=$(LONG_SCALE) MEMVIEW_HYPOTHESIS_RANDOM=1 \
		PYTHONPATH=$(CURDIR)/$(BUILD)/python $(PYTHON) $(PYTEST)
	MEMVIEW_HYPOTHESIS_SCALE=$(LONG_SCALE) MEMVIEW_HYPOTHESIS_RANDOM=1 MVIEW=$(CURDIR)/$(BUILD)/mview \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/cli -k random

test-python-asan: $(BUILD_ASAN)/build.ninja
	$(call use_python,$(BUILD_ASAN))
	ninja -C $(BUILD_ASAN)
	$(ASAN_PYTHON) tests/python/run_cpython_tests.py
	MEMVIEW_HYPOTHESIS_SCALE=$(ASAN_HYPOTHESIS_SCALE) $(ASAN_PYTHON) $(PYTEST)

# Benchmarks (bench/): an optimised build (release, as pip builds it) with
# bench_c; prints the table, writes bench/results/table.md and chart.png.
# werror off: -O3 can raise warnings the debugoptimized builds do not.
$(BUILD_BENCH)/build.ninja:
	meson setup $(BUILD_BENCH) --buildtype=release -Dwerror=false -Dtests=false -Dbench=true \
		-Dpython=$(PYTHON)

bench-deps:
	@./scripts/deps.sh $(BENCH_DEPS)

# bench-deps first: meson setup needs python3-dev (and the rest) installed.
bench: bench-deps $(BUILD_BENCH)/build.ninja
	$(call use_python,$(BUILD_BENCH))
	ninja -C $(BUILD_BENCH)
	./bench/run.sh $(BUILD_BENCH) $(PYTHON)

clean:
	rm -rf $(BUILD) $(BUILD_CLANG) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ) $(BUILD_BENCH) \
		$(BUILD_CROSS)
