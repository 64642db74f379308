#!/bin/sh
# Usage: bench/run.sh BUILD_DIR PYTHON [--quick]
# Runs bench_c, bench_py.py and the callgrind counts, then bench/report.py:
# prints the table and writes bench/results/table.md and chart.png.
set -e
build=$1 python=$2 quick=$3
here=$(cd "$(dirname "$0")" && pwd)
res=$here/results
mkdir -p "$res"
rm -rf "$res/callgrind.tmp" && mkdir -p "$res/callgrind.tmp"
echo "bench: C API vs libmemview (bench_c) ..."
"$build/bench/bench_c" $quick > "$res/c.tmp"
echo "bench: builtin vs memview vs NumPy (bench_py.py) ..."
PYTHONPATH="$build/python" "$python" "$here/bench_py.py" $quick > "$res/py.tmp"
# valgrind cannot execute AVX-512: the AVX2 kernels are the ones counted.
echo "bench: instructions per item (callgrind, MEMVIEW_ISA=avx2) ..."
MEMVIEW_ISA=avx2 valgrind --tool=callgrind --callgrind-out-file="$res/callgrind.tmp/callgrind.out" \
    "$build/bench/bench_c" --callgrind > /dev/null 2> "$res/callgrind.tmp/log"
"$python" "$here/report.py" "$res"
