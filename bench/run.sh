#!/bin/sh
# Usage: bench/run.sh BUILD_DIR PYTHON [--quick]
# Runs bench_c, bench_py.py, bench_ops.py (every operation of the Python type,
# timed, then counted under callgrind) and the callgrind counts of bench_c,
# then bench/report.py: prints the table and writes bench/results/table.md
# (with bench_ops.py's ops.md in it) and chart.png.
set -e
build=$1 python=$2 quick=$3
here=$(cd "$(dirname "$0")" && pwd)
res=$here/results
mkdir -p "$res"
rm -rf "$res/callgrind.tmp" && mkdir -p "$res/callgrind.tmp"
rm -rf "$res/ops.tmp" "$res/ops_cg.tmp" "$res/ops_goals.tmp" "$res/ops_callgrind.tmp" "$res/ops.md"
echo "bench: C API vs libmemview (bench_c) ..."
"$build/bench/bench_c" $quick > "$res/c.tmp"
echo "bench: builtin vs memview vs NumPy (bench_py.py) ..."
PYTHONPATH="$build/python" "$python" "$here/bench_py.py" $quick > "$res/py.tmp"
# Each pass writes ops.md from what both have measured so far; report.py
# includes it.  The table goes to ops.md, not the terminal.
echo "bench: every operation of memview.memoryview vs the builtin (bench_ops.py) ..."
PYTHONPATH="$build/python" "$python" "$here/bench_ops.py" $quick --out "$res" > /dev/null
echo "bench: instructions per call of those operations (bench_ops.py --callgrind) ..."
PYTHONPATH="$build/python" "$python" "$here/bench_ops.py" --callgrind $quick --out "$res" > /dev/null
# valgrind cannot execute AVX-512: the AVX2 kernels are the ones counted.
echo "bench: instructions per item (callgrind, MEMVIEW_ISA=avx2) ..."
MEMVIEW_ISA=avx2 valgrind --tool=callgrind --callgrind-out-file="$res/callgrind.tmp/callgrind.out" \
    "$build/bench/bench_c" --callgrind > /dev/null 2> "$res/callgrind.tmp/log"
"$python" "$here/report.py" "$res"
