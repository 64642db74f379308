"""Foreign formats: buffers whose format memview must not guess at.

Pins two rules of memview.memoryview:

A. A NULL format (an exporter that hands out none, even when PyBUF_FORMAT
   asks for one) means 'B', as PEP 3118 says and as the builtin memoryview
   takes it: .format is 'B', an item is the first byte of each
   itemsize-byte item (read and written), tobytes()/hex() cover every
   byte, and a read-only view hashes as its bytes.  Each case is a
   differential against the builtin memoryview over an identical twin
   exporter, for itemsizes 1, 2 and 8 and 0-D, 1-D, 2-D, strided and
   negative-stride layouts, read-only and writable.
   memview.memoryview(memoryview(x)) must behave as memview.memoryview(x).

   The text 'B' with itemsize > 1 is the same case: the builtin shows a
   NULL format so, _testbuffer re-exports one so, and ctypes exports its
   unions and packed structures so; all read as the builtin reads them.

B. Any other format whose size differs from the exporter's itemsize
   (ctypes structures with padding, nested arrays; 'H' with itemsize 4) is
   refused, never guessed: item access, tolist(), item
   assignment, == between views of equal shape, hash, count and index
   raise NotImplementedError naming the format, the size it describes and
   the itemsize.  Byte-level operations (tobytes, hex, bytes(), cast('B'),
   slicing, re-export) still work.  Where the sizes add up, items read and
   write the values ctypes, NumPy or struct see.

Expectations come from the builtin memoryview over a twin exporter, from
struct, from ctypes fields and from NumPy, never from memview itself.  The
exporters: _memview_testexporter.Exporter (tests/python/testexporter.c,
built with -Dtests=true next to the memview module), ctypes, NumPy and
_testbuffer.

A wrong NULL check crashes the interpreter, so every case runs in a child
interpreter (run_isolated): a crash fails that one case, naming the step it
died in, instead of ending the pytest run.
"""

import ctypes
import gc
import itertools
import os
import re
import signal
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest

from _memview_testexporter import Exporter
from _testbuffer import PyBUF_FULL_RO, PyBUF_STRIDES, PyBUF_WRITABLE, ndarray

from strategies import BUILTIN, MV, describe, diff, is_view, outcome, prod, same

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.splitext(os.path.basename(__file__))[0]


# --------------------------------------------------------------------------
# Running a case in a child interpreter
# --------------------------------------------------------------------------


def run_isolated(check, case_id):
    """Run `check(case_id)` (a function of this module) in a child
    interpreter (the same one, the same environment) and fail the calling
    test if it fails or dies."""
    code = "\n".join([
        "import sys",
        "sys.path.insert(0, %r)" % HERE,
        "import %s as t" % MODULE,
        "try:",
        "    t.%s(%r)" % (check.__name__, case_id),
        "except AssertionError as e:",
        "    sys.exit(str(e))",  # the failed expectations, without a traceback
    ])
    r = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code],
                       capture_output=True, text=True, timeout=600)
    if r.returncode == 0:
        return
    what = "%s(%r)" % (check.__name__, case_id)
    err = r.stderr[-8000:]
    if r.returncode == 1:
        pytest.fail("%s:\n%s" % (what, err), pytrace=False)
    steps = r.stdout.splitlines()
    last = steps[-1] if steps else "(before the first step)"
    try:
        how = signal.Signals(-r.returncode).name
    except ValueError:
        how = "exit status %d" % r.returncode
    pytest.fail("%s: the interpreter died (%s) in step %r\n%s" % (what, how, last, err),
                pytrace=False)


class Checks:
    """The failed expectations of one case, reported together at the end.
    Each step's label is printed (flushed) before it runs, so that a crash
    is reported with the step it happened in."""

    def __init__(self):
        self.failures = []

    def step(self, label):
        print(label, flush=True)

    def fail(self, label, text):
        self.failures.append("%s: %s" % (label, text))

    def same(self, label, want, got):
        """want() (the independent source) and got() (memview) give the
        same result or raise the same exception with the same message (a
        NotImplementedError of the builtin's accepts any result)."""
        self.step(label)
        w, g = outcome(want), outcome(got)
        if not same(w, g):
            extra = ""
            if w.ok and g.ok and is_view(w.value) and is_view(g.value):
                extra = "; differences %r" % (diff(describe(w.value), describe(g.value)),)
            self.fail(label, "expected %r, memview %r%s" % (w, g, extra))

    def equal(self, label, got, expected):
        """got() (memview) returns `expected` (computed independently)."""
        self.step(label)
        g = outcome(got)
        if not (g.ok and same(expected, g.value)):
            self.fail(label, "expected ok(%r), memview %r" % (expected, g))

    def raises(self, label, got, exc, pattern):
        """got() raises exc with a message matching the regex pattern."""
        self.step(label)
        g = outcome(got)
        if g.ok or g.exc is not exc or not re.search(pattern, g.msg):
            self.fail(label, "expected %s matching %r, memview %r" % (exc.__name__, pattern, g))

    def finish(self):
        self.step("done")
        assert not self.failures, "%d expectation(s) failed:\n  %s" % (
            len(self.failures), "\n  ".join(self.failures))


def flatten(x):
    """A nested list (or a 0-D item) as a flat list."""
    if not isinstance(x, list):
        return [x]
    return [y for e in x for y in flatten(e)]


def setitem(v, key, value):
    v[key] = value


def released_exports(c, exporters):
    """After the views are gone, every Exporter has no buffer out."""
    gc.collect()
    for i, ex in enumerate(exporters):
        c.equal("exporter %d: exports after the views are gone" % i, lambda: ex.exports, 0)


# --------------------------------------------------------------------------
# A. NULL formats
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """An Exporter layout in items: `nbase` items of memory, `shape`
    (None: the Exporter's default, 1-D over all of it), `strides` (None:
    C-contiguous) and the offset of the first item."""

    nbase: int
    shape: Optional[tuple]
    strides: Optional[tuple] = None
    offset: int = 0


LAYOUTS = {
    "0d": Layout(3, (), None, 1),
    "1d": Layout(5, None),
    "2d": Layout(6, (2, 3)),
    # rows 0 and 2, columns 1 and 3 of a 3x4 base
    "2d-strided": Layout(12, (2, 2), (8, 2), 1),
    "1d-negative": Layout(5, (5,), (-1,), 4),
    # the rows in reverse
    "2d-negative": Layout(6, (2, 3), (-3, 1), 3),
}


def pattern_bytes(n):
    """n bytes, all different for n <= 256 (so that reading the wrong
    byte of an item shows)."""
    return bytes((7 + 37 * k) % 256 for k in range(n))


@dataclass(frozen=True)
class NullCase:
    """An Exporter with format NULL; build() gives a fresh twin, or with
    variant 'first' / 'last' one whose first logical item differs in its
    first / last byte."""

    itemsize: int
    layout: Layout
    readonly: bool
    format: Optional[str] = None  # 'B': the same, with the text 'B'

    @property
    def shape(self):
        lay = self.layout
        return (lay.nbase,) if lay.shape is None else lay.shape

    def item_offsets(self):
        """Byte offset of each logical item, in C order."""
        lay, isz = self.layout, self.itemsize
        strides = lay.strides
        if strides is None:
            strides = tuple(prod(self.shape[i + 1:]) for i in range(len(self.shape)))
        return [isz * (lay.offset + sum(i * s for i, s in zip(idx, strides)))
                for idx in itertools.product(*map(range, self.shape))]

    def memory(self, variant=None):
        data = bytearray(pattern_bytes(self.layout.nbase * self.itemsize))
        first = self.item_offsets()[0]
        if variant == "first":
            data[first] ^= 0xFF
        elif variant == "last":
            data[first + self.itemsize - 1] ^= 0xFF
        return bytes(data)

    def build(self, variant=None):
        lay, isz = self.layout, self.itemsize
        strides = None if lay.strides is None else tuple(s * isz for s in lay.strides)
        return Exporter(self.memory(variant), isz, shape=lay.shape, strides=strides,
                        format=self.format, readonly=self.readonly, offset=lay.offset * isz)

    def first_bytes(self):
        """The first byte of every item, in C order: what the items are."""
        data = self.memory()
        return bytes(data[o] for o in self.item_offsets())

    def all_bytes(self):
        """Every byte of every item, in C order: what tobytes() is."""
        data = self.memory()
        return b"".join(data[o:o + self.itemsize] for o in self.item_offsets())

    def raw(self, ex):
        return ex.data()


class StridesOnlyNDArray:
    """The bug report's case: a _testbuffer.ndarray re-exporting an 'H'
    ndarray as asked with PyBUF_STRIDES only, so with format NULL and
    itemsize 2 (read-only)."""

    itemsize = 2
    readonly = True
    shape = (3,)
    VALUES = {None: [1, 2, 3], "first": [0xFE, 2, 3], "last": [1 + 0xFE00, 2, 3]}

    def build(self, variant=None):
        if sys.byteorder == "big" and variant in ("first", "last"):
            variant = "last" if variant == "first" else "first"
        z0 = ndarray(self.VALUES[variant], shape=[3], format="H")
        return ndarray(z0, getbuf=PyBUF_STRIDES)

    def all_bytes(self):
        return struct.pack("=3H", *self.VALUES[None])

    def first_bytes(self):
        return self.all_bytes()[::2]

    def raw(self, ex):
        return ex.tobytes()


def null_cases():
    cases = {}
    for isz in (1, 2, 8):
        for lname, lay in LAYOUTS.items():
            for ro in (True, False):
                cid = "isz%d-%s-%s" % (isz, lname, "ro" if ro else "rw")
                cases[cid] = (NullCase(isz, lay, ro), False)
                # memview.memoryview(memoryview(x)): a subset is enough
                if lname in ("0d", "1d", "2d-strided"):
                    cases[cid + "-via-builtin"] = (NullCase(isz, lay, ro), True)
    # The text 'B' with large items is read the same way (the builtin shows
    # a NULL format as 'B', _testbuffer re-exports it so, ctypes exports
    # unions and packed structures so).
    for isz in (2, 8):
        for lname in ("1d", "2d-strided"):
            for ro in (True, False):
                cid = "B-text-isz%d-%s-%s" % (isz, lname, "ro" if ro else "rw")
                cases[cid] = (NullCase(isz, LAYOUTS[lname], ro, "B"), False)
    cases["testbuffer-strides-only"] = (StridesOnlyNDArray(), False)
    cases["testbuffer-strides-only-via-builtin"] = (StridesOnlyNDArray(), True)
    return cases


NULL_CASES = null_cases()

VIEW_ATTRS = ("format", "itemsize", "ndim", "shape", "strides", "suboffsets", "nbytes",
              "readonly", "c_contiguous", "f_contiguous", "contiguous")


def keys_for(shape):
    """Every valid item key, then some invalid ones."""
    if len(shape) == 0:
        return [()], [0, (0,), slice(None)]
    if len(shape) == 1:
        n = shape[0]
        return list(range(-n, n)), [n, -n - 1, (0, 0)]
    rows, cols = shape
    valid = [(i, j) for i in range(-rows, rows) for j in range(-cols, cols)]
    return valid, [(rows, 0), (0, -cols - 1), (0, 0, 0)]


def check_null_format(case_id):
    """Differential of memview.memoryview against the builtin memoryview,
    each over its own twin of a NULL-format exporter."""
    case, via_builtin = NULL_CASES[case_id]
    c = Checks()
    ours = []  # exporters memview views: none may keep a buffer

    def twin(variant=None):
        ex = case.build(variant)
        ours.append(ex)
        return ex

    def mv(ex):
        return MV(BUILTIN(ex)) if via_builtin else MV(ex)

    null_format_reads(c, case, mv, twin)
    null_format_writes(c, case, mv, twin)
    released_exports(c, [ex for ex in ours if isinstance(ex, Exporter)])
    c.finish()


def null_format_reads(c, case, mv, twin):
    B = BUILTIN(case.build())
    M = mv(twin())

    def diff_op(label, op):
        c.same(label, lambda: op(B), lambda: op(M))

    for a in VIEW_ATTRS:
        diff_op(a, lambda v, a=a: getattr(v, a))
    diff_op("len(m)", len)
    diff_op("tobytes()", lambda v: v.tobytes())
    diff_op("tobytes('F')", lambda v: v.tobytes("F"))
    diff_op("tobytes('A')", lambda v: v.tobytes("A"))
    diff_op("hex()", lambda v: v.hex())
    diff_op("hex(':', 3)", lambda v: v.hex(":", 3))
    diff_op("bytes(m)", bytes)
    diff_op("tolist()", lambda v: v.tolist())
    diff_op("list(m)", list)
    c.equal("tobytes() is every byte", lambda: M.tobytes(), case.all_bytes())
    c.equal("tolist() is each item's first byte", lambda: flatten(M.tolist()),
            list(case.first_bytes()))
    if len(case.shape) == 1:
        c.equal("m == bytes(first bytes) holds", lambda: M == case.first_bytes(), True)
    c.equal("bytes(m) is every byte", lambda: bytes(M), case.all_bytes())

    valid, invalid = keys_for(case.shape)
    for key in valid + invalid + [Ellipsis]:
        diff_op("m[%r]" % (key,), lambda v, key=key: v[key])
    if len(case.shape) == 2:
        for i in range(case.shape[0]):
            diff_op("m[%d] (a row)" % i, lambda v, i=i: v[i])
    if case.shape:
        for s in (slice(None), slice(1, None), slice(None, None, 2), slice(None, None, -1),
                  slice(5, 0, -2), slice(0, 0)):
            diff_op("m[%r]" % (s,), lambda v, s=s: v[s])
            diff_op("m[%r].tolist()" % (s,), lambda v, s=s: v[s].tolist())
            diff_op("m[%r].tobytes()" % (s,), lambda v, s=s: v[s].tobytes())

    for fmt in ("B", "c", "H"):
        diff_op("cast(%r)" % fmt, lambda v, fmt=fmt: v.cast(fmt))
        diff_op("cast(%r).tolist()" % fmt, lambda v, fmt=fmt: v.cast(fmt).tolist())
    diff_op("toreadonly()", lambda v: v.toreadonly())
    diff_op("memoryview(m) (re-export)", BUILTIN)
    diff_op("memoryview(m).tolist()", lambda v: BUILTIN(v).tolist())

    # Comparisons: the builtin's answer for the same operands, memview's
    # view in place of a builtin one.
    fb, ab = case.first_bytes(), case.all_bytes()
    ops = [("==", lambda x, y: x == y), ("!=", lambda x, y: x != y)]
    for name, op in ops:
        c.same("m %s builtin twin" % name,
               lambda op=op: op(B, BUILTIN(case.build())), lambda op=op: op(M, BUILTIN(twin())))
        c.same("builtin twin %s m" % name,
               lambda op=op: op(BUILTIN(case.build()), B), lambda op=op: op(BUILTIN(twin()), M))
        c.same("m %s memview twin" % name,
               lambda op=op: op(B, BUILTIN(case.build())), lambda op=op: op(M, mv(twin())))
        c.same("m %s twin exporter (format NULL)" % name,
               lambda op=op: op(B, BUILTIN(case.build())), lambda op=op: op(M, twin()))
        c.same("m %s m" % name, lambda op=op: op(B, B), lambda op=op: op(M, M))
        c.same("m %s bytes(first bytes)" % name, lambda op=op: op(B, fb), lambda op=op: op(M, fb))
        c.same("bytes(first bytes) %s m" % name, lambda op=op: op(fb, B), lambda op=op: op(fb, M))
        c.same("m %s bytes(every byte)" % name, lambda op=op: op(B, ab), lambda op=op: op(M, ab))
        c.same("m %s 1" % name, lambda op=op: op(B, 1), lambda op=op: op(M, 1))
        for variant in ("first", "last"):
            c.same("m %s memview twin differing in the %s byte of an item" % (name, variant),
                   lambda op=op, variant=variant: op(B, BUILTIN(case.build(variant))),
                   lambda op=op, variant=variant: op(M, mv(twin(variant))))
            c.same("m %s builtin twin differing in the %s byte of an item" % (name, variant),
                   lambda op=op, variant=variant: op(B, BUILTIN(case.build(variant))),
                   lambda op=op, variant=variant: op(M, BUILTIN(twin(variant))))

    diff_op("hash(m)", hash)
    diff_op("hash(m) == hash(m.tobytes())", lambda v: hash(v) == hash(v.tobytes()))
    diff_op("hash(m.toreadonly())", lambda v: hash(v.toreadonly()))
    c.equal("hash(m.toreadonly()) is the hash of its bytes",
            lambda: hash(M.toreadonly()), hash(case.all_bytes()))


def null_format_writes(c, case, mv, twin):
    """The same writes through each view; then each exporter's memory."""
    exb, exm = case.build(), twin()
    B, M = BUILTIN(exb), mv(exm)

    def diff_write(label, key, value, value_m=None):
        c.same(label, lambda: setitem(B, key, value),
               lambda: setitem(M, key, value if value_m is None else value_m))

    valid, invalid = keys_for(case.shape)
    for k, key in enumerate(valid):
        diff_write("m[%r] = %d" % (key, 0xA0 + k), key, 0xA0 + k)
    for bad in (256, -1, b"x", 1.5, "a", None):
        diff_write("m[%r] = %r" % (valid[0], bad), valid[0], bad)
    for key in invalid:
        diff_write("m[%r] = 1" % (key,), key, 1)

    if len(case.shape) == 1 and case.shape[0] >= 2:
        isz = case.itemsize
        src1 = bytes(range(200, 200 + 2 * isz))
        src2 = bytes(range(100, 100 + 2 * isz))
        diff_write("m[0:2] = memoryview(NULL-format exporter)", slice(0, 2),
                   BUILTIN(Exporter(src1, isz)), BUILTIN(Exporter(src1, isz)))
        # The builtin dies on a NULL format in its rvalue: it gets one
        # from the builtin (which shows NULL as 'B'), memview the raw one.
        diff_write("m[-2:] = NULL-format exporter", slice(-2, None),
                   BUILTIN(Exporter(src2, isz)), Exporter(src2, isz))
        diff_write("m[1:3] = memview.memoryview(NULL-format exporter)", slice(1, 3),
                   BUILTIN(Exporter(src1, isz)), MV(Exporter(src1, isz)))
        diff_write("m[::2] = bytes", slice(None, None, 2),
                   bytes(range(50, 50 + len(range(0, case.shape[0], 2)))))
        diff_write("m[0:2] = bytes(2 * itemsize)", slice(0, 2), bytes(range(60, 60 + 2 * isz)))
    c.same("exporter memory after the writes", lambda: case.raw(exb), lambda: case.raw(exm))


@pytest.mark.parametrize("case_id", list(NULL_CASES))
def test_null_format_as_builtin(case_id):
    run_isolated(check_null_format, case_id)


def check_strides_only_report(_):
    """The bug report's two symptoms, stated directly."""
    case = StridesOnlyNDArray()
    c = Checks()
    z = case.build()
    c.equal("hash(M(z)) == hash(M(z).tobytes())",
            lambda: hash(MV(z)) == hash(MV(z).tobytes()), True)
    c.equal("hash(M(z)) == hash(memoryview(z))", lambda: hash(MV(z)), hash(BUILTIN(z)))
    c.equal("(M(z) == memoryview(z)) == (memoryview(z) == M(z))",
            lambda: (MV(z) == BUILTIN(z), BUILTIN(z) == MV(z)),
            (BUILTIN(z) == BUILTIN(z),) * 2)
    c.finish()


def test_strides_only_ndarray_report():
    run_isolated(check_strides_only_report, "")


# --------------------------------------------------------------------------
# B. Formats whose size is not the itemsize
# --------------------------------------------------------------------------


class Padded(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]


class Union(ctypes.Union):
    _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]


class Packed(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]


class Nested(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint16 * 3), ("b", ctypes.c_double)]


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32)]


RECORD = [("a", "u1"), ("b", "<u4")]


@dataclass(frozen=True)
class ForeignCase:
    """An exporter built by `build(changed)` (changed: its first item's
    value differs); `described` is the struct format of the same layout,
    whose calcsize is the size the exporter's format describes; `value` an
    item value to assign; `read(ex)` the exporter's items as its own API
    (ctypes fields, NumPy, struct) gives them, flat, in order."""

    build: object
    described: str
    value: object
    read: object = None

    def raw(self, ex):
        if isinstance(ex, Exporter):
            return ex.data()
        if isinstance(ex, np.ndarray):
            return ex.tobytes()
        return bytes(ex)


def pair_values(x):
    items = x if isinstance(x, ctypes.Array) else [x]
    return [(e.a, e.b) for e in items]


def record_values(a):
    return [(int(r["a"]), int(r["b"])) for r in a]


def h_values(ex):
    data = ex.data()
    return list(struct.unpack("@%dH" % (len(data) // 2), data))


def padded_array(changed=False):
    return (Padded * 3)(Padded(9 if changed else 1, 0x01020304), Padded(2, 0x05060708),
                        Padded(3, 0x090A0B0C))


def records(align, changed):
    """Three records; zeroed first, so that aligned twins' padding agrees."""
    a = np.zeros(3, dtype=np.dtype(RECORD, align=align))
    a["a"] = [7 if changed else 1, 2, 255]
    a["b"] = [0x01020304, 0xA0B0C0D0, 7]
    return a


REFUSED = {
    # T{<B:a:<I:b:}, itemsize 8: 1 + 4 bytes described, 3 of padding
    "ctypes-padded": ForeignCase(lambda changed=False: Padded(9 if changed else 1, 0x01020304),
                                 "<BI", (5, 6)),
    "ctypes-padded-array": ForeignCase(padded_array, "<BI", (5, 6)),
    # T{(3)<H:a:<d:b:}, itemsize 16: 14 bytes described
    "ctypes-nested-array": ForeignCase(
        lambda changed=False: Nested((9 if changed else 1, 2, 3), 2.5), "<3Hd", ((5, 6, 7), 1.0)),
    "exporter-H-itemsize-4": ForeignCase(
        lambda changed=False: Exporter(bytes([9 if changed else 1]) + pattern_bytes(15), 4,
                                       format="H", readonly=False), "H", 5),
}

# The text 'B' with itemsize > 1, as ctypes hands it out for unions and
# packed structures: read as the builtin reads it (each item's first byte),
# as a NULL format is (section A).
BYTE_TEXT = {
    # 'B', itemsize 4
    "ctypes-union": ForeignCase(
        lambda changed=False: Union(b=0x01020309 if changed else 0x01020304), "B", 5),
    "ctypes-union-array": ForeignCase(
        lambda changed=False: (Union * 2)(Union(b=0x01020309 if changed else 0x01020304),
                                          Union(b=0x05060708)), "B", 5),
    # 'B', itemsize 5
    "ctypes-packed": ForeignCase(lambda changed=False: Packed(9 if changed else 1, 0x01020304),
                                 "B", 5),
    "ctypes-packed-array": ForeignCase(
        lambda changed=False: (Packed * 3)(Packed(9 if changed else 1, 0x01020304),
                                           Packed(2, 0x05060708), Packed(3, 0x090A0B0C)), "B", 5),
    "exporter-B-itemsize-4": ForeignCase(
        lambda changed=False: Exporter(bytes([9 if changed else 1]) + pattern_bytes(15), 4,
                                       format="B", readonly=False), "B", 5),
}

CONSISTENT = {
    # T{<I:a:<I:b:}, itemsize 8
    "ctypes-no-padding": ForeignCase(
        lambda changed=False: Pair(9 if changed else 1, 0xA0B0C0D0), "<II", (5, 6), pair_values),
    "ctypes-no-padding-array": ForeignCase(
        lambda changed=False: (Pair * 3)(Pair(9 if changed else 1, 0xA0B0C0D0), Pair(2, 3),
                                         Pair(1, 0xA0B0C0D0)), "<II", (5, 6), pair_values),
    "ctypes-array-of-pairs-2d": ForeignCase(
        lambda changed=False: ((Pair * 2) * 2)((Pair(9 if changed else 1, 2), Pair(3, 4)),
                                               (Pair(5, 6), Pair(7, 8))),
        "<II", (5, 6), lambda x: [(e.a, e.b) for row in x for e in row]),
    # T{B:a:=I:b:}, itemsize 5
    "numpy-packed": ForeignCase(lambda changed=False: records(False, changed), "=BI", (5, 6),
                                record_values),
    # T{B:a:xxxI:b:}, itemsize 8
    "numpy-aligned": ForeignCase(lambda changed=False: records(True, changed), "@BxxxI", (5, 6),
                                 record_values),
    "exporter-H-itemsize-2": ForeignCase(
        lambda changed=False: Exporter(bytes([9 if changed else 1]) + pattern_bytes(15), 2,
                                       format="H", readonly=False), "@H", 5, h_values),
}


def first_key(ndim):
    return (0,) * ndim if ndim != 1 else 0


def replica(ref):
    """An Exporter with the descriptor and bytes of the builtin view ref
    (C-contiguous, read-only): unlike ctypes objects and NumPy arrays it is
    hashable, so hash(view) gets past hash(exporter)."""
    return Exporter(ref.tobytes(), ref.itemsize, shape=ref.shape, format=ref.format)


def check_with_twins(case, ops):
    """ops(c, case, twin, ours) on twins of the case's exporter (twin(True):
    one whose first item differs); then no Exporter has a buffer out."""
    c = Checks()
    ours = []

    def twin(changed=False):
        ex = case.build(changed)
        ours.append(ex)
        return ex

    ops(c, case, twin, ours)
    released_exports(c, [ex for ex in ours if isinstance(ex, Exporter)])
    c.finish()


def check_refused(case_id):
    check_with_twins(REFUSED[case_id], refused_ops)


def refused_ops(c, case, twin, ours):
    ref = BUILTIN(case.build())  # attributes and bytes, from the builtin
    fmt, isz, ndim = ref.format, ref.itemsize, ref.ndim
    size = struct.calcsize(case.described)
    assert size != isz, "not a refused case: %s describes %d bytes, itemsize %d" % (fmt, size, isz)
    refusal = r"%s.*\b%d-byte\b.*\bitemsize is %d\b" % (re.escape(fmt), size, isz)
    nie = NotImplementedError

    M = MV(twin())
    key = first_key(ndim)

    # Value operations are refused.
    c.raises("m[%r]" % (key,), lambda: M[key], nie, refusal)
    if ndim:
        c.raises("m[-1]" if ndim == 1 else "m[-1, ...]",
                 lambda: M[-1] if ndim == 1 else M[(-1,) * ndim], nie, refusal)
    c.raises("tolist()", lambda: M.tolist(), nie, refusal)
    exw = twin()
    before = case.raw(exw)
    c.raises("m[%r] = %r" % (key, case.value), lambda: setitem(MV(exw), key, case.value), nie,
             refusal)
    c.equal("memory after the refused assignment", lambda: case.raw(exw), before)
    c.raises("m == memview twin", lambda: M == MV(twin()), nie, refusal)
    c.raises("m != memview twin", lambda: M != MV(twin()), nie, refusal)
    c.raises("m == memview twin with another first item", lambda: M == MV(twin(True)), nie,
             refusal)
    c.raises("m == builtin twin", lambda: M == BUILTIN(twin()), nie, refusal)
    c.raises("m == twin exporter", lambda: M == twin(), nie, refusal)
    c.raises("m == m[...]", lambda: M == M[...], nie, refusal)
    rep = replica(ref)
    ours.append(rep)
    c.raises("hash(m) (an Exporter replica, read-only)", lambda: hash(MV(rep)), nie, refusal)
    c.raises("hash(m.toreadonly()) (an Exporter replica)",
             lambda: hash(MV(rep).toreadonly()), nie, refusal)
    c.raises("m[%r] (an Exporter replica)" % (key,), lambda: MV(rep)[key], nie, refusal)
    if ndim:
        c.raises("count", lambda: M.count(case.value), nie, refusal)
        c.raises("index", lambda: M.index(case.value), nie, refusal)

    # Comparisons that need no items are answered: not a buffer, or a
    # buffer of another shape (the builtin compares shapes first).
    c.equal("m == 1", lambda: M == 1, False)
    c.equal("m != 1", lambda: M != 1, True)
    c.equal("m == bytes(obj) (another shape)", lambda: M == ref.tobytes(),
            ref == ref.tobytes())

    # Byte-level operations work, as the builtin's.
    raw = case.raw(case.build())
    for a in VIEW_ATTRS:
        c.equal(a, lambda a=a: getattr(M, a), getattr(ref, a))
    c.equal("len(m)", lambda: len(M), len(ref))
    c.equal("nbytes is the exporter's size", lambda: M.nbytes, len(raw))
    c.equal("tobytes()", lambda: M.tobytes(), raw)
    c.equal("hex()", lambda: M.hex(), raw.hex())
    c.equal("bytes(m)", lambda: bytes(M), raw)
    c.equal("toreadonly().tobytes()", lambda: M.toreadonly().tobytes(), raw)
    c.equal("cast('B').tolist()", lambda: M.cast("B").tolist(), list(raw))
    c.equal("cast('B').shape", lambda: M.cast("B").shape, (len(raw),))
    c.equal("cast('B').format", lambda: M.cast("B").format, "B")
    c.equal("memoryview(m).tobytes()", lambda: BUILTIN(M).tobytes(), raw)
    c.equal("memoryview(m).format", lambda: BUILTIN(M).format, fmt)
    c.equal("memoryview(m).itemsize", lambda: BUILTIN(M).itemsize, isz)
    c.equal("memoryview(m).shape", lambda: BUILTIN(M).shape, ref.shape)
    if ndim:
        for s in (slice(0, 1), slice(1, None), slice(None, None, 2), slice(None, None, -1)):
            c.equal("m[%r].tobytes()" % (s,), lambda s=s: M[s].tobytes(), ref[s].tobytes())
            c.equal("m[%r].shape" % (s,), lambda s=s: M[s].shape, ref[s].shape)


@pytest.mark.parametrize("case_id", list(REFUSED))
def test_format_size_mismatch_refused(case_id):
    run_isolated(check_refused, case_id)


def check_byte_text(case_id):
    check_with_twins(BYTE_TEXT[case_id], byte_text_ops)


def byte_text_ops(c, case, twin, ours):
    """Differential against the builtin over twin exporters: reads, writes,
    comparisons and the hash of a hashable replica."""
    B, M = BUILTIN(case.build()), MV(twin())
    assert B.format == "B" and B.itemsize > 1, (B.format, B.itemsize)
    for a in VIEW_ATTRS:
        c.same(a, lambda a=a: getattr(B, a), lambda a=a: getattr(M, a))
    for label, op in [("tolist()", lambda v: v.tolist()), ("list(m)", list),
                      ("tobytes()", lambda v: v.tobytes()), ("hex()", lambda v: v.hex()),
                      ("m[0]", lambda v: v[0]), ("m[-1]", lambda v: v[-1]),
                      ("m[::-1].tolist()", lambda v: v[::-1].tolist()),
                      ("cast('B').tolist()", lambda v: v.cast("B").tolist())]:
        c.same(label, lambda op=op: op(B), lambda op=op: op(M))
    raw = case.raw(case.build())
    c.equal("items are each item's first byte", lambda: flatten(M.tolist()),
            [raw[i * B.itemsize] for i in range(len(raw) // B.itemsize)])
    for name, op in [("==", lambda x, y: x == y), ("!=", lambda x, y: x != y)]:
        for which in (False, True):
            c.same("m %s builtin twin (changed %s)" % (name, which),
                   lambda op=op, which=which: op(B, BUILTIN(case.build(which))),
                   lambda op=op, which=which: op(M, BUILTIN(twin(which))))
            c.same("builtin twin (changed %s) %s m" % (which, name),
                   lambda op=op, which=which: op(BUILTIN(case.build(which)), B),
                   lambda op=op, which=which: op(BUILTIN(twin(which)), M))
            c.same("m %s memview twin (changed %s)" % (name, which),
                   lambda op=op, which=which: op(B, BUILTIN(case.build(which))),
                   lambda op=op, which=which: op(M, MV(twin(which))))
    R = replica(B)
    c.equal("hash of a read-only replica is the hash of its bytes",
            lambda: hash(MV(R)), hash(B.tobytes()))
    exb, exm = case.build(), twin()
    Bw, Mw = BUILTIN(exb), MV(exm)
    for key, value in [(0, 0xA5), (-1, 0x5A), (0, 256), (0, b"x")]:
        c.same("m[%r] = %r" % (key, value), lambda k=key, v=value: setitem(Bw, k, v),
               lambda k=key, v=value: setitem(Mw, k, v))
    c.same("exporter memory after the writes", lambda: case.raw(exb), lambda: case.raw(exm))


@pytest.mark.parametrize("case_id", list(BYTE_TEXT))
def test_byte_text_with_large_items_as_builtin(case_id):
    run_isolated(check_byte_text, case_id)


def check_consistent(case_id):
    check_with_twins(CONSISTENT[case_id], consistent_ops)


def consistent_ops(c, case, twin, ours):
    ref = BUILTIN(case.build())
    assert struct.calcsize(case.described) == ref.itemsize, case.described
    values = case.read(case.build())  # flat, C order
    shape = ref.shape

    def nest(flat, shape):
        if not shape:
            return flat[0]
        step = len(flat) // shape[0]
        if len(shape) == 1:
            return list(flat)
        return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]

    ex = twin()
    M = MV(ex)
    c.equal("tolist()", lambda: M.tolist(), nest(values, shape))
    keys = list(itertools.product(*map(range, shape)))
    for k, key in enumerate(keys):
        c.equal("m[%r]" % (key,), lambda key=key: M[key], values[k])
    if len(shape) == 1:
        c.equal("m[-1]", lambda: M[-1], values[-1])
        c.equal("count", lambda: M.count(values[0]), values.count(values[0]))
        c.equal("index", lambda: M.index(values[-1]), values.index(values[-1]))
    c.equal("tobytes()", lambda: M.tobytes(), case.raw(ex))
    c.equal("format", lambda: M.format, ref.format)
    c.equal("m == memview twin", lambda: M == MV(twin()), True)
    c.equal("m != memview twin", lambda: M != MV(twin()), False)
    c.equal("m == builtin twin", lambda: M == BUILTIN(twin()), True)
    c.equal("m == twin exporter", lambda: M == twin(), True)
    c.equal("m == twin with another first item", lambda: M == MV(twin(True)), False)
    rep1, rep2 = replica(ref), replica(ref)
    ours.extend([rep1, rep2])
    c.equal("tolist() (an Exporter replica)", lambda: MV(rep1).tolist(), nest(values, shape))
    c.equal("hash of equal twins (Exporter replicas)",
            lambda: hash(MV(rep1)) == hash(MV(rep2)), True)

    key = keys[0]
    c.equal("m[%r] = %r" % (key, case.value), lambda: setitem(M, key, case.value), None)
    c.equal("the exporter's first item after the assignment", lambda: case.read(ex)[0],
            case.value)
    c.equal("the exporter's other items after the assignment", lambda: case.read(ex)[1:],
            values[1:])


@pytest.mark.parametrize("case_id", list(CONSISTENT))
def test_format_size_consistent_reads_right(case_id):
    run_isolated(check_consistent, case_id)


# --------------------------------------------------------------------------
# The exporter itself (no memview): the descriptors above are what it says
# --------------------------------------------------------------------------


def test_exporter_descriptor():
    ex = Exporter(pattern_bytes(24), 2, shape=(2, 3), strides=(-6, 2), offset=6,
                  format=None, readonly=False)
    b = BUILTIN(ex)
    assert (b.format, b.itemsize, b.shape, b.strides, b.readonly) == \
        ("B", 2, (2, 3), (-6, 2), False)
    assert ex.exports == 1
    b[1, 2] = 0xEE  # the first byte of item (1, 2): offset 6 - 6 + 2 * 2
    assert ex.data() == pattern_bytes(4) + b"\xee" + pattern_bytes(24)[5:]
    b.release()
    assert ex.exports == 0
    nd = ndarray(ex, getbuf=PyBUF_FULL_RO)  # asked for a format, given none
    assert (nd.format, nd.itemsize, nd.shape) == ("", 2, (2, 3))
    del nd
    assert ex.exports == 0
    with pytest.raises(BufferError):
        ndarray(Exporter(b"ab", 1), getbuf=PyBUF_WRITABLE)
    assert BUILTIN(Exporter(b"abcd", 2, shape=())).tobytes() == b"ab"
    with pytest.raises(ValueError):
        Exporter(bytes(4), 2, shape=(3,))  # outside the data
    with pytest.raises(TypeError):
        type("Sub", (Exporter,), {})  # not a base type
