#!/bin/sh
# Usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]
#
# Runs every libFuzzer target built in BUILD_DIR (meson -Dfuzz=true, see
# fuzz/meson.build) for SECONDS each, all at once, and fails if any of them
# finds a crash, a leak, a timeout or a broken check.  Each target starts
# from a copy of its seed corpus (fuzz/corpus/<name>) inside BUILD_DIR, so
# the repository stays clean, and also runs every input in
# fuzz/regressions/<name>.  "fresh" (the default; make test-fuzz) starts
# from the seeds every time; "keep" (make fuzz) keeps the corpus grown by
# earlier runs.  Crash inputs are written to BUILD_DIR/fuzz-work/<name>/;
# copy one into fuzz/regressions/<name>/ to keep it.
set -u

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]}
mode=${3:-fresh}
src=$(cd "$(dirname "$0")" && pwd)
targets="format subscript view_ops"

for t in $targets; do
    if [ ! -x "$build/fuzz/fuzz_$t" ]; then
        echo "fuzz/run.sh: $build/fuzz/fuzz_$t is missing (configure $build with CC=clang -Dfuzz=true)" >&2
        exit 1
    fi
done

# LeakSanitizer after every input; UBSan reports abort (the library is built
# with -fno-sanitize-recover=all), which libFuzzer records as a crash.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

pids=""
for t in $targets; do
    work="$build/fuzz-work/$t"
    if [ "$mode" != keep ]; then
        rm -rf "$work"
    fi
    mkdir -p "$work/corpus" "$work/artifacts"
    rm -f "$work/artifacts/"* "$work/log"
    cp "$src/corpus/$t/"* "$work/corpus/"
    dirs="$work/corpus"
    if [ -d "$src/regressions/$t" ] && [ -n "$(ls -A "$src/regressions/$t")" ]; then
        dirs="$dirs $src/regressions/$t"
    fi
    # shellcheck disable=SC2086 # dirs is a list
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        $dirs >"$work/log" 2>&1 &
    pids="$pids $!"
done

status=0
set -- $pids
for t in $targets; do
    pid=$1
    shift
    wait "$pid"
    rc=$?
    log="$build/fuzz-work/$t/log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    if [ "$rc" -eq 0 ]; then
        echo "fuzz_$t: ${runs:-?} executions in ${seconds}s (${rate:-?}/s), ${units:-0} new inputs, no crashes"
    else
        status=1
        echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} executions; log $log:"
        grep -v '^#' "$log" | tail -n 60
        for a in "$build/fuzz-work/$t/artifacts/"*; do
            [ -e "$a" ] && echo "fuzz_$t: reproducer $a (run: $build/fuzz/fuzz_$t $a)"
        done
    fi
done
exit $status
