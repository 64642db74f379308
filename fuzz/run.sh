#!/bin/sh
# Usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]
#
# Runs every libFuzzer target built in BUILD_DIR (meson -Dfuzz=true, see
# fuzz/meson.build) for SECONDS once per SIMD level in FUZZ_ISAS (default:
# portable ssse3 avx2 avx512; each run sets MEMVIEW_ISA, so the kernels
# most CPUs execute are fuzzed too, not only the best this machine has; a
# level the CPU lacks falls back to the best below it and is skipped),
# FUZZ_JOBS runs at a time (default: the number of CPUs), and fails if any
# run finds a crash, a leak, a timeout or a broken check.  FUZZ_TARGETS
# narrows the set (names without "fuzz_").
#
# Each run (target, level) grows its own corpus inside BUILD_DIR
# (fuzz-work/<name>/corpus-<level>), starting from the seeds in
# fuzz/corpus/<name> and every input in fuzz/regressions/<name>, which it
# reads but never writes, so the repository stays clean and the runs of
# one target never delete each other's inputs.  "fresh" (the default; make
# test-fuzz) starts from the seeds every time; "keep" (make fuzz) keeps the
# corpus grown by earlier runs.  Crash inputs are written to
# BUILD_DIR/fuzz-work/<name>/artifacts-<level>/; copy one into
# fuzz/regressions/<name>/ to keep it.
set -u

build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [fresh|keep]}
mode=${3:-fresh}
src=$(cd "$(dirname "$0")" && pwd)
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
isas=${FUZZ_ISAS:-portable ssse3 avx2 avx512}

targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
    for exe in "$build"/fuzz/fuzz_*; do
        [ -f "$exe" ] && [ -x "$exe" ] && targets="$targets ${exe##*/fuzz_}"
    done
fi
if [ -z "$targets" ]; then
    echo "fuzz/run.sh: no fuzz targets in $build/fuzz (configure $build with CC=clang -Dfuzz=true)" >&2
    exit 1
fi
for t in $targets; do
    if [ ! -x "$build/fuzz/fuzz_$t" ] || [ ! -d "$src/corpus/$t" ]; then
        echo "fuzz/run.sh: fuzz_$t needs $build/fuzz/fuzz_$t and seeds in $src/corpus/$t" >&2
        exit 1
    fi
done

# The levels this CPU has: the library caps MEMVIEW_ISA at the best level
# it detects, so a higher one would only repeat that level's run.
have="portable"
if grep -qw ssse3 /proc/cpuinfo 2>/dev/null; then have="$have ssse3"; fi
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then have="$have avx2"; fi
if grep -qw avx512bw /proc/cpuinfo 2>/dev/null && grep -qw avx512vbmi /proc/cpuinfo; then
    have="$have avx512"
fi
levels=""
for i in $isas; do
    case " $have " in
    *" $i "*) levels="$levels $i" ;;
    *) echo "fuzz/run.sh: MEMVIEW_ISA=$i: this CPU lacks it, not run" ;;
    esac
done

# LeakSanitizer after every input; UBSan reports abort (the library is built
# with -fno-sanitize-recover=all), which libFuzzer records as a crash.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

for t in $targets; do
    work="$build/fuzz-work/$t"
    if [ "$mode" != keep ]; then
        rm -rf "$work"
    fi
    for isa in $levels; do
        mkdir -p "$work/corpus-$isa" "$work/artifacts-$isa"
        rm -f "$work/artifacts-$isa/"* "$work/log-$isa"
    done
done

# One run: target, level.
run_one() {
    t=$1 isa=$2
    work="$build/fuzz-work/$t"
    dirs="$work/corpus-$isa $src/corpus/$t"
    if [ -d "$src/regressions/$t" ] && [ -n "$(ls -A "$src/regressions/$t")" ]; then
        dirs="$dirs $src/regressions/$t"
    fi
    # shellcheck disable=SC2086 # dirs is a list
    MEMVIEW_ISA=$isa "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=30 -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts-$isa/" \
        $dirs >"$work/log-$isa" 2>&1
    rc=$?
    log="$work/log-$isa"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz_$t [$isa]: ${runs:-?} executions in ${seconds}s (${rate:-?}/s), ${cov:-cov: ?}, ${units:-0} new inputs, no crashes"
    else
        echo "fuzz_$t [$isa]: FAILED (exit $rc) after ${runs:-?} executions; log $log:"
        grep -m 1 'Seed:' "$log"
        grep -v '^#' "$log" | tail -n 60
        for a in "$work/artifacts-$isa/"*; do
            [ -e "$a" ] && echo "fuzz_$t: reproducer $a (run: MEMVIEW_ISA=$isa $build/fuzz/fuzz_$t $a)"
        done
        return 1
    fi
}

# FUZZ_JOBS runs at a time; a batch ends when its slowest run does (all run
# for the same time, so nothing waits long).
status=0
n=0
pids=""
for t in $targets; do
    for isa in $levels; do
        run_one "$t" "$isa" &
        pids="$pids $!"
        n=$((n + 1))
        if [ "$n" -ge "$jobs" ]; then
            for p in $pids; do wait "$p" || status=1; done
            n=0
            pids=""
        fi
    done
done
for p in $pids; do wait "$p" || status=1; done
for t in $targets; do
    n=$(find "$build/fuzz-work/$t" -path '*/corpus-*' -type f | wc -l)
    echo "fuzz_$t: corpus of $n inputs (all levels together)"
done
exit $status
