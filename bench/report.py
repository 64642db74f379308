"""Turn bench_c / bench_py output and callgrind dumps into a Markdown table,
each speed goal as reached or not, and a PNG chart (gnuplot).

    python3 report.py RESULTS_DIR

reads RESULTS_DIR/c.tmp, py.tmp, callgrind.tmp/ and writes table.md, chart.png.
Numbers are medians from a shared, noisy machine: nothing here asserts.
"""
import glob
import json
import os
import re
import subprocess
import sys

DIR = sys.argv[1]
R = {}
for name in ("c.tmp", "py.tmp"):
    path = os.path.join(DIR, name)
    if os.path.exists(path):
        for line in open(path):
            if line.startswith("#") or "\t" not in line:
                continue
            k, v = line.rstrip("\n").split("\t")
            R[k] = float(v)


def get(k):
    return R.get(k)


def ratio(num, den):
    a, b = get(num), get(den)
    return a / b if a and b else None


def fmt_t(s):
    if s is None:
        return "–"
    for unit, f in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def fmt_x(x):
    return "–" if x is None else f"{x:.2f}×"


CASES = [
    ("create", "view creation"), ("create_local", "view creation, local exporter"),
    ("slice", "slice [1:1000:2]"), ("slice_local", "slice [1:1000:2], local exporter"),
    ("item", "item get [100] ('B')"),
    ("create_layout", "layout creation (mv_layout_acquire + release)"),
    ("create_layout_local", "layout creation, local exporter"),
    ("slice_layout", "layout select [1:1000:2]"), ("item_layout", "layout item [100] (mv_layout_at1)"),
    ("item_layout_value", "layout item [100] as mv_value"),
    ("cast", "cast('d') of 4 KiB"), ("tolist1m", "tolist, 1M 'd'"),
    ("hex4k", "hex, 4 KiB"), ("hex64m", "hex, 64 MiB"),
    ("eq_B16m", "== 16 MiB 'B'"), ("eq_i_step2", "== 'i'[::2] of 16 MiB"),
    ("eq_le_be_1m", "== '<i' vs '>i', 1 MiB"), ("eq_d_nan16m", "== 'd' with NaN, 16 MiB"),
] + [(f"copy_{c}_step{s}", f"tobytes '{c}'[::{s}] of 64 MiB") for c in "BHIQ" for s in (2, 3, 8)] + [
    (f"assign_{c}_step{s}", f"assign '{c}'[::{s}] of 64 MiB from contiguous")
    for c in "BH" for s in (2, 3)] + [
    ("rect_1024_3072", "tobytes [1024:3072, 1024:3072]"),
    ("rect_cols64", "tobytes [:, 1000:1064]"), ("rect_colstep2", "tobytes [:, ::2]"),
]

out = []
out.append("### C: CPython's C API vs libmemview (same process, same memory)\n")
out.append("Median time per call.  *memview* is `mv_view_tobytes_into` / `mv_view_hex_into` "
           "(into a caller's buffer) where the case copies; *ceiling* is the time to read "
           "the whole span the view covers (64-bit sums; for ==, both operands' spans) divided "
           "by memview's time.  Per-call times include the harness's own call "
           "(see the floor below).\n")
out.append("| case | CPython | memview | speedup | PyBuffer_ToContiguous | ceiling |")
out.append("|---|---:|---:|---:|---:|---:|")
for key, label in CASES:
    cp = get(f"c.{key}.cpython")
    mv = get(f"c.{key}.memview") or get(f"c.{key}.memview_into") or get(f"c.{key}.memview_traverse")
    if cp is None or mv is None:
        continue
    if key == "tolist1m":
        label += " (memview: mv_view_traverse to C values)"
    tc = get(f"c.{key}.cpython_tocontig")
    ceil = get(f"c.{key}.read_span")
    out.append(f"| {label} | {fmt_t(cp)} | {fmt_t(mv)} | {fmt_x(cp / mv)} | {fmt_t(tc)} | "
               f"{fmt_x(ceil / mv) if ceil else '–'} |")
if get("c.span64m.memcpy"):
    n = 64 << 20
    out.append(f"\nPhysical references, 64 MiB: memcpy {fmt_t(get('c.span64m.memcpy'))} "
               f"({n / get('c.span64m.memcpy') / 1e9:.1f} GB/s), read the span "
               f"{fmt_t(get('c.span64m.read_span'))} ({n / get('c.span64m.read_span') / 1e9:.1f} GB/s); "
               f"hex 64 MiB returning a malloc'd string: {fmt_t(get('c.hex64m.memview_alloc'))}, "
               f"hex 4 KiB malloc'd: {fmt_t(get('c.hex4k.memview_alloc'))}; "
               f"the harness's empty call (the floor under every per-call time): "
               f"{fmt_t(get('c.floor.empty'))}.  The 2-D rectangles' 4 MiB "
               f"[1024:3072, 1024:3072]: memcpy in one block "
               f"{fmt_t(get('c.rect_1024_3072.memcpy'))}, one memcpy per row "
               f"{fmt_t(get('c.rect_1024_3072.memcpy_rows'))}, memview "
               f"{fmt_t(get('c.rect_1024_3072.memview_into'))}.\n")

out.append("### Python: `memview.memoryview` vs the builtin `memoryview` vs NumPy (same objects)\n")
out.append("| case | builtin | memview | NumPy | memview vs builtin | memview vs NumPy |")
out.append("|---|---:|---:|---:|---:|---:|")
for key, label in CASES:
    b, m, n = (get(f"py.{key}.{w}") for w in ("builtin", "memview", "numpy"))
    if b is None or m is None:
        continue
    out.append(f"| {label} | {fmt_t(b)} | {fmt_t(m)} | {fmt_t(n)} | {fmt_x(b / m)} | "
               f"{fmt_x(n / m) if n else '–'} |")
out.append("\nNumPy's hex is `a.tobytes().hex()`; the builtin cannot slice in 2-D, so it is "
           "timed on NumPy's sub-array.\n")

# bench_ops.py's section: every operation of the type, with its own goals.
ops_md = os.path.join(DIR, "ops.md")
if os.path.exists(ops_md):
    out.append(open(ops_md, encoding="utf-8").read().rstrip("\n") + "\n")
try:
    OPS = json.load(open(os.path.join(DIR, "ops_goals.tmp"), encoding="utf-8"))
except (OSError, ValueError):
    OPS = []

# Callgrind: one dump per kernel run, "desc: Trigger: Client Request: KEY items=N".
CG = {}
for path in glob.glob(os.path.join(DIR, "callgrind.tmp", "callgrind.out*")):
    desc = total = None
    for line in open(path, errors="replace"):
        m = re.match(r"desc: Trigger: Client Request: (\S+) items=(\d+)", line)
        if m:
            desc = (m.group(1), int(m.group(2)))
        m = re.match(r"summary: (\d+)", line)
        if m:
            total = int(m.group(1))
    if desc and total is not None:
        CG[desc[0]] = total / desc[1]
if CG:
    out.append("### Instructions per item (callgrind, MEMVIEW_ISA=avx2)\n")
    out.append("Each per-item case run once under callgrind: the 1-D cases on 256 KiB "
               "buffers ('<i' vs '>i' on 16 KiB), the 2-D ones on the same 4096×4096 image.\n")
    out.append("| kernel | CPython | memview | CPython / memview |")
    out.append("|---|---:|---:|---:|")
    for k, label in [("hex", "hex")] + CASES:
        cps = [CG[f"{k}.{c}"] for c in ("cpython", "cpython_tocontig") if f"{k}.{c}" in CG]
        mvk = next((f"{k}.{w}" for w in ("memview_into", "memview") if f"{k}.{w}" in CG), None)
        if not cps or not mvk:
            continue
        label = re.sub(r",? (of )?\d+ [KM]iB", "", label)
        n = [f"{c:.1f}" if c >= 10 else f"{c:.2f}" for c in cps + [CG[mvk]]]
        out.append(f"| {label} | {' / '.join(n[:-1])} | {n[-1]} | "
                   f"{fmt_x(cps[0] / CG[mvk])} |")
    out.append("\nFor tobytes the CPython column is `tobytes()` / `PyBuffer_ToContiguous`.\n")

# The speed goals memview sets itself against CPython, memcpy and NumPy.
T = []


def goal(text, value, ok, key=None, bound=None):
    """key: a case with a read-span time, whose CPython time over it is the
    most any kernel that reads its input once could reach (or the bound)."""
    if key:
        bound = ratio(f"c.{key}.cpython", f"c.{key}.read_span")
    T.append((text, value, ok, bound))


for c in "BHIQ":
    for s in (2, 3, 8):
        k = f"copy_{c}_step{s}"
        ce = ratio(f"c.{k}.read_span", f"c.{k}.memview_into")
        if ce is not None:
            goal(f"'{c}'[::{s}] copy ≥ 0.7× read-span ceiling", ce, ce >= 0.7)
        need = {"B": 15, "H": 15, "I": 3, "Q": 2}[c] if (s in (2, 3) or c in "IQ") else None
        sp = ratio(f"c.{k}.cpython", f"c.{k}.memview_into")
        if need and sp is not None:
            goal(f"'{c}'[::{s}] copy ≥ {need}× CPython", sp, sp >= need, k)
for k, text, need in (("rect_colstep2", "[:, ::2] ≥ 25× CPython", 25),
                      ("rect_cols64", "[:, 1000:1064] ≥ 2× CPython", 2),
                      ("eq_B16m", "== identical integer formats ≥ 20× CPython", 20),
                      ("eq_le_be_1m", "== '<i' vs '>i' ≥ 100× CPython", 100),
                      ("eq_i_step2", "== strided 'i' ≥ 2.5× CPython", 2.5)):
    x = ratio(f"c.{k}.cpython", f"c.{k}.memview") or ratio(f"c.{k}.cpython", f"c.{k}.memview_into")
    if x is not None:
        # [:, 1000:1064] touches 64 bytes a row: reading its whole span bounds nothing.
        goal(text, x, x >= need, None if k == "rect_cols64" else k)
x = ratio("c.rect_1024_3072.memcpy", "c.rect_1024_3072.memview_into")
if x is not None:
    # Bound: the same rows, one memcpy each, against the one-block memcpy.
    goal("[1024:3072, 1024:3072] (long rows) at memcpy speed (≥ 0.9× memcpy)", x, x >= 0.9,
           bound=ratio("c.rect_1024_3072.memcpy", "c.rect_1024_3072.memcpy_rows"))
x = ratio("c.hex4k.cpython", "c.hex4k.memview_into")
if x is not None:
    goal("hex 4 KiB into a buffer ≥ 15× CPython", x, x >= 15)
x = ratio("py.hex4k.builtin", "py.hex4k.memview")
if x is not None:
    goal("hex 4 KiB with the Python str ≥ 6× builtin", x, x >= 6)
x = ratio("py.hex64m.builtin", "py.hex64m.memview")
if x is not None:
    goal("hex 64 MiB returning a new str ≥ 1.7× builtin", x, x >= 1.7)
for k in ("create", "slice", "item", "cast", "tolist1m"):
    x = ratio(f"py.{k}.builtin", f"py.{k}.memview")
    if x is not None:
        goal(f"Python {k}: memview no slower than builtin (≥ 0.95×)", x, x >= 0.95)
# Everything after the per-call cases (which have their own goal above).
BULK = [k for k, _ in CASES][[k for k, _ in CASES].index("hex4k"):]
for k in BULK:
    x = ratio(f"py.{k}.builtin", f"py.{k}.memview")
    if x is not None:
        goal(f"Python {k}: memview faster than builtin (> 1×)", x, x > 1)
for k in ("create", "slice", "item", "create_layout", "create_layout_local", "slice_layout",
          "item_layout", "item_layout_value"):
    x = ratio(f"c.{k}.cpython", f"c.{k}.memview")
    if x is not None:
        goal(f"C {k}: ≥ 5× CPython's C API", x, x >= 5)

met = sum(t[2] for t in T)
ops_met = sum(g["ok"] for g in OPS)
out.append(f"### Speed goals: {met + ops_met} of {len(T) + len(OPS)} reached in this run\n")
if OPS:
    out.append(f"{ops_met} of the {len(OPS)} per-operation goals (the table of every "
               f"operation above) reached; those not reached are listed again at the end "
               f"of this table.\n")
out.append("*bound*: CPython's time over the time to read the span(s) once, the most a "
           "kernel that must read its input could reach on this machine in this run; for "
           "the long rows, memcpy's time over the time of one memcpy per row.\n")
out.append("| goal | measured | bound | |")
out.append("|---|---:|---:|---|")
for text, value, ok, bound in T:
    out.append(f"| {text} | {value:.2f}× | {fmt_x(bound) if bound else '–'} | "
               f"{'reached' if ok else '**not reached**'} |")
for g in OPS:
    if not g["ok"]:
        v = "no case" if g["value"] is None else f"{g['value']:.3g}×"
        text = g["text"].replace("|", "\\|")
        out.append(f"| per operation: {text} | {v} | – | **not reached** |")

md = "\n".join(out) + "\n"
with open(os.path.join(DIR, "table.md"), "w") as f:
    f.write(md)
print(md)

# Chart: speedup over CPython per case, C level and Python level, log scale.
rows = []
for key, label in CASES:
    c = ratio(f"c.{key}.cpython", f"c.{key}.memview") or ratio(
        f"c.{key}.cpython", f"c.{key}.memview_into") or ratio(f"c.{key}.cpython", f"c.{key}.memview_traverse")
    p = ratio(f"py.{key}.builtin", f"py.{key}.memview")
    if c or p:
        rows.append((key, c or float("nan"), p or float("nan")))
dat = os.path.join(DIR, "chart.dat.tmp")
with open(dat, "w") as f:
    for key, c, p in rows:
        f.write(f'"{key}" {c} {p}\n')
script = f"""
set terminal pngcairo noenhanced size 1400,700 font ",10"
set output "{os.path.join(DIR, 'chart.png')}"
set title "memview speedup over CPython's memoryview (median time ratio; higher is better; 1 = parity)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [0.1:*]
set ylabel "speedup (×, log scale)"
set xtics rotate by -45 scale 0
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
plot "{dat}" using 2:xtic(1) title "C: libmemview vs CPython C API", \\
     "" using 3 title "Python: memview.memoryview vs builtin memoryview"
"""
try:
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(dat)
    print(f"wrote {os.path.join(DIR, 'table.md')} and {os.path.join(DIR, 'chart.png')}")
except (OSError, subprocess.CalledProcessError) as e:
    print(f"report: no chart ({e})", file=sys.stderr)
