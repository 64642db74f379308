"""Hostile exporters: descriptors that lie, callbacks that fight back, threads.

1. Lying descriptors.  _memview_testexporter.Exporter(..., unchecked=True)
   hands out descriptors that contradict themselves: itemsize <= 0, shape
   entries < 0 or 0, extents whose arithmetic overflows Py_ssize_t, a len
   that is not product(shape) * itemsize, a format whose size is not the
   itemsize, NULL / empty / malformed formats with every itemsize, ndim
   above PyBUF_MAX_NDIM or negative, NULL shape with ndim > 0, NULL or
   given strides.  Every operation of memview.memoryview on such an
   exporter must either raise a clear exception (ValueError, TypeError,
   BufferError, NotImplementedError, IndexError or OverflowError, with a
   message) or give what the builtin memoryview gives on an identical
   exporter; where the descriptor is consistent (PEP 3118 allows it), it
   must give what the builtin gives (or do more where the builtin stops
   for a limitation: NotImplementedError, the messages of
   strategies.LIMITATION_MESSAGES, and == where struct rejects the format).
   The builtin runs too, in its own child process: when it crashes,
   memview is only required not to.  Every operation starts from a fresh
   exporter, and afterwards the exporter must have no buffer out (no
   leaked export).  Slicing a view with strides near 2**62 must give
   layouts without overflowed strides.

2. Callbacks that fight back.  Every place the binding (python/*.c) converts an
   argument by calling into Python (PyNumber_Index / PyNumber_AsSsize_t:
   item and slice keys, item values, hex(bytes_per_sep), index()/find()
   bounds, find()'s integer needle, split(maxsplit); PyFloat_AsDouble,
   PyComplex_AsCComplex and PyObject_IsTrue: item values; PySequence_Tuple:
   multi-value item values; PyObject_Length: hex(sep); PyLong_AsLong:
   __reduce_ex__(protocol); PyObject_Hash: hash(m.obj);
   PyObject_RichCompareBool: count / index / in, and the reflected __eq__
   of ==; PyObject_GetBuffer: slice assignment, ==, find / startswith /
   endswith / split, and the constructor; cast()'s shape, whose elements
   must be ints and whose hooks must never run) is driven by an object
   whose hook releases the view, resizes or closes the exporter
   (bytearray, mmap, array.array), or raises.  Python 3.11 classes cannot
   export buffers (__buffer__ is 3.12+), so the exporter whose getbuffer
   runs Python code is Exporter(getbuffer_hook=...), a C exporter that
   calls back.  The operation must either complete on the memory it
   pinned, with the value computed here from the bytes put in (and a write
   visible in the exporter), or raise BufferError / ValueError (the hook's
   own exception when it raised); nothing may touch freed memory (run this
   file under ASan too), and afterwards the exporter can be resized again
   and its reference count is the same after 50 repetitions.  Exporters
   fight back too: hash(m) with a __hash__ of m.obj that releases m, a
   bf_releasebuffer that runs Python code (using the view being released,
   exporting again, raising), a getbuffer that takes a view of its own
   exporter, a getbuffer that raises; and str subclasses as cast() /
   tobytes() arguments.

3. Threads: views sliced, exported (memview.memoryview(m), NumPy,
   bytes(m)) and released in several threads while another resizes the
   bytearray in a loop: the resize raises BufferError exactly while a
   view is out and succeeds once all are released.

Every case runs in a forked child process (run_steps): a crash fails the
steps it killed, naming them, and the run goes on with the next step in a
new child.
"""

import array
import builtins
import faulthandler
import gc
import mmap
import os
import signal
import struct
import sys
import tempfile
import threading
import time

import pytest

import memview
from _memview_testexporter import Exporter

from strategies import LIMITATION_MESSAGES

MV = memview.memoryview
BUILTIN = builtins.memoryview

RESIZE = "Existing exports of data: object cannot be re-sized"

# Exceptions a refusal may raise (with a message): anything else - a
# SystemError, a MemoryError for a descriptor of a few bytes - is not a
# clear refusal.
CLEAR = (ValueError, TypeError, BufferError, NotImplementedError, IndexError, OverflowError)

STEP_TIMEOUT = 60.0  # seconds a child may go without finishing a step


# --------------------------------------------------------------------------
# Running steps in forked children
# --------------------------------------------------------------------------


def run_steps(steps, timeout=STEP_TIMEOUT, max_deaths=5, quick_death=False, groups=None):
    """Run the callables of `steps` ((label, fn) pairs), in order, in forked
    children: one child runs steps until it dies, the next one starts at
    the step after the one that killed it.  Returns one entry per step:
    ('ok', repr(fn())), ('exc', 'Type: message') or ('died', how, with
    the child's stderr: the faulthandler traceback or the ASan report).
    After max_deaths deaths in one group (groups: a key per step; by
    default all steps are one group) the group's remaining steps are not
    run (marked as died).  quick_death: a crash only gets Python's
    traceback, not a sanitizer's report (for the builtin's crashes, which
    are expected)."""
    groups = groups or [0] * len(steps)
    results = [None] * len(steps)
    deaths = {}
    i = 0
    while i < len(steps):
        skip = {g for g, n in deaths.items() if n >= max_deaths}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    os.dup2(err.fileno(), 2)  # ASan and UBSan write there
                    if quick_death:
                        for sig in (signal.SIGSEGV, signal.SIGFPE, signal.SIGBUS):
                            signal.signal(sig, signal.SIG_DFL)
                    faulthandler.enable(file=err, all_threads=True)
                    for k in range(i, len(steps)):
                        if groups[k] in skip:
                            continue
                        os.write(out.fileno(), b"S %d\n" % k)
                        try:
                            res = ("ok", repr(steps[k][1]()))
                        except BaseException as e:  # noqa: BLE001 - recorded
                            res = ("exc", "%s: %s" % (type(e).__name__, e))
                        os.write(out.fileno(), (repr((k,) + res) + "\n").encode())
                except BaseException:  # noqa: BLE001
                    code = 3
                finally:
                    os._exit(code)
            # The deadline moves on with every step the child reports, so
            # a slow machine (ASan) only fails a step that hangs.
            deadline = time.monotonic() + timeout
            reported = 0
            status = None
            while True:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
                    break
                size = os.fstat(out.fileno()).st_size
                if size != reported:
                    reported = size
                    deadline = time.monotonic() + timeout
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.002)
            out.seek(0)
            started = None
            for line in out.read().decode().splitlines():
                if line.startswith("S "):
                    started = int(line[2:])
                else:
                    k, kind, text = eval(line, {})  # our own repr() of str tuples
                    results[k] = (kind, text)
                    started = None
            for k in range(i, len(steps)):
                if results[k] is None and groups[k] in skip:
                    results[k] = ("died", "not run: %d steps of its group died before it"
                                  % deaths[groups[k]])
            missing = [k for k in range(i, len(steps)) if results[k] is None]
            if not missing:
                break
            dead = started if started is not None else missing[0]
            if status is None:
                how = "hung (killed after %gs)" % timeout
            elif os.WIFSIGNALED(status):
                how = "killed by %s" % signal.Signals(os.WTERMSIG(status)).name
            else:
                how = "exit status %d" % os.WEXITSTATUS(status)
            err.seek(0)
            results[dead] = ("died", "%s\n%s" % (how, trim_report(err.read().decode(
                errors="replace"))))
            deaths[groups[dead]] = deaths.get(groups[dead], 0) + 1
            i = dead + 1
    return results


def trim_report(text):
    """The head of a child's stderr: a sanitizer's error line and its first
    frames, the faulthandler traceback, and the sanitizer's summary."""
    lines = text.splitlines()
    keep = lines[:24]
    keep += [ln for ln in lines[24:] if ln.startswith("SUMMARY:")]
    return "\n".join(keep)


def outcome(fn):
    """fn()'s result as comparable text: ('ok', value) with views described
    by their attributes and contents, or ('exc', type name, message)."""
    try:
        return ("ok", describe(fn()))
    except Exception as e:  # noqa: BLE001 - the point is to record it
        return ("exc", type(e).__name__, str(e))


ATTRS = ("format", "itemsize", "ndim", "shape", "strides", "suboffsets", "nbytes",
         "readonly", "c_contiguous", "f_contiguous", "contiguous")


def describe(v):
    """A comparable record of a result: views as their attributes and
    contents (each an outcome), sequences holding views element by element,
    anything else as its repr."""
    if isinstance(v, (MV, BUILTIN)):
        d = [(a, outcome(lambda a=a: getattr(v, a))) for a in ATTRS]
        d.append(("tobytes", outcome(v.tobytes)))
        d.append(("tolist", outcome(v.tolist)))
        return ("view", tuple(d))
    if isinstance(v, (list, tuple)) and any(isinstance(x, (MV, BUILTIN)) for x in v):
        return ("seq", tuple(describe(x) for x in v))
    return repr(v)


def brief(res):
    """An outcome shortened for a report."""
    text = repr(res)
    return text if len(text) <= 300 else text[:300] + "..."


def limitation(o):
    """The builtin's outcome o is a refusal for a limitation memview removes
    (or a method it lacks)."""
    return o[0] == "exc" and (o[1] in ("NotImplementedError", "AttributeError") or
                              (getattr(builtins, o[1], None), o[2]) in LIMITATION_MESSAGES)


def judge(mine, theirs, valid, where=""):
    """Why memview's outcome `mine` is not acceptable next to the builtin's
    `theirs` (None: the builtin died there), as a list of reasons."""
    if mine[0] == "exc":
        typ = getattr(builtins, mine[1], None)
        if not (isinstance(typ, type) and issubclass(typ, CLEAR)) or not mine[2]:
            return ["%snot a clear refusal: %s(%r)" % (where, mine[1], mine[2])]
        if valid and theirs is not None and theirs[0] == "ok":
            return ["%srefused a consistent descriptor: %s(%r), builtin %s" % (
                where, mine[1], mine[2], brief(theirs))]
        return []
    if theirs is None or limitation(theirs):
        return []  # the builtin died, or memview does more where it stops
    if theirs[0] == "exc":
        return ["%smemview %s, builtin %s" % (where, brief(mine), brief(theirs))]
    a, b = mine[1], theirs[1]
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "view":
        db = dict(b[1])
        return [r for k, o in a[1] for r in judge(o, db[k], valid, "%s.%s: " % (where, k))]
    if (isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "seq" and
            len(a[1]) == len(b[1])):
        return [r for i, (x, y) in enumerate(zip(a[1], b[1]))
                for r in judge(("ok", x), ("ok", y), valid, "%s[%d]: " % (where, i))]
    if a != b:
        return ["%smemview %s, builtin %s" % (where, brief(mine), brief(theirs))]
    return []


def acceptable(mv, bi, valid):
    """The reasons (a list) why memview's run_steps entry `mv` of a lie
    step is not acceptable next to the builtin's entry `bi`."""
    if mv[0] == "died":
        return ["memview died: " + mv[1]]
    if mv[0] == "exc":
        return ["the step failed: %s" % mv[1]]
    res, exports = eval(mv[1], {})
    if exports != 0:
        return ["leaked export: the exporter has %d buffer(s) out after %s" % (
            exports, brief(res))]
    return judge(res, eval(bi[1], {})[0] if bi[0] == "ok" else None, valid)


# --------------------------------------------------------------------------
# 1. Lying descriptors
# --------------------------------------------------------------------------

# 64 bytes, all different: reading the wrong byte shows.
PATTERN = bytes((7 + 37 * k) % 256 for k in range(64))


def first(m):
    """m's first item, for any ndim (m[()] for 0-D)."""
    return m[0] if m.ndim == 1 else m[(0,) * m.ndim]


def last(m):
    return m[-1] if m.ndim == 1 else m[(-1,) * m.ndim]


def op_release(M, e, make):
    m = M(e)
    m.release()
    m.release()
    return outcome(lambda: m.nbytes)


def op_context(M, e, make):
    with M(e) as m:
        n = m.nbytes
    return n, outcome(m.tobytes)


def op_setitem(M, e, make):
    m = M(e)
    m[(0,) * m.ndim] = 1 if m.format not in ("c",) else b"\x01"
    return e.data()


def op_setslice(M, e, make):
    m = M(e)
    m[0:1] = m[1:2]
    return e.data()


def op_derived(M, e, make):
    """Derived views, released in an order that leaves the base last."""
    m = M(e)
    d = [m[1:], m[::-1], m.toreadonly(), M(m)]
    m.release()
    return d


LIE_OPS = [
    ("construct", lambda M, e, make: type(M(e)).__name__),
    ("len", lambda M, e, make: len(M(e))),
] + [
    ("." + a, lambda M, e, make, a=a: getattr(M(e), a)) for a in ATTRS
] + [
    ("obj", lambda M, e, make: M(e).obj is e),
    ("tobytes", lambda M, e, make: M(e).tobytes()),
    ("tobytes('F')", lambda M, e, make: M(e).tobytes("F")),
    ("tobytes('A')", lambda M, e, make: M(e).tobytes("A")),
    ("bytes(m)", lambda M, e, make: bytes(M(e))),
    ("tolist", lambda M, e, make: M(e).tolist()),
    ("hex", lambda M, e, make: M(e).hex()),
    ("hex(':', 3)", lambda M, e, make: M(e).hex(":", 3)),
    ("first item", lambda M, e, make: first(M(e))),
    ("last item", lambda M, e, make: last(M(e))),
    ("m[10**6]", lambda M, e, make: M(e)[10 ** 6]),
    ("m[1:]", lambda M, e, make: M(e)[1:]),
    ("m[::-1]", lambda M, e, make: M(e)[::-1]),
    ("m[::2]", lambda M, e, make: M(e)[::2]),
    ("m[5:2]", lambda M, e, make: M(e)[5:2]),
    ("cast('B')", lambda M, e, make: M(e).cast("B")),
    ("cast('c')", lambda M, e, make: M(e).cast("c")),
    ("m == m", lambda M, e, make: (lambda m: m == m)(M(e))),
    ("m == twin", lambda M, e, make: M(e) == M(make())),
    ("m == twin exporter", lambda M, e, make: M(e) == make()),
    ("m != data", lambda M, e, make: M(e) != e.data()),
    ("hash", lambda M, e, make: hash(M(e))),
    ("release", op_release),
    ("with", op_context),
    ("iteration", lambda M, e, make: list(M(e))),
    ("builtin re-export", lambda M, e, make: BUILTIN(M(e))),
    ("M(M(e))", lambda M, e, make: M(M(e))),
    ("toreadonly", lambda M, e, make: M(e).toreadonly()),
    ("count(0)", lambda M, e, make: M(e).count(0)),
    ("derived", op_derived),
    ("m[first] = 1", op_setitem),
    ("m[0:1] = m[1:2]", op_setslice),
]


def lie(name, itemsize, valid=False, **kw):
    """A case: Exporter(PATTERN, itemsize, unchecked=True, offset=16, **kw);
    `valid`: the descriptor is consistent, so memview must not refuse what
    the builtin does."""
    kw.setdefault("offset", 16)
    return pytest.param(name, itemsize, valid, kw, id=name)


BIG = 1 << 62

LIES = [
    # itemsize
    lie("itemsize0", 0, shape=[3]),
    lie("itemsize0-B", 0, shape=[3], format="B"),
    lie("itemsize0-len3", 0, shape=[3], len=3),
    lie("itemsize0-null-shape", 0, shape=[3], null_shape=True, null_strides=True),
    lie("itemsize0-null-shape-len3", 0, shape=[3], len=3, null_shape=True, null_strides=True),
    # a ctypes array of empty structures exports exactly this
    lie("empty-struct-itemsize0", 0, valid=True, shape=[3], format="T{}"),
    lie("empty-struct-itemsize0-2d", 0, valid=True, shape=[2, 3], format="T{}"),
    lie("itemsize-1", -1, shape=[3]),
    lie("itemsize-1-len3", -1, shape=[3], len=3),
    lie("itemsize-1-null-shape", -1, shape=[3], len=3, null_shape=True, null_strides=True),
    lie("itemsize-8-B", -8, shape=[2], format="B", len=16, strides=[8]),
    # dimensions
    lie("shape-1", 1, shape=[-1]),
    lie("shape-2-len0", 1, shape=[-2], len=0),
    lie("shape-2x-3", 2, shape=[2, -3], len=0),
    lie("shape-neg-zero", 1, shape=[0, -5], len=0),
    lie("shape0", 1, valid=True, shape=[0]),
    lie("shape0-H", 2, valid=True, shape=[0], format="H"),
    lie("shape3x0", 2, valid=True, shape=[3, 0], format="h"),
    lie("shape0x3-wild-strides", 2, valid=True, shape=[0, 3], strides=[1 << 40, -(1 << 40)],
        format="h"),
    lie("shape0-len8", 1, shape=[0], len=8),
    lie("shape0-null-shape-len0", 1, valid=True, shape=[0], null_shape=True, null_strides=True),
    # extents whose arithmetic overflows Py_ssize_t
    lie("product-overflow", 8, shape=[BIG, 4], len=16, format="q"),
    lie("product-overflow-wrapped-len", 8, shape=[BIG, 4], format="q"),
    lie("product-overflow-3d", 1, shape=[BIG, 2, 2], len=4),
    lie("itemsize-overflow", BIG, shape=[2], len=16, strides=[8]),
    lie("stride-overflow", 1, shape=[3], strides=[BIG]),
    lie("stride-overflow-neg", 1, shape=[3], strides=[-BIG]),
    lie("stride-min", 1, shape=[2], strides=[-(1 << 63)]),
    lie("stride-sum-overflow", 1, shape=[2, 2], strides=[BIG, BIG]),
    lie("stride-overflow-B-itemsize", 4, shape=[3], strides=[BIG], format="B"),
    # len against shape * itemsize
    lie("len-larger", 2, shape=[4], len=12, format="H"),
    lie("len-larger-null-format", 2, shape=[4], len=12),
    lie("len-smaller", 2, shape=[4], len=4, format="H"),
    lie("len-negative", 2, shape=[4], len=-8, format="H"),
    lie("len-2d", 1, shape=[2, 3], len=5),
    lie("len-0d", 2, shape=[], len=4, format="h"),
    lie("len-null-shape-odd", 2, shape=[3], len=7, null_shape=True, null_strides=True,
        format="H"),
    lie("len-null-shape-0d", 2, shape=[], len=4, null_shape=True, format="h"),
    # ndim
    lie("ndim64", 1, valid=True, shape=[1] * 64),
    lie("ndim65", 1, shape=[1] * 65),
    lie("ndim100-padded", 1, shape=[2], ndim=100),
    lie("ndim-1", 1, shape=[4], ndim=-1),
    lie("ndim-100", 1, shape=[4], ndim=-100),
    lie("ndim65-null-shape", 1, shape=[1], ndim=65, null_shape=True, null_strides=True),
    # NULL shape / strides
    lie("null-shape-1d", 2, valid=True, shape=[4], format="H", null_shape=True,
        null_strides=True),
    lie("null-shape-1d-strides", 2, shape=[4], strides=[-2], format="H", null_shape=True),
    lie("null-shape-2d", 2, shape=[2, 2], format="H", null_shape=True, null_strides=True),
    lie("null-shape-3d-strides", 1, shape=[2, 2, 2], null_shape=True),
    lie("null-shape-0d", 2, valid=True, shape=[], format="h", null_shape=True),
    lie("null-strides-1d", 2, valid=True, shape=[4], format="h", null_strides=True),
    lie("null-strides-2d", 2, valid=True, shape=[2, 3], format="h", null_strides=True),
    lie("given-strides-2d", 2, valid=True, shape=[2, 3], strides=[6, 2], format="h"),
    lie("given-strides-2d-strided", 2, valid=True, shape=[2, 3], strides=[16, -4],
        format="h"),
    lie("null-strides-3d-B4", 4, valid=True, shape=[2, 1, 2], format="B", null_strides=True),
    lie("zero-strides", 4, valid=True, shape=[3, 2], strides=[0, 0], format="i"),
    # format against itemsize
    lie("H-itemsize4", 4, shape=[3], format="H"),
    lie("i-itemsize2", 2, shape=[3], format="i"),
    lie("d-itemsize3", 3, shape=[3], format="d"),
    lie("struct-itemsize8", 8, shape=[2], format="T{<B:a:<I:b:}"),
    lie("B-itemsize4", 4, valid=True, shape=[3], format="B"),
    lie("I-itemsize8-2d", 8, shape=[2, 2], format="<I"),
    lie("BB-itemsize1", 1, shape=[3], format="BB"),
    lie("?-itemsize2", 2, shape=[3], format="?"),
    lie("c-itemsize2", 2, shape=[3], format="c"),
    lie("H-itemsize4-writable", 4, shape=[3], format="H", readonly=False),
    lie("null-format-itemsize2-writable", 2, valid=True, shape=[3], readonly=False),
    lie("B-itemsize3-writable-strided", 3, valid=True, shape=[2, 2], strides=[-9, 3],
        format="B", readonly=False),
]

# NULL, empty and malformed formats with every itemsize (items at offset
# 16 with C strides: an itemsize <= 0 keeps them inside the data).
BAD_FORMATS = [None, "", "@", "<", "=", "T{", "(2", "3", "0B", "x", "\xff", "B" * 40]
for _f in BAD_FORMATS:
    for _isz in (1, 2, 3, 8, 0, -1):
        LIES.append(lie("format-%s-itemsize%d" % (ascii(_f), _isz), _isz,
                        valid=_f is None and _isz > 0, shape=[3], format=_f))
        if _f in (None, "") and _isz in (1, 2):
            LIES.append(lie("format-%s-itemsize%d-writable" % (ascii(_f), _isz), _isz,
                            valid=_f is None, shape=[3], format=_f, readonly=False))


def lie_steps(impl, itemsize, kw):
    def make():
        return Exporter(PATTERN, itemsize, unchecked=True, **kw)

    make()  # a bad case fails here, in the parent

    def step(op):
        e = make()
        r = outcome(lambda: op(impl, e, make))
        if e.exports:
            gc.collect()  # a cycle may still hold a view
        return r, e.exports

    return [(name, lambda op=op: step(op)) for name, op in LIE_OPS]


_lie_results = {}


def lie_results(impl):
    """Every LIES case run with `impl`, in as few children as survive them
    (a fork per case is slow under ASan): {case name: run_steps entries}."""
    if impl not in _lie_results:
        steps, groups = [], []
        for p in LIES:
            name, itemsize, valid, kw = p.values
            steps += lie_steps(impl, itemsize, kw)
            groups += [name] * len(LIE_OPS)
        res = run_steps(steps, quick_death=impl is BUILTIN, max_deaths=3, groups=groups)
        n = len(LIE_OPS)
        _lie_results[impl] = {p.values[0]: res[k * n:(k + 1) * n] for k, p in enumerate(LIES)}
    return _lie_results[impl]


# The builtin compares through the struct module: where struct rejects the
# format, its == says "unequal" for that limitation, not for the values.
EQ_OPS = {"m == m", "m == twin", "m == twin exporter", "m != data"}


def struct_reads(fmt):
    try:
        struct.calcsize(fmt or "B")
    except (struct.error, UnicodeError):
        return False
    return True


@pytest.mark.parametrize("name,itemsize,valid,kw", LIES)
def test_lying_descriptor(name, itemsize, valid, kw):
    builtin = lie_results(BUILTIN)[name]
    mine = lie_results(MV)[name]
    if not struct_reads(kw.get("format")):
        builtin = [("limited", "") if op in EQ_OPS else bi
                   for (op, _), bi in zip(LIE_OPS, builtin)]
    problems = ["%s: %s" % (op, why) for (op, _), bi, mv in zip(LIE_OPS, builtin, mine)
                for why in acceptable(mv, bi, valid)]
    assert not problems, "%d operation(s) misbehaved:\n  %s" % (
        len(problems), "\n  ".join(problems))


def test_zero_size_items():
    """Zero-size items ('T{}': ctypes' empty structures) are valid with
    len 0: they count, index, compare and hash by their number, never by
    len / itemsize; a count that overflows is refused, never wrapped."""
    import ctypes

    class Empty(ctypes.Structure):
        _fields_ = []

    a = (Empty * 4)()
    m = MV(a)
    assert (m.format, m.itemsize, len(m), m.nbytes, m.tobytes()) == ("T{}", 0, 4, 0, b"")
    assert m[3] == () and m[1:3].shape == (2,) and m[::-1].strides == (0,)
    m[0] = ()  # an item of no values: nothing to write, but it has an address
    assert m == MV((Empty * 4)()) and m != MV((Empty * 3)())
    e = Exporter(b"", 0, shape=[3, 2], format="T{}", unchecked=True)
    r = MV(e)
    assert r.readonly and r.shape == (3, 2)
    assert hash(r) == hash(MV(Exporter(b"", 0, shape=[3, 2], format="T{}", unchecked=True)))
    assert e.exports == 1
    r.release()
    assert e.exports == 0

    # 4 * 2**62 items of no bytes: the count overflows Py_ssize_t.
    huge = ((Empty * (1 << 62)) * 4)()
    with pytest.raises(OverflowError, match="overflows"):
        MV(huge) == MV(huge)  # noqa: B015 - the comparison is the test
    with pytest.raises(OverflowError, match="overflows"):
        MV(huge)[0, 0]


def test_slice_arithmetic_on_huge_strides():
    """Slicing a view whose stride is near the limit: the new strides
    (stride * step) must not overflow into nonsense.  Only the layout is
    looked at (the items are 2**62 bytes apart: nobody can read them)."""
    def steps():
        out = []
        for stride in (BIG, 1 << 61, -(1 << 61)):
            for key in (slice(None, None, 2), slice(None, None, -1), slice(None, None, -2),
                        slice(1, None, 3), slice(None, None, BIG), slice(-1, None, -BIG)):
                def step(stride=stride, key=key):
                    e = Exporter(bytes(64), 1, shape=[2], strides=[stride], offset=32,
                                 unchecked=True)
                    try:
                        v = MV(e)[key]
                    except Exception as x:  # noqa: BLE001 - judged by the caller
                        return ("exc", type(x).__name__, str(x))
                    return (v.shape, v.nbytes, v.ndim)  # the layout only
                out.append(("stride %d, %r" % (stride, key), step))
        return out

    todo = steps()
    problems = []
    for (label, _), res in zip(todo, run_steps(todo)):
        if res[0] != "ok":
            problems.append("%s: %s" % (label, res))
            continue
        got = eval(res[1], {})
        if got[0] == "exc":
            typ = getattr(builtins, got[1], None)
            if not (isinstance(typ, type) and issubclass(typ, CLEAR)):
                problems.append("%s: %r" % (label, got))
            continue
        key = eval(label.split(", ", 1)[1], {})
        n = len(range(2)[key])
        want = ((n,), n, 1)
        if got != want:
            problems.append("%s: memview %r, expected %r" % (label, got, want))
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# 2. Callbacks that fight back
# --------------------------------------------------------------------------

# 16 bytes: text for the byte searches, a multiple of every item size used.
DATA = b"ab cd ab\x00\x01xy ab!"
assert len(DATA) == 16

KINDS = ("bytearray", "mmap", "array")
ACTIONS = ("release", "resize", "raise")


class Hook(Exception):
    """What a hook raises (action 'raise'): it must come out unchanged."""


class Ctx:
    """One case: the exporter (`kind`), the view under test (`m`, what the
    hooks release) and what the hooks did (`log`).  Every hook calls act()
    before it returns its value:
      release  m.release(); when that works, resize (or close) the exporter
      resize   resize (or close) the exporter while m still holds it
      raise    raise Hook"""

    def __init__(self, kind, action):
        self.kind, self.action = kind, action
        self.log = []
        self.m = None
        self.others = []  # Exporters made by the hooks (their exports must end at 0)
        if kind == "bytearray":
            self.exp = bytearray(DATA)
        elif kind == "array":
            self.exp = array.array("B", DATA)
        else:
            self.exp = mmap.mmap(-1, len(DATA))
            self.exp[:] = DATA

    def resize(self):
        try:
            if self.kind == "bytearray":
                self.exp.extend(bytes(1 << 16))
            elif self.kind == "array":
                self.exp.frombytes(bytes(1 << 16))
            else:
                self.exp.close()
        except BufferError:
            self.log.append("resize refused")
            return False
        self.log.append("resized")
        return True

    def head(self):
        """The exporter's first 16 bytes (None once the mmap is closed)."""
        if self.kind == "mmap" and self.exp.closed:
            return None
        return bytes(self.exp[:16]) if self.kind != "array" else self.exp.tobytes()[:16]

    def act(self):
        if self.action == "raise":
            self.log.append("raised")
            raise Hook("hook")
        if self.action == "release":
            try:
                self.m.release()
            except BufferError:
                self.log.append("release refused")
                return
            self.log.append("released")
        self.resize()

    # the hostile objects, each of which calls act()

    def index(self, v):
        ctx = self

        class Index:
            def __index__(self):
                ctx.act()
                return v
        return Index()

    def float(self, v):
        ctx = self

        class Float:
            def __float__(self):
                ctx.act()
                return v
        return Float()

    def bool(self, v):
        ctx = self

        class Bool:
            def __bool__(self):
                ctx.act()
                return v
        return Bool()

    def complex(self, v):
        ctx = self

        class Complex:
            def __complex__(self):
                ctx.act()
                return v
        return Complex()

    def sep(self, text):
        """A str (or bytes) subclass whose len() calls act()."""
        ctx = self
        kind = type(text)

        class Sep(kind):
            def __len__(self):
                ctx.act()
                return kind.__len__(self)
        return Sep(text)

    def intsub(self, v):
        """An int subclass with an __index__ that calls act() (an int is
        converted without it)."""
        ctx = self

        class IntSub(int):
            def __index__(self):
                ctx.act()
                return int(self)
        return IntSub(v)

    def eq(self, target):
        ctx = self

        class Eq:
            __hash__ = None

            def __eq__(self, other):
                ctx.act()
                return other == target
        return Eq()

    def values(self, items):
        """A tuple subclass whose iteration (PySequence_Tuple) calls act()."""
        ctx = self

        class Values(tuple):
            def __iter__(self):
                ctx.act()
                return tuple.__iter__(self)
        return Values(items)

    def buf(self, content):
        """A buffer exporter whose getbuffer calls act() (Python 3.11 classes
        cannot export buffers: a C exporter that calls back)."""
        e = Exporter(content, 1, readonly=False, getbuffer_hook=lambda flags: self.act())
        self.others.append(e)
        return e


def base(ctx):
    return MV(ctx.exp)


def cast_of(fmt, shape=None):
    """The view under test is a cast of a released base view, so that
    releasing it releases the exporter."""
    def prep(ctx):
        b = MV(ctx.exp)
        m = b.cast(fmt, shape) if shape else b.cast(fmt)
        b.release()
        return m
    return prep


def written(offset, packed):
    d = bytearray(DATA)
    d[offset:offset + len(packed)] = packed
    return bytes(d)


def setitem(m, key, value):
    m[key] = value


def iterate(m, ctx):
    it = iter(m)
    out = [next(it)]
    ctx.act()
    return out + list(it)


# (name, prep, call, expected result, exporter bytes after a completed call
# (writes), result when action 'raise' is swallowed (==), or NOTHING)
NOTHING = object()
CALLBACK_SITES = [
    # PyNumber_AsSsize_t / PyNumber_Index of keys
    ("m[index]", base, lambda m, c: m[c.index(3)], DATA[3], None),
    ("m[index, 2] (2-D)", cast_of("B", [4, 4]), lambda m, c: m[c.index(1), 2], DATA[6], None),
    ("m[index:]", base, lambda m, c: m[c.index(2):].tobytes(), DATA[2:], None),
    ("m[:index]", base, lambda m, c: m[:c.index(5)].tobytes(), DATA[:5], None),
    ("m[::index]", base, lambda m, c: m[::c.index(2)].tobytes(), DATA[::2], None),
    ("m[index:, 1] (2-D)", cast_of("B", [4, 4]), lambda m, c: m[c.index(1):, 1].tolist(),
     [DATA[5], DATA[9], DATA[13]], None),
    ("m[index, ..., None] (2-D)", cast_of("B", [4, 4]),
     lambda m, c: m[c.index(2), ..., None].tolist(), [[x] for x in DATA[8:12]], None),
    ("m.cast('d')[index]", cast_of("d"), lambda m, c: m[c.index(1)],
     struct.unpack_from("d", DATA, 8)[0], None),
    # item and slice assignment: keys, values, the rvalue's buffer
    ("m[index] = 7", base, lambda m, c: setitem(m, c.index(3), 7), None, written(3, b"\x07")),
    ("m[0, index] = 5 (2-D)", cast_of("B", [4, 4]), lambda m, c: setitem(m, (0, c.index(1)), 5),
     None, written(1, b"\x05")),
    ("m[0] = index", base, lambda m, c: setitem(m, 0, c.index(65)), None, written(0, b"A")),
    ("m.cast('i')[1] = index", cast_of("i"), lambda m, c: setitem(m, 1, c.index(-2)), None,
     written(4, struct.pack("i", -2))),
    ("m.cast('q')[1] = index", cast_of("q"), lambda m, c: setitem(m, 1, c.index(1 << 40)), None,
     written(8, struct.pack("q", 1 << 40))),
    ("m.cast('d')[1] = float", cast_of("d"), lambda m, c: setitem(m, 1, c.float(2.5)), None,
     written(8, struct.pack("d", 2.5))),
    ("m.cast('f')[3] = float", cast_of("f"), lambda m, c: setitem(m, 3, c.float(-0.5)), None,
     written(12, struct.pack("f", -0.5))),
    ("m.cast('?')[2] = bool", cast_of("?"), lambda m, c: setitem(m, 2, c.bool(True)), None,
     written(2, b"\x01")),
    ("m.cast('D')[0] = complex", cast_of("D"), lambda m, c: setitem(m, 0, c.complex(1 + 2j)),
     None, written(0, struct.pack("dd", 1.0, 2.0))),
    ("m.cast('hBB')[1] = (index, 3, 4)", cast_of("hBB"),
     lambda m, c: setitem(m, 1, (c.index(-2), 3, 4)), None,
     written(4, struct.pack("hBB", -2, 3, 4))),
    ("m.cast('hBB')[2] = tuple whose iteration calls back", cast_of("hBB"),
     lambda m, c: setitem(m, 2, c.values((7, 8, 9))), None,
     written(8, struct.pack("hBB", 7, 8, 9))),
    ("m[index:2] = b'zz'", base, lambda m, c: setitem(m, slice(c.index(0), 2), b"zz"), None,
     written(0, b"zz")),
    ("m[0:2] = exporter", base, lambda m, c: setitem(m, slice(0, 2), c.buf(b"zz")), None,
     written(0, b"zz")),
    ("m[1, :] = exporter (2-D)", cast_of("B", [4, 4]),
     lambda m, c: setitem(m, (1, slice(None)), c.buf(b"WXYZ")), None, written(4, b"WXYZ")),
    ("m[index, :] = b'WXYZ' (2-D)", cast_of("B", [4, 4]),
     lambda m, c: setitem(m, (c.index(2), slice(None)), b"WXYZ"), None, written(8, b"WXYZ")),
    ("m[index] = b'WXYZ' (2-D)", cast_of("B", [4, 4]),
     lambda m, c: setitem(m, c.index(3), b"WXYZ"), None, written(12, b"WXYZ")),
    ("m.cast('e')[1] = float", cast_of("e"), lambda m, c: setitem(m, 1, c.float(2.5)), None,
     written(2, struct.pack("e", 2.5))),
    # hex: len(sep), bytes_per_sep
    ("m.hex(sep)", base, lambda m, c: m.hex(c.sep(":")), DATA.hex(":"), None),
    ("m.hex(bytes sep)", base, lambda m, c: m.hex(c.sep(b"-")), DATA.hex("-"), None),
    ("m.hex(':', index)", base, lambda m, c: m.hex(":", c.index(2)), DATA.hex(":", 2), None),
    # __eq__ of the value searched for
    ("m.count(eq)", base, lambda m, c: m.count(c.eq(ord("a"))), DATA.count(b"a"), None),
    ("m.index(eq)", base, lambda m, c: m.index(c.eq(ord("c"))), DATA.index(b"c"), None),
    ("eq in m", base, lambda m, c: c.eq(ord("!")) in m, True, None),
    ("m.cast('h').count(eq)", cast_of("h"),
     lambda m, c: m.count(c.eq(struct.unpack_from("h", DATA, 0)[0])),
     [v for v, in struct.iter_unpack("h", DATA)].count(struct.unpack_from("h", DATA, 0)[0]),
     None),
    # bounds and needles of the searches
    ("m.index(98, index)", base, lambda m, c: m.index(98, c.index(2)), DATA.index(b"b", 2), None),
    ("m.index(98, 0, index)", base, lambda m, c: m.index(98, 0, c.index(5)), 1, None),
    ("m.find(index)", base, lambda m, c: m.find(c.index(ord("x"))), DATA.find(b"x"), None),
    ("m.find(b'ab', index)", base, lambda m, c: m.find(b"ab", c.index(1)), DATA.find(b"ab", 1),
     None),
    ("m.find(b'ab', 0, index)", base, lambda m, c: m.find(b"ab", 0, c.index(4)),
     DATA.find(b"ab", 0, 4), None),
    ("m.find(exporter)", base, lambda m, c: m.find(c.buf(b"xy")), DATA.find(b"xy"), None),
    ("m.find_view(exporter)", base, lambda m, c: m.find_view(c.buf(b"xy")).tobytes(), b"xy",
     None),
    ("m.find_view(b'ab', index)", base,
     lambda m, c: m.find_view(b"ab", c.index(1)).tobytes(), b"ab", None),
    ("m.startswith(exporter)", base, lambda m, c: m.startswith(c.buf(b"ab")), True, None),
    ("m.startswith((b'zz', exporter))", base,
     lambda m, c: m.startswith((b"zz", c.buf(b"ab"))), True, None),
    ("m.startswith(b'cd', index)", base, lambda m, c: m.startswith(b"cd", c.index(3)), True,
     None),
    ("m.endswith(exporter)", base, lambda m, c: m.endswith(c.buf(b"ab!")), True, None),
    ("m.endswith(b'ab', 0, index)", base, lambda m, c: m.endswith(b"ab", 0, c.index(8)),
     DATA.endswith(b"ab", 0, 8), None),
    ("m.split(exporter)", base, lambda m, c: [v.tobytes() for v in m.split(c.buf(b" "))],
     DATA.split(b" "), None),
    ("m.split(b' ', index)", base, lambda m, c: [v.tobytes() for v in m.split(b" ", c.index(1))],
     DATA.split(b" ", 1), None),
    ("m.split(maxsplit=index)", base,
     lambda m, c: [v.tobytes() for v in m.split(maxsplit=c.index(2))], DATA.split(maxsplit=2),
     None),
    # comparison with an exporter whose getbuffer calls back
    ("m == exporter", base, lambda m, c: m == c.buf(DATA), True, None, False),
    ("m != exporter", base, lambda m, c: m != c.buf(DATA), False, None, True),
    ("exporter == m", base, lambda m, c: c.buf(DATA) == m, True, None, False),
    ("m.cast('h') == exporter", cast_of("h"), lambda m, c: m == c.buf(DATA), False, None, False),
    # cast's shape takes ints only: the hooks must never run
    ("m.cast('B', [index])", base, lambda m, c: m.cast("B", [c.index(16)]).shape, None, None),
    ("m.cast('B', [int subclass])", base, lambda m, c: m.cast("B", [c.intsub(16)]).shape,
     (16,), None),
    # pickling's protocol argument (PyLong_AsLong runs __index__)
    ("m.__reduce_ex__(index)", base, lambda m, c: m.__reduce_ex__(c.index(2)), None, None),
    # == with a plain object: its reflected __eq__ runs after memview's
    ("m == eq", base, lambda m, c: m == c.eq(None), False, None),
    # iteration with the hook between two items
    ("iteration", base, iterate, list(DATA), None),
    # the constructor, on an exporter whose getbuffer calls back
    ("memoryview(exporter)", base, lambda m, c: MV(c.buf(b"qrs")).tobytes(), b"qrs", None),
]
CALLBACK_SITES = [s + (NOTHING,) * (6 - len(s)) for s in CALLBACK_SITES]

REPS = 50  # each case, for the reference count check

# Sites whose result is not read from the view under test.
OWN_MEMORY = {"memoryview(exporter)", "m == eq"}
# Sites whose hooks never run (the argument is converted without them).
NO_HOOK = {"m.cast('B', [index])", "m.cast('B', [int subclass])"}
# Sites whose call always raises this (with or without the hooks).
ALWAYS_RAISES = {"m.cast('B', [index])": TypeError, "m.__reduce_ex__(index)": TypeError}


def callback_case(site, kind, action):
    """Run one site REPS times; the list of what went wrong."""
    name, prep, call, expected, after, swallowed = site
    problems = []
    reps = 1 if kind == "mmap" else REPS
    ctx = Ctx(kind, action)
    before = sys.getrefcount(ctx.exp)
    results = set()
    for rep in range(reps):
        ctx.log = []
        ctx.m = prep(ctx)
        start = ctx.head()
        try:
            r = ("ok", call(ctx.m, ctx))
        except Exception as e:  # noqa: BLE001 - judged below
            r = ("exc", type(e), str(e))
        results.add(repr(r[:2]))
        log = list(ctx.log)
        if r[0] == "ok":
            if "resized" in log and name not in OWN_MEMORY:
                problems.append("completed (%r) although the exporter was resized or closed "
                                "meanwhile (log %r)" % (r[1], log))
            if action == "raise" and "raised" in log and swallowed is NOTHING:
                problems.append("the hook raised but the call returned %r" % (r[1],))
            want = swallowed if action == "raise" and "raised" in log else expected
            if want is not None and r[1] != want:
                problems.append("returned %r, expected %r (log %r)" % (r[1], want, log))
            if after is not None and ctx.head() not in (after, None):
                problems.append("the write is not in the exporter: %r, expected %r (log %r)" % (
                    ctx.head(), after, log))
        else:
            typ = r[1]
            ok_types = (ValueError, BufferError) + ((Hook,) if "raised" in log else ())
            if name in ALWAYS_RAISES:
                ok_types += (ALWAYS_RAISES[name],)
            if typ not in ok_types:
                problems.append("raised %s(%r) (log %r)" % (typ.__name__, r[2], log))
            if typ is ValueError and "released" not in log:
                problems.append("ValueError(%r) without a release (log %r)" % (r[2], log))
            if action == "raise" and "raised" in log and typ is not Hook and \
                    swallowed is NOTHING:
                problems.append("the hook's exception became %s(%r)" % (typ.__name__, r[2]))
            head = ctx.head()
            if head is not None and head != start:
                problems.append("the failed call changed the exporter: %r (log %r)" % (
                    head, log))
        if name in ALWAYS_RAISES and r[0] == "ok":
            problems.append("returned %r, expected %s" % (r[1], ALWAYS_RAISES[name].__name__))
        if name in NO_HOOK:
            if log:
                problems.append("cast ran the shape's __index__ (log %r)" % (log,))
        elif not log:
            problems.append("the hook never ran (result %r)" % (r,))
        if action == "resize" and "resized" in log:
            problems.append("the exporter was resized while the view held it (log %r)" % (log,))
        if "released" in log and not ctx.m.__repr__().startswith("<released"):
            problems.append("release() succeeded but the view is not released")
        # everything released: the exporter can be resized again
        ctx.m.release()
        ctx.m = None
        r = None
        if kind == "mmap":
            if not ctx.exp.closed and not ctx.resize():
                problems.append("the mmap cannot be closed after everything was released")
        elif not ctx.resize():
            problems.append("the exporter cannot be resized after everything was released")
        else:
            del ctx.exp[16:]
        for e in ctx.others:
            if e.exports:
                gc.collect()
                if e.exports:
                    problems.append("leaked export: a hooked exporter has %d buffer(s) out"
                                    % e.exports)
        ctx.others = []
        if problems:
            break
    if len(results) > 1 and not problems:
        problems.append("the repetitions differ: %r" % (sorted(results),))
    after_count = sys.getrefcount(ctx.exp)
    if after_count != before:
        gc.collect()  # a cycle may still hold a reference
        after_count = sys.getrefcount(ctx.exp)
    if not problems and after_count != before:
        problems.append("sys.getrefcount(exporter) %d before %d repetitions, %d after" % (
            before, reps, after_count))
    return problems


@pytest.mark.parametrize("kind", KINDS)
def test_callbacks_fight_back(kind):
    """Every callback site x every hostile action, on one exporter kind,
    in forked children (one per crash)."""
    cases = [(site, action) for site in CALLBACK_SITES for action in ACTIONS]
    steps = [("%s [%s]" % (site[0], action),
              lambda site=site, action=action: callback_case(site, kind, action))
             for site, action in cases]
    problems = []
    for (label, _), res in zip(steps, run_steps(steps)):
        if res[0] != "ok":
            problems.append("%s: %s" % (label, res[1]))
        else:
            problems.extend("%s: %s" % (label, p) for p in eval(res[1], {}))
    assert not problems, "%d problem(s):\n  %s" % (len(problems), "\n  ".join(problems))


# --------------------------------------------------------------------------
# 2b. Exporters that fight back: __hash__, getbuffer, releasebuffer
# --------------------------------------------------------------------------


def check_hash_of_obj(action):
    """hash(m) runs hash(m.obj) first: a bytes subclass whose __hash__
    releases the view or raises."""
    problems = []
    holder, log = [], []

    class HashBytes(bytes):
        def __hash__(self):
            if action == "raise":
                log.append("raised")
                raise Hook("hook")
            try:
                holder[0].release()
                log.append("released")
            except BufferError:
                log.append("release refused")
            return 1

    obj = HashBytes(DATA)
    before = sys.getrefcount(obj)
    for _ in range(REPS):
        log.clear()
        holder[:] = [MV(obj)]
        try:
            r = ("ok", hash(holder[0]))
        except Exception as e:  # noqa: BLE001
            r = ("exc", type(e), str(e))
        if r[0] == "ok" and r[1] != hash(DATA):
            problems.append("hash %r, expected hash(DATA) (log %r)" % (r[1], log))
        allowed = (Hook,) if action == "raise" else (ValueError, BufferError)
        if r[0] == "exc" and r[1] not in allowed:
            problems.append("raised %s(%r) (log %r)" % (r[1].__name__, r[2], log))
        if not log:
            problems.append("hash(obj) never ran")
        holder[0].release()
        holder.clear()
        r = None
    if sys.getrefcount(obj) != before:
        problems.append("sys.getrefcount(obj) %d before, %d after" % (before, sys.getrefcount(obj)))
    return problems


def check_release_hook(how):
    """An exporter whose bf_releasebuffer runs Python code that uses the
    view being released (ValueError or nothing), exports itself again
    (a new view, which keeps working), and raises (unraisable)."""
    problems = []
    unraisable = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(u.exc_type)
    try:
        holder, kept, log = [None], [], []

        def on_release():
            m = holder[0]
            if m is not None:
                log.append(outcome(m.tobytes)[:2])
                log.append(outcome(m.release)[:2])
            if not kept:
                kept.append(MV(e))  # a new export while the last one goes
                log.append("exported again")
            gc.collect()
            raise Hook("release hook")

        e = Exporter(DATA, 1, readonly=False, release_hook=on_release)
        m = MV(e)
        derived = m[2:]
        holder[0] = m
        if how == "release":
            derived.release()
            m.release()
        elif how == "del":
            holder[0] = None
            del derived, m
        elif how == "context":
            with derived:
                pass
            with m:
                pass
        elif how == "gc cycle":
            holder[0] = None
            cycle = [m, derived]
            cycle.append(cycle)
            del m, derived, cycle
            gc.collect()
        holder[0] = None
        if e.exports != 1 or not kept:
            problems.append("after the release: %d export(s), kept %r (log %r)" % (
                e.exports, kept, log))
        elif kept[0].tobytes() != DATA:
            problems.append("the view made during the release reads %r" % (kept[0].tobytes(),))
        for entry in log:
            if isinstance(entry, tuple) and entry[0] == "exc" and entry[1] != "ValueError":
                problems.append("the released view, used from the release hook: %r" % (entry,))
        if Hook not in unraisable:
            problems.append("the release hook's exception was lost (unraisable %r)" % (unraisable,))
        if kept:
            kept[0].release()
            kept.clear()
        if e.exports != 0:
            problems.append("leaked export: %d buffer(s) out at the end" % e.exports)
    finally:
        sys.unraisablehook = old_hook
    return problems


def check_reentrant_getbuffer(keep):
    """getbuffer calls back into Python that takes a memview of the same
    exporter (and keeps it, or releases it) before the outer request is
    answered."""
    problems = []
    inner = []

    def hook(flags):
        if not inner:
            inner.append(None)
            v = MV(e)
            if keep:
                inner.append(v)
            else:
                v.release()

    e = Exporter(DATA, 1, getbuffer_hook=hook)
    m = MV(e)
    if m.tobytes() != DATA:
        problems.append("outer view reads %r" % (m.tobytes(),))
    want = 2 if keep else 1
    if e.exports != want:
        problems.append("%d export(s) with both views alive, expected %d" % (e.exports, want))
    if keep and inner[1].tobytes() != DATA:
        problems.append("inner view reads %r" % (inner[1].tobytes(),))
    m.release()
    for v in inner[1:]:
        v.release()
    inner.clear()
    if e.exports:
        problems.append("leaked export: %d" % e.exports)
    return problems


def check_getbuffer_refuses():
    """An exporter whose getbuffer raises: every consumer path raises that
    (or, for ==, compares unequal as the builtin), no export is left."""
    problems = []

    def hook(flags):
        raise Hook("no buffer")

    e = Exporter(DATA, 1, getbuffer_hook=hook)
    m = MV(bytearray(DATA))
    tries = {
        "memoryview(e)": (lambda: MV(e), Hook),
        "m == e": (lambda: m == e, False),
        "m != e": (lambda: m != e, True),
        "m[0:16] = e": (lambda: setitem(m, slice(0, 16), e), Hook),
        "m.find(e)": (lambda: m.find(e), Hook),
        "m.startswith(e)": (lambda: m.startswith(e), Hook),
        "m.split(e)": (lambda: m.split(e), Hook),
    }
    for label, (fn, want) in tries.items():
        r = outcome(fn)
        ok = r == ("exc", want.__name__, "no buffer") if isinstance(want, type) else \
            r == ("ok", repr(want))
        if not ok:
            problems.append("%s: %r, expected %r" % (label, r, want))
    if e.exports:
        problems.append("leaked export: %d" % e.exports)
    if m.tobytes() != DATA:
        problems.append("m changed: %r" % (m.tobytes(),))
    return problems


EXPORTER_CHECKS = (
    [("hash(m) with obj.__hash__ [%s]" % a, lambda a=a: check_hash_of_obj(a))
     for a in ("release", "raise")] +
    [("release hook, view released by %s" % how, lambda how=how: check_release_hook(how))
     for how in ("release", "del", "context", "gc cycle")] +
    [("re-entrant getbuffer, inner view %s" % ("kept" if k else "released"),
      lambda k=k: check_reentrant_getbuffer(k)) for k in (True, False)] +
    [("getbuffer raises", check_getbuffer_refuses)]
)


def test_exporters_fight_back():
    problems = []
    for (label, _), res in zip(EXPORTER_CHECKS, run_steps(EXPORTER_CHECKS)):
        if res[0] != "ok":
            problems.append("%s: %s" % (label, res[1]))
        else:
            problems.extend("%s: %s" % (label, p) for p in eval(res[1], {}))
    assert not problems, "%d problem(s):\n  %s" % (len(problems), "\n  ".join(problems))


def test_format_arguments_of_str_subclasses():
    """cast() and tobytes() with format / order arguments that are str
    subclasses (their text lives in its own heap block, exactly as long as
    it is): as the builtin, and never reading past the text."""
    class S(str):
        pass

    calls = []
    for text in ("", "@", "<", "B", "@B", "c", "x", "\xff", "@@", "B" * 300):
        calls.append(("cast(S(%r))" % text, lambda M, t=text: M(bytearray(8)).cast(S(t))))
        calls.append(("cast(S(%r), [8])" % text,
                      lambda M, t=text: M(bytearray(8)).cast(S(t), [8])))
    for text in ("", "C", "F", "A", "CC"):
        calls.append(("tobytes(S(%r))" % text, lambda M, t=text: M(b"abc").tobytes(S(t))))
    steps = [(label + " " + impl.__module__, lambda f=f, impl=impl: outcome(lambda: f(impl)))
             for label, f in calls for impl in (BUILTIN, MV)]
    res = run_steps(steps)
    problems = []
    for k in range(0, len(steps), 2):
        bi, mv = res[k], res[k + 1]
        label = steps[k][0].rsplit(" ", 1)[0]
        if mv[0] != "ok":
            problems.append("%s: %s" % (label, mv[1]))
            continue
        why = judge(eval(mv[1], {}), eval(bi[1], {}) if bi[0] == "ok" else None, False)
        problems.extend("%s: %s" % (label, w) for w in why)
    assert not problems, "%d problem(s):\n  %s" % (len(problems), "\n  ".join(problems))


# --------------------------------------------------------------------------
# 3. Threads
# --------------------------------------------------------------------------

THREAD_SECONDS = 2.0


def threads_resize_while_exported():
    """Workers take views of one bytearray (memview.memoryview of it and of
    its slices, NumPy arrays and bytes() of those), check what they read
    and release everything in a random order; a resizer grows and shrinks
    the bytearray in a loop.  A lock orders only the first export and the
    last release against the resizer, so that `live` is exactly the number
    of workers holding an export whenever the resizer tries: the resize
    must raise BufferError exactly when live > 0."""
    import random

    import numpy as np

    ba = bytearray(range(256)) * 16
    want = bytes(ba)
    want_sum = sum(want[1:-1])
    lock = threading.Lock()
    live = [0]
    stop = threading.Event()
    errors = []
    stats = {"refused": 0, "resized": 0, "rounds": 0}
    before = sys.getrefcount(ba)

    def worker(seed):
        rnd = random.Random(seed)
        try:
            while not stop.is_set():
                with lock:
                    v = MV(ba)
                    live[0] += 1
                s = v[1:-1]
                w = MV(s)
                parts = [v, s, w]
                if rnd.random() < 0.5:
                    arr = np.frombuffer(w, dtype=np.uint8)
                    if int(arr.sum()) != want_sum:
                        errors.append("np.frombuffer sums to %d" % int(arr.sum()))
                    try:
                        w.release()
                        errors.append("w.release() worked while NumPy held a buffer of it")
                    except BufferError:
                        pass
                    del arr
                if bytes(s[:16]) != want[1:17] or w.tobytes() != want[1:-1]:
                    errors.append("read %r" % (bytes(s[:16]),))
                x = MV(w[::3])
                if x.tolist() != list(want[1:-1:3]):
                    errors.append("w[::3] reads wrong")
                x.release()
                rnd.shuffle(parts)
                for p in parts[:-1]:
                    p.release()
                with lock:
                    parts[-1].release()  # the export ends here
                    live[0] -= 1
                stats["rounds"] += 1
                del v, s, w, x, parts
                if rnd.random() < 0.2:
                    time.sleep(0.0005)  # moments with no view out
        except BaseException as e:  # noqa: BLE001
            errors.append("worker: %s: %s" % (type(e).__name__, e))

    def resizer():
        try:
            while not stop.is_set():
                with lock:
                    n = live[0]
                    try:
                        ba.append(0)
                    except BufferError as e:
                        if n == 0:
                            errors.append("resize refused with no view out: %s" % e)
                        elif str(e) != RESIZE:
                            errors.append("resize refused with %r" % str(e))
                        stats["refused"] += 1
                    else:
                        ba.pop()
                        if n:
                            errors.append("resized while %d view(s) held the bytearray" % n)
                        stats["resized"] += 1
                time.sleep(0)
        except BaseException as e:  # noqa: BLE001
            errors.append("resizer: %s: %s" % (type(e).__name__, e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        threads.append(threading.Thread(target=resizer))
        for t in threads:
            t.start()
        time.sleep(THREAD_SECONDS)
        stop.set()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if live[0] != 0:
        errors.append("live %d at the end" % live[0])
    try:
        ba.extend(b"xyz")
        del ba[-3:]
    except BufferError as e:
        errors.append("the bytearray cannot be resized after the threads: %s" % e)
    if bytes(ba) != want:
        errors.append("the bytearray changed")
    if not (stats["refused"] and stats["resized"] and stats["rounds"]):
        errors.append("the threads did not interleave: %r" % (stats,))
    gc.collect()
    if sys.getrefcount(ba) != before:
        errors.append("sys.getrefcount(bytearray) %d before, %d after" % (
            before, sys.getrefcount(ba)))
    return errors[:20], stats


def threads_share_one_view():
    """Threads slice, re-export, hash and compare one shared view (and the
    builtin re-exports it) while one of them releases its own derived views;
    then the shared view is released and the bytearray resizes."""
    ba = bytearray(b"0123456789abcdef" * 64)
    want = bytes(ba)
    shared = MV(ba)
    ro = MV(want)
    errors = []
    stop = threading.Event()

    def worker(k):
        try:
            while not stop.is_set():
                a = shared[k::5]
                b = MV(a)
                c = BUILTIN(b)
                if bytes(c) != want[k::5] or a.tobytes() != want[k::5]:
                    errors.append("slice %d reads wrong" % k)
                if hash(ro[k:]) != hash(want[k:]) or not (ro[k:] == want[k:]):
                    errors.append("hash / == of the read-only view")
                try:
                    b.release()
                    errors.append("released a view whose buffer the builtin holds")
                except BufferError:
                    pass
                c.release()
                for v in (b, a):
                    v.release()
                try:
                    ba.append(0)
                    errors.append("resized while the shared view is out")
                    ba.pop()
                except BufferError:
                    pass
        except BaseException as e:  # noqa: BLE001
            errors.append("worker %d: %s: %s" % (k, type(e).__name__, e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(THREAD_SECONDS / 2)
        stop.set()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    shared.release()
    try:
        ba.append(0)
    except BufferError as e:
        errors.append("the bytearray cannot be resized after shared.release(): %s" % e)
    return errors[:20]


def test_threads_resize_while_exported():
    (kind, text), = run_steps([("threads", threads_resize_while_exported)])
    assert kind == "ok", text
    errors, stats = eval(text, {})
    assert not errors, "%r\n%s" % (stats, "\n".join(errors))


def test_threads_share_one_view():
    (kind, text), = run_steps([("threads", threads_share_one_view)])
    assert kind == "ok", text
    errors = eval(text, {})
    assert not errors, "\n".join(errors)
