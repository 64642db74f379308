"""Shared helpers for the memview pytest suites.

* Hypothesis settings: deterministic (derandomize=True), no deadline, no
  example database (a clean clone stays clean), bounded example counts.
* Exporter specs: plain descriptions of a `_testbuffer.ndarray` or a NumPy
  array that can be built any number of times, so that the builtin
  memoryview and memview.memoryview each get their own, identical exporter
  when a test mutates memory.
* Oracles: `outcome()` runs a callable and records its result or its
  exception (type and message); `same()` compares results NaN-aware and
  type-strict; `describe()` turns a view into a comparable record.
* Models: a NumPy object array built from the exporter's own items (via
  `_testbuffer.ndarray.tolist()`, which uses the struct module), used for
  what the builtin memoryview cannot do.
"""

import builtins
import math
import os
import struct
import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from _testbuffer import ND_FORTRAN, ND_PIL, ND_WRITABLE, ndarray

import memview

MV = memview.memoryview
BUILTIN = builtins.memoryview
PY = sys.version_info[:2]

# Example counts scale with MEMVIEW_HYPOTHESIS_SCALE (default 1.0); the
# default keeps the whole Python suite within a few minutes on two cores.
# Runs are the same every time unless MEMVIEW_HYPOTHESIS_RANDOM=1 (make
# test-long), which explores new examples each run; a failure prints the
# blob that reproduces it.
_SCALE = float(os.environ.get("MEMVIEW_HYPOTHESIS_SCALE", "1.0"))
_RANDOM = os.environ.get("MEMVIEW_HYPOTHESIS_RANDOM", "") == "1"


def hsettings(max_examples):
    """Hypothesis settings for one test: deterministic unless
    MEMVIEW_HYPOTHESIS_RANDOM=1."""
    return settings(
        max_examples=max(1, int(max_examples * _SCALE)),
        derandomize=not _RANDOM,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


# --------------------------------------------------------------------------
# Formats and values
# --------------------------------------------------------------------------

# memoryview's native single-character formats ('e' only from 3.12 on for
# the builtin; struct and _testbuffer know it everywhere).
NATIVE = "?cbBhHiIlLqQnNfdP"
NATIVE_E = NATIVE + "e"
BYTE_FORMATS = "bBc"

_INT_RANGES = {}
for _c in "bhilqn":
    _bits = 8 * struct.calcsize(_c)
    _INT_RANGES[_c] = (-(1 << (_bits - 1)), (1 << (_bits - 1)) - 1)
for _c in "BHILQNP":
    _INT_RANGES[_c] = (0, (1 << (8 * struct.calcsize(_c))) - 1)


def builtin_supports_items(fmt):
    """True if the running builtin memoryview does item access for fmt."""
    f = fmt[1:] if fmt.startswith("@") else fmt
    if f == "e":
        return PY >= (3, 12)
    return len(f) == 1 and f in NATIVE


def values_for(code, small=False):
    """Strategy for valid item values of one struct code (native or
    standard size; the byte-order prefix must already be stripped)."""
    if code == "?":
        return st.booleans()
    if code == "c":
        return st.binary(min_size=1, max_size=1)
    if code in _INT_RANGES:
        lo, hi = _INT_RANGES[code]
        if small:
            lo, hi = max(lo, 0), min(hi, 100)
        return st.integers(lo, hi)
    if code == "f":
        if small:
            return st.integers(0, 100).map(float)
        return st.floats(width=32)
    if code == "d":
        if small:
            return st.integers(0, 100).map(float)
        return st.floats()
    if code == "e":
        if small:
            return st.integers(0, 100).map(float)
        return st.floats(width=16)
    raise ValueError(code)


def std_values_for(fmt):
    """Valid values for a single-code struct format such as '<i' or '>d'."""
    order = fmt[0] if fmt[0] in "@=<>!" else "@"
    code = fmt[-1]
    if order == "@":
        return values_for(code)
    if code in "bhilq":
        bits = 8 * struct.calcsize("<" + code)
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if code in "BHILQ":
        return st.integers(0, (1 << (8 * struct.calcsize("<" + code))) - 1)
    return values_for(code)


# --------------------------------------------------------------------------
# Exporter specs
# --------------------------------------------------------------------------


def prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


@dataclass(frozen=True)
class NDSpec:
    """A _testbuffer.ndarray: `items` fill the base memory; either a
    contiguous base of `shape` (flags may add ND_FORTRAN / ND_PIL) that is
    then sliced with `key`, or an explicit `strides` + `offset` layout."""

    fmt: str
    items: tuple
    shape: tuple
    flags: int = 0
    strides: Optional[tuple] = None
    offset: int = 0
    key: Optional[tuple] = None

    def build(self):
        kw = dict(shape=list(self.shape), format=self.fmt, flags=self.flags)
        if self.strides is not None:
            kw["strides"] = list(self.strides)
            kw["offset"] = self.offset
        items = list(self.items)
        if not self.shape and self.strides is None:
            items = items[0]
        nd = ndarray(items, **kw)
        if self.key is not None:
            nd = nd[self.key]
        return nd

    @property
    def writable(self):
        return bool(self.flags & ND_WRITABLE)

    @property
    def pil(self):
        return bool(self.flags & ND_PIL)


@dataclass(frozen=True)
class NPSpec:
    """A NumPy array: `values` (flat, C order) of `dtype` reshaped to
    `shape` in `order`, then sliced with `key`."""

    dtype: object
    values: tuple
    shape: tuple
    order: str = "C"
    key: Optional[tuple] = None
    readonly: bool = False

    def build(self):
        a = np.array(list(self.values), dtype=np.dtype(self.dtype))
        a = a.reshape(self.shape, order=self.order)
        if self.order == "F":
            a = np.asfortranarray(a)
        if self.key is not None:
            a = a[self.key]
        if self.readonly:
            a.flags.writeable = False
        return a

    @property
    def writable(self):
        return not self.readonly

    pil = False


def contents(ex):
    """The logical contents of an exporter (for "memory is unchanged /
    equal" checks), independent of any memoryview implementation."""
    if isinstance(ex, np.ndarray):
        return ex.tobytes()
    if isinstance(ex, ndarray):
        return ex.tobytes()
    return bytes(ex)


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def slices_for(n, allow_zero_step=False):
    bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0 or allow_zero_step))
    return st.builds(slice, bound, bound, step)


@st.composite
def nd_specs(draw, formats=NATIVE_E, shape=None, writable=None, allow_pil=True,
             allow_slice=True, allow_strides=True, small=False, contiguous=False):
    """A random _testbuffer.ndarray spec: random native format, shape
    (0-4 dims, zeros allowed), C/Fortran/PIL base, optional slicing
    (positive and negative steps, offsets), or explicit strides (zero and
    negative included) with an offset."""
    fmt = draw(st.sampled_from(formats))
    if shape is None:
        shape = draw(shapes)
    elif isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    shape = tuple(shape)
    ndim = len(shape)
    if writable is None:
        writable = draw(st.booleans())
    flags = ND_WRITABLE if writable else 0
    itemsize = struct.calcsize(fmt)
    vals = values_for(fmt, small=small)
    mode = "base" if contiguous else draw(st.sampled_from(
        ["base", "sliced", "strided"] if allow_strides and ndim else ["base", "sliced"]))
    if mode == "strided":
        ks = draw(st.lists(st.integers(-3, 3), min_size=ndim, max_size=ndim))
        strides = tuple(k * itemsize for k in ks)
        lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides) if n > 0)
        hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides) if n > 0)
        if 0 in shape:
            lo = hi = 0
        nitems = (hi - lo) // itemsize + 1
        items = tuple(draw(st.lists(vals, min_size=nitems, max_size=nitems)))
        return NDSpec(fmt, items, shape, flags, strides, -lo)
    if not contiguous and ndim and draw(st.booleans()):
        flags |= ND_FORTRAN
    if allow_pil and not contiguous and ndim and draw(st.integers(0, 3)) == 0:
        flags |= ND_PIL
    n = prod(shape)
    # _testbuffer needs at least one item even for an empty shape
    items = tuple(draw(st.lists(vals, min_size=max(n, 1), max_size=max(n, 1))))
    key = None
    if mode == "sliced" and allow_slice and ndim:
        k = draw(st.integers(1, ndim))
        key = tuple(draw(slices_for(shape[i])) for i in range(k))
    return NDSpec(fmt, items, shape, flags, None, 0, key)


# NumPy dtypes whose buffer formats memview must handle (native, non-native,
# records, complex, half floats, fixed-size bytes).
NP_DTYPES = ["i1", "u1", "i2", ">i2", "<u2", "i4", ">i4", "<u4", ">u4", "i8", ">i8",
             "u8", ">u8", "f4", ">f4", "f8", ">f8", "e", ">f2", "?", "c8", "c16", ">c16",
             "S1", "S3", "longlong", "ulonglong", "intp", "uintp",
             "[('a','<i4'),('b','>f8')]", "[('x','u1'),('y','<i2'),('z','?')]"]


def np_dtype(name):
    if name.startswith("["):
        return np.dtype(eval(name))  # a literal list from NP_DTYPES only
    return np.dtype(name)


def np_values_for(dt):
    dt = np.dtype(dt)
    if dt.fields:
        parts = [np_values_for(dt.fields[n][0]) for n in dt.names]
        return st.tuples(*parts)
    k = dt.kind
    if k == "b":
        return st.booleans()
    if k in "iu":
        info = np.iinfo(dt)
        return st.integers(int(info.min), int(info.max))
    if k == "f":
        return st.floats(width=8 * dt.itemsize)
    if k == "c":
        w = 4 * dt.itemsize
        return st.builds(complex, st.floats(width=w), st.floats(width=w))
    if k == "S":
        # trailing NULs would be stripped by NumPy; keep the model simple
        return st.binary(min_size=dt.itemsize, max_size=dt.itemsize).map(
            lambda b: b[:-1] + b"x" if b.endswith(b"\0") else b)
    raise ValueError(dt)


@st.composite
def np_specs(draw, dtypes=NP_DTYPES, shape=None, allow_slice=True, readonly=None):
    name = draw(st.sampled_from(dtypes))
    dt = np_dtype(name)
    if shape is None:
        shape = draw(shapes)
    elif isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    shape = tuple(shape)
    n = prod(shape)
    values = tuple(draw(st.lists(np_values_for(dt), min_size=n, max_size=n)))
    order = draw(st.sampled_from("CF")) if len(shape) > 1 else "C"
    key = None
    if allow_slice and shape and draw(st.booleans()):
        k = draw(st.integers(1, len(shape)))
        key = tuple(draw(slices_for(shape[i])) for i in range(k))
    if readonly is None:
        readonly = draw(st.booleans())
    return NPSpec(name if not name.startswith("[") else dt.descr, values, shape, order, key,
                  readonly)


# --------------------------------------------------------------------------
# Outcomes and comparison
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    value: object = None
    exc: Optional[type] = None
    msg: str = ""

    def __repr__(self):
        if self.ok:
            return "ok(%r)" % (self.value,)
        return "%s(%r)" % (self.exc.__name__, self.msg)


def outcome(fn, *args, **kwargs):
    try:
        return Outcome(True, fn(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - the point is to record it
        return Outcome(False, None, type(e), str(e))


def is_view(x):
    return isinstance(x, (MV, BUILTIN))


def same(a, b):
    """Type-strict, NaN-aware, sign-of-zero-aware structural equality."""
    if type(a) is not type(b):
        # a builtin view and a memview view compare by description
        if is_view(a) and is_view(b):
            return same(describe(a), describe(b))
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, Outcome):
        if not a.ok and b.ok and is_limitation(a):
            return True  # beyond the builtin: checked against models elsewhere
        if a.ok != b.ok:
            return False
        if a.ok:
            return same(a.value, b.value)
        return a.exc is b.exc and a.msg == b.msg
    if is_view(a):
        return same(describe(a), describe(b))
    return a == b


ATTRS = ("format", "itemsize", "ndim", "shape", "strides", "suboffsets", "nbytes",
         "readonly", "c_contiguous", "f_contiguous", "contiguous")


def describe(v, deep=True):
    """A comparable record of a view: its attributes and what its readers
    return (each as an Outcome, so failures compare too)."""
    d = {a: outcome(getattr, v, a) for a in ATTRS}
    if deep:
        d["tolist"] = outcome(v.tolist)
        d["tobytes"] = outcome(v.tobytes)
        d["tobytes_F"] = outcome(v.tobytes, "F")
        d["tobytes_A"] = outcome(v.tobytes, "A")
        d["hex"] = outcome(v.hex)
        d["len"] = outcome(len, v)
    return d


def diff(a, b):
    """Human-readable list of differing keys of two describe() records."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: (a.get(k), b.get(k)) for k in set(a) | set(b)
                if not same(a.get(k), b.get(k))}
    return (a, b)


def assert_same(a, b, what=""):
    assert same(a, b), "%s: builtin/model %r != memview %r; diff %r" % (what, a, b, diff(a, b))


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def objarray(nested, shape):
    """A NumPy object array of `shape` holding the items of the nested
    list `nested` (as tolist() gives them; a scalar for 0-dim)."""
    a = np.empty(shape, dtype=object)
    if len(shape) == 0:
        a[()] = nested
        return a
    for idx in np.ndindex(*shape):
        x = nested
        for i in idx:
            x = x[i]
        a[idx] = x
    return a


def model_of(ex):
    """Object-array model of an exporter's logical contents."""
    if isinstance(ex, np.ndarray):
        return objarray(ex.tolist(), ex.shape)
    return objarray(ex.tolist(), tuple(ex.shape))


def fake_strided(shape, strides, itemsize):
    """A NumPy array with the given layout over a one-item buffer: never
    read, used only to let NumPy compute the shape/strides/offset of a
    basic index (the addresses it holds are not dereferenced)."""
    base = np.zeros(1, dtype=np.dtype((np.void, itemsize)))
    return np.lib.stride_tricks.as_strided(base, shape=shape, strides=strides,
                                           writeable=False)


def data_offset(a, base):
    return a.__array_interface__["data"][0] - base.__array_interface__["data"][0]


def aliased(shape, strides):
    """True if two items of the layout share memory."""
    n = prod(shape)
    if n <= 1:
        return False
    offs = {0}
    for d, s in zip(shape, strides):
        offs = {o + i * s for o in offs for i in range(d)}
    return len(offs) < n


def struct_parses(fmt):
    try:
        struct.calcsize(fmt)
        return True
    except struct.error:
        return False


def same_strides(shape, s1, s2):
    """Strides equal where they matter: dimensions of extent > 1 (NumPy
    normalises the others when it exports a buffer)."""
    return len(s1) == len(s2) and all(a == b for n, a, b in zip(shape, s1, s2) if n > 1)


def c_contig(shape, strides, itemsize):
    """memoryview's c_contiguous flag (init_flags) for a layout without
    suboffsets: 1-D by its own rule, N-D by PyBuffer_IsContiguous."""
    return _contig(list(zip(shape, strides))[::-1], itemsize)


def f_contig(shape, strides, itemsize):
    return _contig(list(zip(shape, strides)), itemsize)


def _contig(dims, itemsize):
    if len(dims) == 0:
        return True
    if len(dims) == 1:
        return dims[0][0] == 1 or dims[0][1] == itemsize
    if any(n == 0 for n, _ in dims):
        return True
    expect = itemsize
    for n, s in dims:
        if n > 1 and s != expect:
            return False
        expect *= n
    return True


def is_basic_key(key, allow_bool=False, max_ellipsis=1):
    """True if key is a NumPy basic index made of ints, slices, Ellipsis
    and None (at most max_ellipsis Ellipsis)."""
    parts = key if isinstance(key, tuple) else (key,)
    n_ell = 0
    for p in parts:
        if p is Ellipsis:
            n_ell += 1
        elif p is None or isinstance(p, slice):
            pass
        elif isinstance(p, bool):
            if not allow_bool:
                return False
        elif isinstance(p, int) or (hasattr(type(p), "__index__") and not isinstance(p, float)):
            pass
        else:
            return False
    return n_ell <= max_ellipsis


# Errors with which the builtin states a limitation that memview removes;
# where the builtin raises one of these, memview may (and for documented
# extensions must) do the operation instead.
LIMITATION_MESSAGES = {
    (ValueError, "memoryview: destination format must be a native single character "
                 "format prefixed with an optional '@'"),
    (ValueError, "memoryview: hashing is restricted to formats 'B', 'b' or 'c'"),
    (TypeError, "memoryview: cannot cast between two non-byte formats"),
    (TypeError, "memoryview: casts are restricted to C-contiguous views"),
    (TypeError, "memoryview: cast must be 1D -> ND or ND -> 1D"),
    (TypeError, "memoryview: invalid slice key"),
}


def is_limitation(o):
    if o.ok:
        return False
    if o.exc is NotImplementedError:
        return True
    return (o.exc, o.msg) in LIMITATION_MESSAGES


class Index:
    """An object with __index__ (and a repr for Hypothesis output)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v

    def __repr__(self):
        return "Index(%r)" % (self.v,)


class Float:
    def __init__(self, v):
        self.v = v

    def __float__(self):
        return self.v

    def __repr__(self):
        return "Float(%r)" % (self.v,)


def any_values_for(fmt, good=None):
    """Valid (`good`, or derived from fmt) and invalid values for item
    assignment into format fmt."""
    code = fmt[-1]
    junk = st.sampled_from([None, "x", b"", b"ab", [1], 1.5, -0.0, float("nan"),
                            float("inf"), 1e300, True, 2 ** 64, -(2 ** 63) - 1, 2 ** 200,
                            Index(3), Float(2.5), object])
    if good is None:
        good = std_values_for(fmt) if fmt[0] in "<>=!" else values_for(code)
    extra = st.integers(-(2 ** 70), 2 ** 70)
    return st.one_of(good, good, junk, extra, st.floats(), st.binary(max_size=2))
