"""memview.memoryview against the builtin memoryview and NumPy, on the same
objects.  Prints "key<TAB>seconds" (median over reps of one call), keys
py.<case>.<builtin|memview|numpy>; bench/report.py makes the table.

    PYTHONPATH=<build>/python python3 bench/bench_py.py [--quick]
"""
import statistics
import sys
import timeit

import numpy as np

import memview

QUICK = "--quick" in sys.argv
MIB = 1 << 20


def case(name, reps, g, **stmts):
    """Time each statement in turn within every rep (interleaved, so that
    drift on a shared machine hits them alike); print medians per call.
    Each timed batch follows >= 5 ms of the same statement, untimed: the
    first ~3 ms of memory traffic after a compute-bound stretch run at
    half speed on this VM (bench_c.c's run_case says more)."""
    reps = max(1, reps // 3) if QUICK else reps
    # Statements (not callables) so that timeit's loop adds nothing per call.
    timers = {k: timeit.Timer(s, globals=g) for k, s in stmts.items()}
    number, warm = {}, {}
    for k, t in timers.items():
        t.timeit(1)  # warm
        # Enough calls per rep for ~20 ms, at least one.
        one = t.timeit(1)
        number[k] = max(1, int(0.02 / max(one, 1e-9)))
        warm[k] = max(1, int(0.005 / max(one, 1e-9)))
    times = {k: [] for k in timers}
    for _ in range(reps):
        for k, t in timers.items():
            t.timeit(warm[k])
            times[k].append(t.timeit(number[k]) / number[k])
    for k in timers:
        print(f"py.{name}.{k}\t{statistics.median(times[k]):.9g}", flush=True)


def main():
    rng = np.random.default_rng(1)
    print(f"# numpy\t{np.__version__}")

    small = bytearray(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    bm, mm, nm = memoryview(small), memview.memoryview(small), np.frombuffer(small, np.uint8)
    # Both constructors are plain globals: "memview.memoryview(small)" would
    # also time a module attribute lookup that the builtin does not pay.
    g = dict(small=small, bm=bm, mm=mm, nm=nm, memoryview=memoryview, memview=memview, np=np,
             mv_memoryview=memview.memoryview)

    def run(name, reps, **stmts):
        case(name, reps, g, **stmts)

    run("create", 9, builtin="memoryview(small)", memview="mv_memoryview(small)",
        numpy="np.frombuffer(small, np.uint8)")
    run("slice", 9, builtin="bm[1:1000:2]", memview="mm[1:1000:2]", numpy="nm[1:1000:2]")
    run("item", 9, builtin="bm[100]", memview="mm[100]", numpy="nm[100]")
    run("cast", 9, builtin="bm.cast('d')", memview="mm.cast('d')", numpy="nm.view(np.float64)")
    run("hex4k", 9, builtin="bm.hex()", memview="mm.hex()", numpy="nm.tobytes().hex()")

    d = np.arange(1 << 20, dtype=np.float64) * 0.25
    g.update(bd=memoryview(d), md=memview.memoryview(d), d=d)
    run("tolist1m", 5, builtin="bd.tolist()", memview="md.tolist()", numpy="d.tolist()")

    big = rng.integers(0, 256, 64 * MIB, dtype=np.uint8)
    g.update(bbig=memoryview(big), mbig=memview.memoryview(big), big=big)
    run("hex64m", 3, builtin="bbig.hex()", memview="mbig.hex()", numpy="big.tobytes().hex()")

    a = big[:16 * MIB].copy()
    b = a.copy()
    g.update(a=a, b=b, ba=memoryview(a), bb=memoryview(b),
             ma=memview.memoryview(a), mb=memview.memoryview(b))
    run("eq_B16m", 5, builtin="ba == bb", memview="ma == mb", numpy="np.array_equal(a, b)")
    ai, bi = a.view(np.int32)[::2], b.view(np.int32)[::2]
    g.update(ai=ai, bi=bi, bai=memoryview(ai), bbi=memoryview(bi),
             mai=memview.memoryview(ai), mbi=memview.memoryview(bi))
    run("eq_i_step2", 5, builtin="bai == bbi", memview="mai == mbi",
        numpy="np.array_equal(ai, bi)")
    le = a[:MIB].view("<i4")
    be = le.astype(">i4")
    g.update(le=le, be=be, ble=memoryview(le), bbe=memoryview(be),
             mle=memview.memoryview(le), mbe=memview.memoryview(be))
    assert memoryview(be).format == ">i"  # and "i" (native little-endian) for le
    run("eq_le_be_1m", 5, builtin="ble == bbe", memview="mle == mbe",
        numpy="np.array_equal(le, be)")
    da = np.arange(2 * MIB, dtype=np.float64)
    da[-1] = np.nan
    db = da.copy()
    g.update(da=da, db=db, bda=memoryview(da), bdb=memoryview(db),
             mda=memview.memoryview(da), mdb=memview.memoryview(db))
    run("eq_d_nan16m", 5, builtin="bda == bdb", memview="mda == mdb",
        numpy="np.array_equal(da, db)")

    for code, dt in (("B", np.uint8), ("H", np.uint16), ("I", np.uint32), ("Q", np.uint64)):
        for step in (2, 3, 8):
            s = big.view(dt)[::step]
            g.update(s=s, bs=memoryview(big).cast(code)[::step],
                     ms=memview.memoryview(big).cast(code)[::step])
            run(f"copy_{code}_step{step}", 3, builtin="bs.tobytes()", memview="ms.tobytes()",
                numpy="s.tobytes()")

    img = big[:16 * MIB].reshape(4096, 4096)
    mimg = memview.memoryview(img)
    for name, key in (("rect_1024_3072", (slice(1024, 3072), slice(1024, 3072))),
                      ("rect_cols64", (slice(None), slice(1000, 1064))),
                      ("rect_colstep2", (slice(None), slice(None, None, 2)))):
        # The builtin cannot slice in 2-D: it gets NumPy's sub-array.
        sub = img[key]
        g.update(sub=sub, bsub=memoryview(sub), msub=mimg[key])
        run(name, 5, builtin="bsub.tobytes()", memview="msub.tobytes()", numpy="sub.tobytes()")


if __name__ == "__main__":
    main()
