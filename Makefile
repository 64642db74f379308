# memview: the two commands are `make run` and `make test`.
# Each checks for the Debian packages it needs and installs what is missing
# when run as root (otherwise it prints the apt-get line and stops).

BUILD       ?= build
BUILD_CLANG ?= build-clang
BUILD_ASAN  ?= build-asan
BUILD_TSAN  ?= build-tsan
MESON_TEST  = meson test --print-errorlogs --num-processes 2

DEPS = gcc clang make meson ninja-build pkg-config libcmocka-dev valgrind

VALGRIND = valgrind --quiet --error-exitcode=1 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible

.PHONY: all run test deps build test-gcc test-clang test-asan test-tsan test-valgrind clean

all: build

deps:
	@./scripts/deps.sh $(DEPS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(BUILD_CLANG)/build.ninja:
	CC=clang meson setup $(BUILD_CLANG) --buildtype=debugoptimized

$(BUILD_TSAN)/build.ninja:
	meson setup $(BUILD_TSAN) --buildtype=debug -Db_sanitize=thread -Db_lundef=false

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) --buildtype=debug -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fno-sanitize-recover=all

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/quickstart

# gcc build and tests, clang build (-Werror) and tests, the C suite under
# ASan+UBSan, the concurrent test under TSan, then the C suite under
# valgrind memcheck.
test: deps test-gcc test-clang test-asan test-tsan test-valgrind
	@echo "make test: all suites passed"

test-gcc: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON_TEST) -C $(BUILD)

test-clang: $(BUILD_CLANG)/build.ninja
	ninja -C $(BUILD_CLANG)
	$(MESON_TEST) -C $(BUILD_CLANG) --suite c

test-asan: $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON_TEST) -C $(BUILD_ASAN) --suite c

test-tsan: $(BUILD_TSAN)/build.ninja
	ninja -C $(BUILD_TSAN) tests/test_threads
	TSAN_OPTIONS=halt_on_error=1 $(MESON_TEST) -C $(BUILD_TSAN) --no-rebuild threads

test-valgrind: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON_TEST) -C $(BUILD) --suite c --wrapper '$(VALGRIND)' --timeout-multiplier 4

clean:
	rm -rf $(BUILD) $(BUILD_CLANG) $(BUILD_ASAN) $(BUILD_TSAN)
