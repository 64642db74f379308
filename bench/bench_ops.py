"""Every operation of memview.memoryview against the builtin memoryview.

The operations come from the type itself: every public name of
memview.memoryview (and of the builtin memoryview) and every special method
memview.memoryview defines.  Each maps to the cases build_recipes() gives it or,
for a public name with none, to an automatic one (read the property, call
the method with no arguments).  A name with neither is a row "no case" and
a goal not reached: a method added later is measured, or shows as missing.
Then the consumers of a buffer (bytes(m), zlib.crc32(m), ...), each given a
builtin view and a memview view of the same exporter, and the size of the
view objects (sys.getsizeof).

    PYTHONPATH=<build>/python python3 bench/bench_ops.py [--quick] [--out DIR]
    PYTHONPATH=<build>/python python3 bench/bench_ops.py --callgrind [--quick] [--out DIR]

The first times every case: both views of the same exporter, builtin and
memview calls alternating, medians of 9 samples (3 with --quick); it writes
DIR/ops.tmp.  The second counts the instructions per call of the per-call
cases under `valgrind --tool=callgrind` (its files in DIR/ops_callgrind.tmp/)
and writes DIR/ops_cg.tmp.  Either then writes DIR/ops.md from what both have
left (bench/report.py puts it in table.md and counts its goals from
DIR/ops_goals.tmp) and prints it.  Numbers are medians
from a shared, noisy machine: nothing here asserts.
"""
import argparse
import array
import ctypes
import hashlib
import inspect
import io
import json
import mmap
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import timeit
import types
import zlib

import numpy as np

import memview

M = memview.memoryview
KIB, MIB = 1 << 10, 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))

# The goals, per row: the median builtin time over the median memview time.
GOAL_PER_CALL = 1.0      # every operation
GOAL_BULK = 1.5          # every operation doing >= BULK_BYTES of work
GOAL_TOLIST = 1.0        # tolist, any shape and size
GOAL_CONSUMER = 1.0      # a consumer (bytes(m), crc32(m), ...): its work is its own
GOAL_HEX_SEP_4K = 3.0    # hex with a separator at 4 KiB
SIZEOF_MAX_NDIM = 3      # sys.getsizeof(view) <= the builtin's up to this many dimensions
BULK_BYTES = 4 * KIB
SLICES = 8               # each sample's calls of each type, in this many alternating slices

# Special names that are no operation of their own.
IGNORED = {"__doc__"}


def size_name(n):
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} B"


class Case:
    """One timed statement, run alike on a builtin view and a memview view.

    setup runs once per view type in a namespace holding the shared data
    (the same exporters for both) and V, the view type; stmt is timed there
    (bstmt instead for the builtin where it lacks the method: the nearest
    builtin way to the same result).  With fresh, each timed batch runs stmt
    once over K new objects that fresh makes untimed (stmt loops over vs),
    for the operations that use their view up (release, with)."""

    def __init__(self, op, stmt, setup="m = V(ba_s)", data="64 B", size=64, *, bstmt=None,
                 fresh=None, goal=None, same=True, section="op", label=None, note=None):
        self.op, self.stmt, self.setup, self.data, self.size = op, stmt, setup, data, size
        self.bstmt, self.fresh, self.same, self.section = bstmt, fresh, same, section
        self.label, self.note = label or stmt, note
        self.bulk = size >= BULK_BYTES
        if goal is None:
            goal = (GOAL_TOLIST if op == "tolist" else GOAL_CONSUMER if section == "consumer"
                    else GOAL_BULK if self.bulk else GOAL_PER_CALL)
        self.goal = goal
        self.key = f"{op} | {self.label} | {data}"

    def stmt_for(self, which):
        return self.bstmt if which == "builtin" and self.bstmt else self.stmt


class NoCase:
    """A name of the type that no case measures."""

    def __init__(self, op, why):
        self.op, self.why = op, why
        self.key = f"{op} | no case"


def make_data(L=MIB):
    """The exporters and operands, shared by both view types (so each case
    views the same object).  _s: 64 bytes, _l: L bytes."""
    rng = np.random.default_rng(1)

    def rnd(n):
        return rng.integers(0, 256, n, dtype=np.uint8).tobytes()

    words = b"alpha,beta,gamma,delta,epsilon,zeta,eta,theta,iota,kappa,lambda,mu,nu,xi,"
    txt_l = bytearray((words * (L // len(words) + 1))[:L])
    spaced = b"alpha beta\tgamma delta\nepsilon zeta eta theta iota kappa lambda "
    idx_s, idx_l = bytearray(64), bytearray(L)
    idx_s[-1] = idx_l[-1] = 1
    d_s = array.array("d", [0.5 * i for i in range(8)])
    d_l = array.array("d", [0.5 * i for i in range(L // 8)])
    mmp = mmap.mmap(-1, mmap.PAGESIZE)
    u8x8 = np.arange(64, dtype=np.uint8).reshape(8, 8)
    ba_s = bytearray(rnd(64))
    D = dict(
        np=np, struct=struct, zlib=zlib, hashlib=hashlib, io=io, GenericAlias=types.GenericAlias,
        b_s=bytes(ba_s), ba_s=ba_s, ba_s2=bytearray(ba_s), w_s=bytearray(64),
        ba_1k=bytearray(rnd(KIB)), ba_4k=bytearray(rnd(4 * KIB)),
        ba_l=bytearray(rnd(L)), w_l=bytearray(L),
        src_l=bytes(rnd(L)), src_half=bytes(rnd(L // 2)), b16=bytes(range(16)),
        txt_s=bytearray(words[:64]), txt_l=txt_l, words_s=bytearray(spaced[:64]),
        pre=bytes(words[:4]), suf=bytes(words[60:64]), ndl=b"lambda", absent=b"#q",
        pat_s=re.compile(rb"lambda"), pat_l=re.compile(rb"#q"),
        idx_s=idx_s, idx_l=idx_l,
        d_s=d_s, d_s2=array.array("d", d_s), d_l=d_l, d_l2=array.array("d", d_l),
        wd_s=array.array("d", bytes(64)),
        u8x8=u8x8, u8x8b=u8x8.copy(), w8x8=np.zeros((8, 8), np.uint8),
        z3=np.zeros((2, 4, 8), np.uint8), z0=np.array(5, np.uint8), np_s=np.arange(64, dtype=np.uint8),
        u256=rng.integers(0, 256, (256, 256), dtype=np.uint8),
        f256=rng.random((256, 256)), mmp=mmp,
        ct8=(ctypes.c_double * 8)(*range(8)), arr_d=array.array("d", range(8)),
    )
    D["b_l"] = bytes(D["ba_l"])
    D["words_l"] = bytearray((spaced * (L // len(spaced) + 1))[:L])
    D["u2d_l"] = np.frombuffer(D["ba_l"], np.uint8).reshape(L // KIB, KIB)
    D["u2d_l2"] = D["u2d_l"].copy()
    D["u2d_l_cols"] = D["u2d_l"][:, ::2]
    D["ba_l2"] = bytearray(D["ba_l"])
    D["bview"] = memoryview(D["ba_s"])
    D["f_s"], D["f_l"] = io.BytesIO(D["b_s"]), io.BytesIO(D["b_l"])
    return D


def build_recipes(L=MIB):
    """op -> [Case]: the cases of every name that has recipes, and of the
    operations no name of the type stands for (reversed(m), consumers)."""
    R = {}
    Ls = size_name(L)
    NEW = "a new view each call, made untimed"
    S = dict(setup="m = V(ba_s)", data="64 B", size=64)

    def add(op, stmt, setup=None, data=None, size=None, **kw):
        R.setdefault(op, []).append(Case(op, stmt, setup or S["setup"], data or S["data"],
                                         size or S["size"], **kw))

    def both(op, stmt, small, large, data_s="64 B", **kw):
        """stmt on the small exporter (64 B) and on the large one (L bytes)."""
        add(op, stmt, f"m = V({small})", data_s, 64, **kw)
        add(op, stmt, f"m = V({large})", Ls, L, **kw)

    # Properties that depend on the dimensions.
    for name in ("shape", "strides"):
        add(name, f"m.{name}")
        add(name, f"m.{name}", "m = V(z3)", "2×4×8")
    add("cast", "m.cast('d')")
    add("cast", "m.cast('B', (8, 8))")
    add("cast", "m.cast('B', (32, 32))", "m = V(ba_1k)", "1 KiB", 64)  # no per-item work
    add("cast", "m.cast('B')", "m = V(u8x8)", "8×8")
    # The builtin has no count, index, find, ... : it goes through tobytes()
    # (bytes' own search) or tolist().
    both("count", "m.count(44)", "txt_s", "txt_l", bstmt="m.tobytes().count(44)")
    add("count", "m.count(3.0)", "m = V(d_s)", "8 'd'", bstmt="m.tolist().count(3.0)")
    add("count", "m.count(3.0)", "m = V(d_l)", f"{Ls} 'd'", L, bstmt="m.tolist().count(3.0)")
    both("index", "m.index(1)", "idx_s", "idx_l", bstmt="m.tobytes().index(1)")
    add("index", "m.index(3.5)", "m = V(d_s)", "8 'd'", bstmt="m.tolist().index(3.5)")
    add("index", f"m.index({0.5 * (L // 8 - 1)})", "m = V(d_l)", f"{Ls} 'd'", L,
        bstmt=f"m.tolist().index({0.5 * (L // 8 - 1)})")
    add("startswith", "m.startswith(pre)", "m = V(txt_s)", bstmt="m[:4] == pre")
    add("endswith", "m.endswith(suf)", "m = V(txt_s)", bstmt="m[-4:] == suf")
    add("find", "m.find(ndl)", "m = V(txt_s)", bstmt="m.tobytes().find(ndl)")
    add("find", "m.find(absent)", "m = V(txt_l)", Ls, L, bstmt="m.tobytes().find(absent)")
    add("find_view", "r = m.find_view(ndl)", "m = V(txt_s)",
        bstmt="i = m.tobytes().find(ndl)\nr = m[i:i + len(ndl)] if i >= 0 else None")
    add("find_view", "r = m.find_view(absent)", "m = V(txt_l)", Ls, L,
        bstmt="i = m.tobytes().find(absent)\nr = m[i:i + len(absent)] if i >= 0 else None")
    both("split", "m.split(b',')", "txt_s", "txt_l", bstmt="m.tobytes().split(b',')")
    both("split", "m.split()", "words_s", "words_l", bstmt="m.tobytes().split()")
    for stmt in ("m.hex()", "m.hex(':', 2)"):
        add("hex", stmt)
        add("hex", stmt, "m = V(ba_4k)", "4 KiB", 4 * KIB,
            goal=GOAL_HEX_SEP_4K if "':'" in stmt else None)
        add("hex", stmt, "m = V(ba_l)", Ls, L)
    add("release", "for v in vs:\n    v.release()", "", fresh="vs = [V(ba_s) for _ in range(K)]",
        label="v.release()", note=NEW)
    add("tobytes", "m.tobytes()")
    add("tobytes", "m.tobytes()", "m = V(ba_l)", Ls, L)
    add("tobytes", "m.tobytes()", "m = V(ba_l)[::2]", f"{Ls} [::2]", L)
    add("tobytes", "m.tobytes()", "m = V(u8x8)", "8×8")
    add("tobytes", "m.tobytes('F')", "m = V(u256)", "256×256", 64 * KIB)
    add("tobytes", "m.tobytes()", "m = V(u2d_l_cols)", f"{L // KIB}×1024 [:, ::2]", L)
    both("tolist", "m.tolist()", "ba_s", "ba_l")
    add("tolist", "m.tolist()", "m = V(d_s)", "8 'd'")
    add("tolist", "m.tolist()", "m = V(d_l)", f"{Ls} 'd'", L)
    add("tolist", "m.tolist()", "m = V(u8x8)", "8×8")
    add("tolist", "m.tolist()", "m = V(u256)", "NumPy 256×256 'B'", 64 * KIB)
    add("tolist", "m.tolist()", "m = V(f256)", "NumPy 256×256 'd'", 512 * KIB)
    add("toreadonly", "m.toreadonly()")

    # Special methods.
    add("__class_getitem__", "V[int]", "", "–", bstmt="GenericAlias(memoryview, int)", same=False)
    both("__contains__", "1 in m", "idx_s", "idx_l")
    add("__contains__", "3.5 in m", "m = V(d_s)", "8 'd'")
    add("__contains__", f"{0.5 * (L // 8 - 1)} in m", "m = V(d_l)", f"{Ls} 'd'", L)
    add("__delitem__", "try:\n    del m[0]\nexcept TypeError:\n    pass")
    add("__enter__", "m.__enter__()")
    add("__enter__", "for v in vs:\n    with v:\n        pass", "", fresh="vs = [V(ba_s) for _ in range(K)]",
        label="with v: pass", note=NEW)
    add("__exit__", "for v in vs:\n    v.__exit__(None, None, None)", "",
        fresh="vs = [V(ba_s) for _ in range(K)]", label="v.__exit__(None, None, None)", note=NEW)
    add("__eq__", "m == b_s", "m = V(ba_s)")
    add("__eq__", "m == b_l", "m = V(ba_l)", Ls, L)
    add("__eq__", "m == m2", "m = V(ba_s)\nm2 = V(ba_s2)")
    add("__eq__", "m == m2", "m = V(ba_l)\nm2 = V(ba_l2)", Ls, L)
    add("__eq__", "m == m2", "m = V(d_s)\nm2 = V(d_s2)", "8 'd'")
    add("__eq__", "m == m2", "m = V(d_l)\nm2 = V(d_l2)", f"{Ls} 'd'", L)
    add("__eq__", "m == m2", "m = V(u8x8)\nm2 = V(u8x8b)", "8×8")
    add("__eq__", "m == m2", "m = V(u2d_l)\nm2 = V(u2d_l2)", f"{L // KIB}×1024", L)
    add("__ne__", "m != m2", "m = V(ba_s)\nm2 = V(ba_s2)")
    add("__ne__", "m != m2", "m = V(ba_l)\nm2 = V(ba_l2)", Ls, L)
    for name, sym in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
        add(name, f"try:\n    m {sym} m2\nexcept TypeError:\n    pass", "m = V(ba_s)\nm2 = V(ba_s2)")
    add("__getattribute__", "getattr(m, 'missing', None)")
    add("__getitem__", "m[3]")
    add("__getitem__", "m[-1]")
    add("__getitem__", "m[3, 4]", "m = V(u8x8)", "8×8")
    add("__getitem__", "m[3]", "m = V(d_s)", "8 'd'")
    add("__getitem__", "m[0:16]")
    add("__getitem__", "m[::2]")
    add("__getitem__", "m[()]", "m = V(z0)", "0-d 'B'")
    add("__getitem__", "m[...]", "m = V(z0)", "0-d 'B'")
    add("__setitem__", "m[3] = 7", "m = V(w_s)")
    add("__setitem__", "m[3, 4] = 7", "m = V(w8x8)", "8×8")
    add("__setitem__", "m[3] = 1.5", "m = V(wd_s)", "8 'd'")
    add("__setitem__", "m[0:16] = b16", "m = V(w_s)")
    add("__setitem__", "m[:] = src_l", "m = V(w_l)", Ls, L)
    add("__setitem__", "m[::2] = src_half", "m = V(w_l)", Ls, L)
    add("__hash__", "hash(m)", "m = V(b_s)\nhash(m)", note="the view keeps its hash")
    add("__hash__", "for v in vs:\n    hash(v)", "", fresh="vs = [V(b_s) for _ in range(K)]",
        label="hash(v)", note=NEW)
    add("__hash__", "for v in vs:\n    hash(v)", "", Ls, L, fresh="vs = [V(b_l) for _ in range(K)]",
        label="hash(v)", note=NEW)
    both("__iter__", "list(m)", "ba_s", "ba_l")
    add("__iter__", "list(m)", "m = V(d_s)", "8 'd'")
    add("__iter__", "list(m)", "m = V(d_l)", f"{Ls} 'd'", L)
    add("__iter__", "iter(m)")
    add("__len__", "len(m)")
    for name, stmt in (("__reduce__", "m.__reduce__()"), ("__reduce_ex__", "m.__reduce_ex__(4)")):
        add(name, f"try:\n    {stmt}\nexcept TypeError:\n    pass")
    add("__repr__", "repr(m)")
    # Construction, from each common exporter.
    for exp, what in (("b_s", "bytes"), ("ba_s", "bytearray"), ("arr_d", "array('d')"),
                      ("mmp", "mmap"), ("np_s", "NumPy 1-D"), ("u8x8", "NumPy 8×8"),
                      ("ct8", "ctypes c_double * 8"), ("bview", "a builtin memoryview")):
        add("__new__", f"V({exp})", "", what)
    add("__new__", "V(src)", "src = V(ba_s)", "a view of its own type")
    # Protocols no special method stands for.
    both("reversed()", "list(reversed(m))", "ba_s", "ba_l")
    add("bool()", "bool(m)")

    # Consumers: the builtin view or the memview view passed in.
    def con(op, stmt, large=None, setup="m = V({})", small="ba_s", **kw):
        add(op, stmt, setup.format(small), section="consumer", **kw)
        if large:
            add(op, stmt, setup.format(large), Ls, L, section="consumer", **kw)

    con("bytes()", "bytes(m)", "ba_l")
    add("bytes()", "bytes(m)", "m = V(ba_l)[::2]", f"{Ls} [::2]", L, section="consumer")
    con("bytearray()", "bytearray(m)", "ba_l")
    con("buffer export", "memoryview(m).release()")
    con("struct.unpack_from", "struct.unpack_from('<4I', m, 8)")
    con("zlib.crc32", "zlib.crc32(m)", "ba_l")
    con("hashlib.sha256", "hashlib.sha256(m)", "ba_l")
    con("hashlib.sha256", "h.update(m)", "ba_l", setup="h = hashlib.sha256()\nm = V({})")
    con("re", "pat_s.search(m)", small="txt_s")
    add("re", "pat_l.search(m)", "m = V(txt_l)", Ls, L, section="consumer")
    con("io.BytesIO", "io.BytesIO().write(m)", "ba_l")
    add("io.BytesIO", "f_s.seek(0)\nf_s.readinto(m)", "m = V(w_s)", section="consumer",
        label="f.readinto(m)")
    add("io.BytesIO", "f_l.seek(0)\nf_l.readinto(m)", "m = V(w_l)", Ls, L, section="consumer",
        label="f.readinto(m)")
    con("bytes.join", "b''.join([m, m])", "ba_l")
    con("numpy", "np.asarray(m)")
    con("numpy", "np.frombuffer(m, np.uint8)")
    return R


def type_names(t):
    """Public names (dir) and the special methods t defines itself."""
    public = {n for n in dir(t) if not n.startswith("_")}
    special = {n for n in vars(t) if n.startswith("__") and n not in IGNORED}
    return public, special


def enumerate_ops(L=MIB):
    """[(op, [Case] or NoCase)] for every name of either type, then the
    operations no name stands for.  Names first: public, then special."""
    R = build_recipes(L)
    mpub, mspec = type_names(M)
    bpub, bspec = type_names(memoryview)
    out = []
    for name in sorted(mpub | bpub) + sorted(mspec | bspec):
        if name not in mpub | mspec and not hasattr(M, name):
            out.append((name, NoCase(name, "the builtin has it, memview.memoryview does not")))
        elif name in R:
            out.append((name, R[name]))
        else:
            out.append((name, auto_case(name)))
    names = {n for n, _ in out}
    for op, cases in R.items():
        if op not in names:
            out.append((op, cases))
    return out


def auto_case(name):
    """The case of a public name that no recipe lists: read it or call it
    with no arguments, if that works on a 64-byte view of both types."""
    if name.startswith("_"):
        return NoCase(name, "a special method without a recipe")
    attr = inspect.getattr_static(M, name)
    stmt = f"m.{name}" if inspect.isdatadescriptor(attr) else f"m.{name}()"
    for V in (M, memoryview):
        try:
            eval(stmt, {"m": V(bytearray(64))})
        except Exception as e:
            if V is memoryview and not hasattr(memoryview, name):
                return NoCase(name, "the builtin has no such name: a recipe must give its equivalent")
            return NoCase(name, f"no recipe, and `{stmt}` raises {type(e).__name__}")
    return [Case(name, stmt)]


def all_cases(L=MIB):
    return [c for _, cs in enumerate_ops(L) if isinstance(cs, list) for c in cs]


# ---- running a case ----------------------------------------------------------

TYPES = (("builtin", memoryview), ("memview", M))


class Runner:
    """A case's namespaces and timers, one per view type."""

    def __init__(self, case, D):
        self.case = case
        self.env, self.timer = {}, {}
        for which, V in TYPES:
            env = dict(D, V=V)
            exec(case.setup, env)
            self.env[which] = env
            self.timer[which] = timeit.Timer(case.stmt_for(which), globals=env)

    def prepare(self, which, n):
        """What a batch of n calls needs, untimed (fresh objects)."""
        if self.case.fresh:
            env = self.env[which]
            env.pop("vs", None)
            env["K"] = n
            exec(self.case.fresh, env)

    def go(self, which, n):
        """Run n calls; seconds."""
        return self.timer[which].timeit(1 if self.case.fresh else n)

    def run(self, which, n):
        self.prepare(which, n)
        return self.go(which, n)


def time_case(case, D, reps, batch):
    """Median seconds per call for each type, and the paired ratios."""
    r = Runner(case, D)
    cap = 100_000 if case.fresh else 1 << 40
    number = {}
    for which, _ in TYPES:
        r.run(which, 1)
        n, dt = 1, r.run(which, 1)
        while dt < batch / 8 and n < cap:
            n = min(cap, max(2 * n, int(n * batch / 8 / max(dt, 1e-9))))
            dt = r.run(which, n)
        number[which] = max(1, min(cap, int(n * batch / max(dt, 1e-9))))
    # Each sample: >= batch seconds of calls of each type, cut into up to
    # SLICES slices taken alternately (builtin, memview, memview, builtin,
    # ...), so that both types meet the same machine; before it, a quarter of
    # a batch of each, untimed.
    parts = {w: min(SLICES, n) for w, n in number.items()}
    sub = {w: -(-number[w] // parts[w]) for w in number}
    times = {w: [] for w, _ in TYPES}
    for i in range(reps):
        for which, _ in TYPES:
            r.run(which, max(1, number[which] // 4))
        tot = {w: 0.0 for w in number}
        for j in range(max(parts.values())):
            for which in (("builtin", "memview") if (i + j) % 2 == 0 else ("memview", "builtin")):
                if j < parts[which]:
                    r.prepare(which, sub[which])
                    tot[which] += r.go(which, sub[which])
        for w in number:
            times[w].append(tot[w] / (parts[w] * sub[w]))
    b, m = statistics.median(times["builtin"]), statistics.median(times["memview"])
    pairs = sorted(x / y for x, y in zip(times["builtin"], times["memview"]))
    q = statistics.quantiles(pairs, n=4) if len(pairs) >= 2 else [pairs[0]] * 3
    return {"builtin": b, "memview": m, "ratio": b / m, "pair_q1": q[0], "pair_q3": q[2],
            "reps": reps}


def getsizeof_rows():
    rows = []
    for ndim in (0, 1, 2, 3, 4, 8):
        a = np.zeros((2,) * ndim, np.uint8)
        rows.append({"ndim": ndim, "builtin": sys.getsizeof(memoryview(a)), "memview": sys.getsizeof(M(a))})
    return rows


def run_timing(out, quick):
    D = make_data()
    reps, batch = (3, 0.005) if quick else (9, 0.02)
    res = {"_meta": {"quick": quick, "reps": reps, "batch_s": batch}}
    t0 = time.perf_counter()
    for case in all_cases():
        try:
            res[case.key] = time_case(case, D, reps, batch)
        except Exception as e:
            res[case.key] = {"error": f"{type(e).__name__}: {e}"}
    res["_meta"]["seconds"] = time.perf_counter() - t0
    res["_sizeof"] = getsizeof_rows()
    with open(os.path.join(out, "ops.tmp"), "w") as f:
        json.dump(res, f, indent=1)
    return res["_meta"]["seconds"]


# ---- callgrind ---------------------------------------------------------------

MARK_C = """#include <valgrind/callgrind.h>
void memview_bench_zero(void) { CALLGRIND_ZERO_STATS; }
void memview_bench_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


def cg_child(out, n0, delta):
    """Under callgrind: for each per-call case and type, zero the counts,
    run n0 calls, dump; zero, run n0 + delta calls, dump.  The difference of
    the two dumps over delta is the cost of one call (and of timeit's loop)."""
    lib = ctypes.CDLL(os.path.join(out, "ops_callgrind.tmp", "mark.so"))
    lib.memview_bench_dump.argtypes = [ctypes.c_char_p]
    zero, dump = lib.memview_bench_zero, lib.memview_bench_dump
    D = make_data()
    manifest = []
    for i, case in enumerate(c for c in all_cases() if not c.bulk):
        try:
            r = Runner(case, D)
            for which, _ in TYPES:
                r.run(which, 200)  # warm: the adaptive interpreter specialises
                for part, n in (("a", n0), ("b", n0 + delta)):
                    r.prepare(which, n)
                    zero()
                    r.go(which, n)
                    dump(f"{i}.{which}.{part}".encode())
            manifest.append((i, case.key, None))
        except Exception as e:
            manifest.append((i, case.key, f"{type(e).__name__}: {e}"))
    with open(os.path.join(out, "ops_callgrind.tmp", "manifest.json"), "w") as f:
        json.dump(manifest, f)


def run_callgrind(out, quick):
    cg = os.path.join(out, "ops_callgrind.tmp")
    os.makedirs(cg, exist_ok=True)
    for name in os.listdir(cg):
        os.remove(os.path.join(cg, name))
    with open(os.path.join(cg, "mark.c"), "w") as f:
        f.write(MARK_C)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", os.path.join(cg, "mark.so"),
                    os.path.join(cg, "mark.c")], check=True)
    n0, delta = (200, 1000) if quick else (1000, 10000)
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    # valgrind cannot execute AVX-512: the AVX2 kernels are the ones counted.
    env.setdefault("MEMVIEW_ISA", "avx2")
    t0 = time.perf_counter()
    with open(os.path.join(cg, "log"), "w") as log:
        subprocess.run(["valgrind", "--tool=callgrind", "--combine-dumps=yes", "--dump-instr=no",
                        "--dump-line=no", f"--callgrind-out-file={os.path.join(cg, 'callgrind.out')}",
                        sys.executable, os.path.abspath(__file__), "--cg-child", str(n0), str(delta),
                        "--out", out], env=env, stdout=log, stderr=log, check=True)
    seconds = time.perf_counter() - t0
    counts, label = {}, None
    for line in open(os.path.join(cg, "callgrind.out"), errors="replace"):
        if line.startswith("desc: Trigger: Client Request: "):
            label = line.split(": ", 3)[3].strip()
        elif line.startswith("summary: ") and label:
            counts[label] = int(line.split()[1])
            label = None
    res = {"_meta": {"seconds": seconds, "n0": n0, "delta": delta,
                     "isa": env["MEMVIEW_ISA"]}}
    for i, key, err in json.load(open(os.path.join(cg, "manifest.json"))):
        if err:
            res[key] = {"error": err}
            continue
        res[key] = {w: (counts[f"{i}.{w}.b"] - counts[f"{i}.{w}.a"]) / delta for w, _ in TYPES}
    with open(os.path.join(out, "ops_cg.tmp"), "w") as f:
        json.dump(res, f, indent=1)
    return seconds


# ---- the Markdown section ----------------------------------------------------

def fmt_t(s):
    if s is None:
        return "–"
    for unit, f in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def fmt_r(x, goal=None):
    """A ratio: 2 decimals, 3 where 2 would round it onto its goal."""
    if x < 0.1:
        return f"{x:.2g}"
    if goal is not None and round(x, 2) == goal and x != goal:
        return f"{x:.3f}"
    return f"{x:.2f}"


def fmt_ir(x):
    return "–" if x is None else f"{x:,.0f}"


def one_line(s):
    return re.sub(r"\n", "; ", re.sub(r"\n\s+", " ", s.strip()))


def code(s):
    return "`" + one_line(s).replace("|", "\\|") + "`"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def render(out):
    """ops.md and ops_goals.tmp from ops.tmp and ops_cg.tmp (either may be
    missing); returns the Markdown."""
    T, CG = load(os.path.join(out, "ops.tmp")), load(os.path.join(out, "ops_cg.tmp"))
    ops = enumerate_ops()
    mpub, mspec = type_names(M)
    bpub, _ = type_names(memoryview)
    goals = []  # {"text", "value", "ok"}
    o = []
    o.append("### Python: every operation of `memview.memoryview` vs the builtin `memoryview`\n")
    only = sorted((mpub | mspec) - set(dir(memoryview)))
    o.append(f"The operations are read from the type: its {len(mpub)} public names and the "
             f"{len(mspec)} special methods it defines (then the protocols no method stands "
             f"for, construction from each common exporter, and the common consumers of a "
             f"buffer).  A name no case measures is a row *no case*, a goal not reached.  "
             f"Names the builtin lacks ({', '.join(only) or 'none'}) are timed against the "
             f"builtin way to the same result, shown under the case.  Each case: a builtin "
             f"view and a memview view of the same exporter, "
             f"{T.get('_meta', {}).get('reps', '?')} samples of each, each ≥ "
             f"{1e3 * T.get('_meta', {}).get('batch_s', 0):.0f} ms of calls taken in up to "
             f"{SLICES} slices alternating with the other type's, after a quarter of that "
             f"untimed; times are medians per call, *speedup* = builtin / "
             f"memview, *pairs* the quartiles of the builtin/memview ratio over the "
             f"samples taken side by side.  *per-call*: < {BULK_BYTES // KIB} KiB of work, "
             f"*bulk*: ≥ {BULK_BYTES // KIB} KiB.  *Ir*: instructions per call under "
             f"callgrind (per-call rows; MEMVIEW_ISA={CG.get('_meta', {}).get('isa', 'avx2')}, "
             f"PYTHONHASHSEED=0; the difference of {CG.get('_meta', {}).get('delta', 10000)} "
             f"more calls, so timeit's loop, a few instructions, is in them).  Goals: every "
             f"row ≥ {GOAL_PER_CALL}× the builtin, bulk rows ≥ {GOAL_BULK}×, tolist (any "
             f"shape) ≥ {GOAL_TOLIST}×, hex with a separator at 4 KiB ≥ {GOAL_HEX_SEP_4K}×; "
             f"a consumer, whose work is its own code whichever view it is given, "
             f"≥ {GOAL_CONSUMER}× at any size.\n")
    o.append("| operation | case | data | builtin | memview | speedup | pairs | "
             "Ir builtin | Ir memview | goal | |")
    o.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    consumers_header = False
    for op, cases in ops:
        if isinstance(cases, NoCase):
            o.append(f"| `{op}` | *no case*: {cases.why} | | | | | | | | | **no case** |")
            goals.append({"text": f"`{op}`: no case measures it", "value": None, "ok": False})
            continue
        for c in cases:
            if c.section == "consumer" and not consumers_header:
                consumers_header = True
                o.append("| **consumers** | *a builtin view / a memview view passed in* "
                         "| | | | | | | | | |")
            t = T.get(c.key, {})
            ir = CG.get(c.key, {})
            label = code(c.label)
            if c.note:
                label += f" ({c.note})"
            if c.bstmt:
                label += f" (builtin: {code(c.bstmt)})"
            data = f"{c.data} · {'bulk' if c.bulk else 'per-call'}"
            opname = f"`{op}`" if c.section != "consumer" else op
            text = f"{op}: {one_line(c.label)} ({c.data}) ≥ {c.goal:g}× builtin"
            if "error" in t or "error" in ir:
                err = t.get("error") or ir.get("error")
                o.append(f"| {opname} | {label} | {data} | | | | | | | ≥ {c.goal:g}× | "
                         f"**error**: {err} |")
                goals.append({"text": text + " (error)", "value": None, "ok": False})
                continue
            if not t:
                status = "not run"
                if T:  # the timing pass ran but has no such row
                    status = "**not run**"
                    goals.append({"text": text + " (not run)", "value": None, "ok": False})
            else:
                ok = t["ratio"] >= c.goal
                status = "reached" if ok else "**not reached**"
                goals.append({"text": text, "value": t["ratio"], "ok": ok})
            ratio = fmt_r(t["ratio"], c.goal) + "×" if t else "–"
            pairs = f"{fmt_r(t['pair_q1'])}–{fmt_r(t['pair_q3'])}" if t else "–"
            o.append(f"| {opname} | {label} | {data} | {fmt_t(t.get('builtin'))} | "
                     f"{fmt_t(t.get('memview'))} | {ratio} | {pairs} | "
                     f"{fmt_ir(ir.get('builtin'))} | {fmt_ir(ir.get('memview'))} | "
                     f"≥ {c.goal:g}× | {status} |")
    sizes = T.get("_sizeof")
    if sizes:
        o.append(f"\n`sys.getsizeof(m)`, bytes, by dimensions (goal: memview's view no larger "
                 f"than the builtin's up to {SIZEOF_MAX_NDIM}-D):\n")
        o.append("| ndim | builtin | memview | goal |")
        o.append("|---:|---:|---:|---|")
        for s in sizes:
            if s["ndim"] <= SIZEOF_MAX_NDIM:
                ok = s["memview"] <= s["builtin"]
                goals.append({"text": f"sys.getsizeof of a {s['ndim']}-D view ≤ builtin's "
                                      f"({s['memview']} vs {s['builtin']} bytes)",
                              "value": s["builtin"] / s["memview"], "ok": ok})
                st = "reached" if ok else "**not reached**"
            else:
                st = "–"
            o.append(f"| {s['ndim']} | {s['builtin']} | {s['memview']} | {st} |")
    met = sum(g["ok"] for g in goals)
    o.append(f"\nPer-operation goals: {met} of {len(goals)} reached in this run.")
    tm, cm = T.get("_meta", {}), CG.get("_meta", {})
    o.append(f"This table: timings {tm.get('seconds', 0):.0f} s"
             + (" (--quick)" if tm.get("quick") else "")
             + (f", callgrind {cm['seconds']:.0f} s" if cm else ", no callgrind run") + ".\n")
    md = "\n".join(o) + "\n"
    with open(os.path.join(out, "ops.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "ops_goals.tmp"), "w") as f:
        json.dump(goals, f, indent=1)
    return md


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--cg-child":
        out = sys.argv[sys.argv.index("--out") + 1]
        cg_child(out, int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.callgrind:
        s = run_callgrind(a.out, a.quick)
        print(f"bench_ops: callgrind pass {s:.0f} s", file=sys.stderr)
    else:
        s = run_timing(a.out, a.quick)
        print(f"bench_ops: timing pass {s:.0f} s", file=sys.stderr)
    print(render(a.out))


if __name__ == "__main__":
    main()
