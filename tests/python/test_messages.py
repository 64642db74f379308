"""Error messages that name the real cause.

memview goes beyond the builtin memoryview (casts between any formats and
from Fortran-contiguous views, N-D -> N-D casts, N-D indexing, slicing and
slice assignment, items of any struct format, byte search).  Its errors
follow two rules:

1. Where the builtin raises for the same input *for the same reason*,
   memview raises the builtin's exact type and text
   (cast('i') of 6 bytes: TypeError "memoryview: length is not a multiple
   of itemsize").

2. Where the builtin raises because of a limitation memview removes (a
   destination format that is not a native single character, two non-byte
   formats, a Fortran-contiguous source, N-D -> N-D, multi-dimensional
   keys, N-D slice assignment), memview names the real cause instead, never
   the builtin's limitation: the type and text CPython uses for that cause,
   followed by the details that make it concrete - format, itemsize, size,
   shape, which dimension - in parentheses:

       cast('<i') of 6 bytes:
       TypeError "memoryview: length is not a multiple of itemsize
                  (length 6, itemsize 4 of format '<i')"

   (where CPython has no text for the cause - a format that does not
   parse, an itemsize of 0, too many indices - memview's own.)

Each case below gives the input, what the builtin raises (checked by
test_builtin_reference, so the table stays true) and the intended
exception and exact text (test_message).  Shapes in details are written
as lists ("[2, 3]", "[]" for 0-dim), formats as the view's .format shows
them.
"""

import ctypes
import re
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

from _testbuffer import ND_PIL, ndarray

from strategies import BUILTIN, MV, PY, outcome

# --------------------------------------------------------------------------
# the builtin's texts
# --------------------------------------------------------------------------

DEST = ("memoryview: destination format must be a native single character format prefixed "
        "with an optional '@'")
C_ONLY = "memoryview: casts are restricted to C-contiguous views"
ND_ND = "memoryview: cast must be 1D -> ND or ND -> 1D"
NON_BYTE = "memoryview: cannot cast between two non-byte formats"
LENGTH = "memoryview: length is not a multiple of itemsize"
PRODUCT = "memoryview: product(shape) * itemsize != buffer size"
POSITIVE = "memoryview.cast(): elements of shape must be integers > 0"
INTEGERS = "memoryview.cast(): elements of shape must be integers"
NDIM_64 = "memoryview: number of dimensions must not exceed 64"
ZEROS = "memoryview: cannot cast view with zeros in shape or strides"
SHAPE_TYPE = "shape must be a list or a tuple"
SSIZE_MAX = "memoryview.cast(): product(shape) > SSIZE_MAX"
TOO_LARGE = "Python int too large to convert to C ssize_t"
BAD_KEY = "memoryview: invalid slice key"
ND_SLICING = "multi-dimensional slicing is not implemented"
ND_SLICE_SET = "memoryview slice assignments are currently restricted to ndim = 1"
SUB_VIEWS = "sub-views are not implemented"
ND_SUB_VIEWS = "multi-dimensional sub-views are not implemented"
STRUCTURE = "memoryview assignment: lvalue and rvalue have different structures"
UNICODE = "'ascii' codec can't encode character '\\xe9' in position 0: ordinal not in range(128)"

# --------------------------------------------------------------------------
# the intended texts beyond the builtin
# --------------------------------------------------------------------------

# neither C- nor Fortran-contiguous: the builtin's text for the same input
# (memview casts Fortran-contiguous views too)
C_OR_F = C_ONLY


def dims(shape):
    return "[%s]" % ", ".join(str(x) for x in shape)


def length(n, itemsize, fmt):
    return "%s (length %d, itemsize %d of format '%s')" % (LENGTH, n, itemsize, fmt)


def product(shape, itemsize, fmt, nbytes):
    p = itemsize
    for x in shape:
        p *= x
    return "%s (shape %s * itemsize %d of format '%s' = %d, buffer size %d)" % (
        PRODUCT, dims(shape), itemsize, fmt, p, nbytes)


def positive(i, value):
    return "%s (shape[%d] is %d)" % (POSITIVE, i, value)


def integers(i, typename):
    return "%s (shape[%d] is %s)" % (INTEGERS, i, typename)


def bad_format(fmt, why):
    """libmemview's parse error, prefixed as CPython's cast errors are."""
    return "memoryview: invalid format string '%s': %s" % (fmt, why)


def zero_itemsize(fmt):
    return "memoryview.cast(): format '%s' has itemsize 0" % fmt


def too_many(ndim, n):
    """A key that selects more dimensions than the view has: the builtin
    calls it an invalid key (or multi-dimensional slicing it lacks); memview
    slices N-D views, so it adds the count."""
    return ("%s (too many indices: memoryview is %d-dimensional, but %d were indexed)"
            % (BAD_KEY, ndim, n))


def structure(lshape, lfmt, rshape, rfmt):
    return "%s (lvalue shape %s format '%s', rvalue shape %s format '%s')" % (
        STRUCTURE, dims(lshape), lfmt, dims(rshape), rfmt)


def byte_search(ndim, fmt):
    return ("memoryview: byte search needs a 1-D view of format 'B', 'b' or 'c', "
            "not a %d-D view of format '%s'" % (ndim, fmt))


def record_count(fmt, need, got):
    return "memoryview: invalid value for format '%s' (%d values are needed, not %d)" % (
        fmt, need, got)


def record_type(fmt, need, typename):
    return ("memoryview: invalid type for format '%s' (a tuple or list of %d values is "
            "needed, not %s)" % (fmt, need, typename))


# --------------------------------------------------------------------------
# exporters
# --------------------------------------------------------------------------


def ba(n):
    return lambda: bytearray(n)


class Index:
    """An object with __index__ that is not an int."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def u1_2x3():
    return np.arange(6, dtype="u1").reshape(2, 3)


def u1_2x3_f():
    return np.asfortranarray(u1_2x3())  # Fortran- but not C-contiguous


def i2_2x3x4():
    return np.arange(24, dtype="i2").reshape(2, 3, 4)


def strided():
    return np.arange(12, dtype="u1")[::2]  # neither C- nor F-contiguous


def pil():
    return ndarray(list(range(6)), shape=[2, 3], format="B", flags=ND_PIL)


def zero_dim():
    return ndarray(5, shape=[], format="B")


def i2_3():
    return np.arange(3, dtype="i2")


def i4_2():
    return np.arange(2, dtype="i4")


def u1_2x0():
    return np.zeros((2, 0), dtype="u1")


def record():
    return np.zeros(2, dtype=[("a", "<i4"), ("b", ">f8")])


class Padded(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]  # 3 bytes of padding


PADDED = BUILTIN((Padded * 2)()).format  # 'T{<B:a:<I:b:}': 5 bytes, itemsize 8
REC = BUILTIN(record()).format  # 'T{i:a:>d:b:}' on a little-endian machine
H = BUILTIN(np.zeros(1, "i2")).format  # 'h'


def cast(*args):
    return lambda m: m.cast(*args)


def getitem(key):
    return lambda m: m[key]


def setitem(key, value):
    return lambda m: m.__setitem__(key, value())


def call(name, *args):
    return lambda m: getattr(m, name)(*args)


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable
    op: Callable
    builtin: Optional[tuple]  # (type, text) the builtin raises; None: no such method
    intended: tuple           # (type, exact text)

    @property
    def parity(self):
        return self.builtin is not None and self.builtin == self.intended


E_CAST = ((ValueError, positive(0, 0)) if PY < (3, 12) else (ValueError, POSITIVE))

CAST_CASES = [
    # -- the length does not divide --------------------------------------
    Case("cast('<i') of 6 bytes", ba(6), cast("<i"),
         (ValueError, DEST), (TypeError, length(6, 4, "<i"))),
    Case("cast('<i', [0]) of 6 bytes: the length first", ba(6), cast("<i", [0]),
         (ValueError, DEST), (TypeError, length(6, 4, "<i"))),
    Case("cast('i') of 6 bytes", ba(6), cast("i"),
         (TypeError, LENGTH), (TypeError, LENGTH)),
    Case("cast('i') of 3 'h' (two non-byte formats)", i2_3, cast("i"),
         (TypeError, NON_BYTE), (TypeError, length(6, 4, "i"))),
    Case("cast('d', [1]) of 3 'h'", i2_3, cast("d", [1]),
         (TypeError, NON_BYTE), (TypeError, length(6, 8, "d"))),
    Case("cast('i') of a Fortran-contiguous 2x3 'B'", u1_2x3_f, cast("i"),
         (TypeError, C_ONLY), (TypeError, length(6, 4, "i"))),
    # -- product(shape) does not match -----------------------------------
    Case("cast('d', [3]) of 16 bytes", ba(16), cast("d", [3]),
         (TypeError, PRODUCT), (TypeError, PRODUCT)),
    Case("cast('<d', [3]) of 16 bytes", ba(16), cast("<d", [3]),
         (ValueError, DEST), (TypeError, product([3], 8, "<d", 16))),
    Case("cast('B', [4, 2]) of 6 bytes", ba(6), cast("B", [4, 2]),
         (TypeError, PRODUCT), (TypeError, PRODUCT)),
    Case("cast('h', [3]) of 2 'i'", i4_2, cast("h", [3]),
         (TypeError, NON_BYTE), (TypeError, product([3], 2, "h", 8))),
    Case("cast('<h', []) of 4 bytes", ba(4), cast("<h", []),
         (ValueError, DEST), (TypeError, product([], 2, "<h", 4))),
    Case("cast('<B', [2]) of a 0-dim 'B'", zero_dim, cast("<B", [2]),
         (ValueError, DEST), (TypeError, product([2], 1, "<B", 1))),
    Case("cast('B', [5]) of a Fortran-contiguous 2x3", u1_2x3_f, cast("B", [5]),
         (TypeError, C_ONLY), (TypeError, product([5], 1, "B", 6))),
    # -- 2-D -> 2-D -------------------------------------------------------
    Case("cast('B', [4, 2]) of a 2x3 'B'", u1_2x3, cast("B", [4, 2]),
         (TypeError, ND_ND), (TypeError, product([4, 2], 1, "B", 6))),
    Case("cast('B', [3, 0]) of a 2x3 'B'", u1_2x3, cast("B", [3, 0]),
         (TypeError, ND_ND), (ValueError, positive(1, 0))),
    Case("cast('B', [-3, -2]) of a 2x3 'B'", u1_2x3, cast("B", [-3, -2]),
         (TypeError, ND_ND), (ValueError, positive(0, -3))),
    Case("cast('B', [6, 1, 0]) of a 2x3 'B'", u1_2x3, cast("B", [6, 1, 0]),
         (TypeError, ND_ND), (ValueError, positive(2, 0))),
    Case("cast('B', [3, 'a']) of a 2x3 'B'", u1_2x3, cast("B", [3, "a"]),
         (TypeError, ND_ND), (TypeError, integers(1, "str"))),
    Case("cast('B', (2, 1.0, 3)) of a 2x3 'B'", u1_2x3, cast("B", (2, 1.0, 3)),
         (TypeError, ND_ND), (TypeError, integers(1, "float"))),
    # -- shape elements, 1-D source: the builtin's texts -----------------
    Case("cast('B', [2, 0]) of 6 bytes", ba(6), cast("B", [2, 0]),
         (ValueError, POSITIVE), (ValueError, POSITIVE)),
    Case("cast('B', [2, -3]) of 6 bytes", ba(6), cast("B", [2, -3]),
         (ValueError, POSITIVE), (ValueError, POSITIVE)),
    Case("cast('B', ['a']) of 6 bytes", ba(6), cast("B", ["a"]),
         (TypeError, INTEGERS), (TypeError, INTEGERS)),
    # CPython checks each element in turn (type, > 0, overflow of the
    # product) before the next one
    Case("cast('B', [0, 'a']) of 6 bytes", ba(6), cast("B", [0, "a"]),
         (ValueError, POSITIVE), (ValueError, POSITIVE)),
    Case("cast('B', [-1, 2**63]) of 6 bytes", ba(6), cast("B", [-1, 2 ** 63]),
         (ValueError, POSITIVE), (ValueError, POSITIVE)),
    Case("cast('B', [2**62, 4, 'a']) of 6 bytes", ba(6), cast("B", [2 ** 62, 4, "a"]),
         (ValueError, SSIZE_MAX), (ValueError, SSIZE_MAX)),
    Case("cast('x', [0]) of 8 bytes", ba(8), cast("x", [0]),
         (ValueError, DEST), (ValueError, positive(0, 0))),
    Case("cast('<B', [2, -4]) of 8 bytes", ba(8), cast("<B", [2, -4]),
         (ValueError, DEST), (ValueError, positive(1, -4))),
    Case("cast('T{i}', [4, 0]) of 8 bytes", ba(8), cast("T{i}", [4, 0]),
         (ValueError, DEST), (ValueError, positive(1, 0))),
    Case("cast('e', [0]) of 8 bytes", ba(8), cast("e", [0]),
         (ValueError, DEST) if PY < (3, 12) else (ValueError, POSITIVE), E_CAST),
    Case("cast('B', [3, 0]) of a Fortran-contiguous 2x3", u1_2x3_f, cast("B", [3, 0]),
         (TypeError, C_ONLY), (ValueError, positive(1, 0))),
    Case("cast('B', ['a']) of a Fortran-contiguous 2x3", u1_2x3_f, cast("B", ["a"]),
         (TypeError, C_ONLY), (TypeError, integers(0, "str"))),
    Case("cast('<i', [2**62, 4]) of 8 bytes", ba(8), cast("<i", [2 ** 62, 4]),
         (ValueError, DEST), (ValueError, SSIZE_MAX)),
    Case("cast('<i', [2**63]) of 8 bytes", ba(8), cast("<i", [2 ** 63]),
         (ValueError, DEST), (OverflowError, TOO_LARGE)),
    # -- the shape argument ------------------------------------------------
    Case("cast('B', [1]*65) of 8 bytes", ba(8), cast("B", [1] * 65),
         (ValueError, NDIM_64), (ValueError, NDIM_64)),
    Case("cast('<i', [1]*65) of 8 bytes", ba(8), cast("<i", [1] * 65),
         (ValueError, NDIM_64), (ValueError, NDIM_64)),
    Case("cast('B', [1]*65) of a Fortran-contiguous 2x3", u1_2x3_f, cast("B", [1] * 65),
         (TypeError, C_ONLY), (ValueError, NDIM_64)),
    Case("cast('B', 5) of 6 bytes", ba(6), cast("B", 5),
         (TypeError, SHAPE_TYPE), (TypeError, SHAPE_TYPE)),
    Case("cast('B', 5) of a Fortran-contiguous 2x3", u1_2x3_f, cast("B", 5),
         (TypeError, C_ONLY), (TypeError, SHAPE_TYPE)),
    # -- layouts -------------------------------------------------------------
    Case("cast('B') of a strided view", strided, cast("B"),
         (TypeError, C_ONLY), (TypeError, C_OR_F)),
    Case("cast('<i') of a strided view", strided, cast("<i"),
         (TypeError, C_ONLY), (TypeError, C_OR_F)),
    Case("cast('B', [6]) of a strided view", strided, cast("B", [6]),
         (TypeError, C_ONLY), (TypeError, C_OR_F)),
    Case("cast('Zq') of a strided view: the layout first", strided, cast("Zq"),
         (TypeError, C_ONLY), (TypeError, C_OR_F)),
    Case("cast('B') of a PIL-style view", pil, cast("B"),
         (TypeError, C_ONLY), (TypeError, C_OR_F)),
    Case("cast('<i') of a 2x0 view", u1_2x0, cast("<i"),
         (TypeError, ZEROS), (TypeError, ZEROS)),
    # -- formats that do not parse, or have no size ----------------------
    Case("cast('Zq') of 8 bytes", ba(8), cast("Zq"),
         (ValueError, DEST), (ValueError, bad_format("Zq", "'Z' must be followed by 'f' or 'd'"))),
    Case("cast('Zq', [0]) of 8 bytes", ba(8), cast("Zq", [0]),
         (ValueError, DEST), (ValueError, bad_format("Zq", "'Z' must be followed by 'f' or 'd'"))),
    Case("cast('T{') of 8 bytes", ba(8), cast("T{"),
         (ValueError, DEST), (ValueError, bad_format("T{", "unbalanced '{'"))),
    Case("cast('T{', [-1]) of 8 bytes", ba(8), cast("T{", [-1]),
         (ValueError, DEST), (ValueError, bad_format("T{", "unbalanced '{'"))),
    Case("cast('3') of 8 bytes", ba(8), cast("3"),
         (ValueError, DEST),
         (ValueError, bad_format("3", "repeat count given without format specifier"))),
    Case("cast('3', [2, 0]) of 8 bytes", ba(8), cast("3", [2, 0]),
         (ValueError, DEST),
         (ValueError, bad_format("3", "repeat count given without format specifier"))),
    Case("cast('') of 8 bytes", ba(8), cast(""),
         (ValueError, DEST), (ValueError, zero_itemsize(""))),
    Case("cast('@') of 8 bytes", ba(8), cast("@"),
         (ValueError, DEST), (ValueError, zero_itemsize("@"))),
    Case("cast('q:') of 8 bytes", ba(8), cast("q:"),
         (ValueError, DEST),
         (ValueError, bad_format("q:", "field names are only allowed inside T{...}"))),
    Case("cast('Zq') of a Fortran-contiguous 2x3", u1_2x3_f, cast("Zq"),
         (TypeError, C_ONLY), (ValueError, bad_format("Zq", "'Z' must be followed by 'f' or 'd'"))),
    Case("cast('0s') of 8 bytes", ba(8), cast("0s"),
         (ValueError, DEST), (ValueError, zero_itemsize("0s"))),
    Case("cast('0B', [1]) of 8 bytes", ba(8), cast("0B", [1]),
         (ValueError, DEST), (ValueError, zero_itemsize("0B"))),
    Case("cast('\\xe9') of 8 bytes", ba(8), cast("\xe9"),
         (UnicodeEncodeError, UNICODE), (UnicodeEncodeError, UNICODE)),
    Case("cast('\\xe9') of a Fortran-contiguous 2x3", u1_2x3_f, cast("\xe9"),
         (TypeError, C_ONLY), (UnicodeEncodeError, UNICODE)),
    Case("cast(1)", ba(8), cast(1),
         (TypeError, "cast() argument 'format' must be str, not int"),
         (TypeError, "cast() argument 'format' must be str, not int")),
]

KEY_CASES = [
    Case("2-D m[0, 1, 2]", u1_2x3, getitem((0, 1, 2)),
         (TypeError, "cannot index 2-dimension view with 3-element tuple"),
         (TypeError, "cannot index 2-dimension view with 3-element tuple")),
    Case("2-D m[0, 1, :]", u1_2x3, getitem((0, 1, slice(None))),
         (TypeError, BAD_KEY), (TypeError, too_many(2, 3))),
    Case("2-D m[0, :, :]", u1_2x3, getitem((0, slice(None), slice(None))),
         (TypeError, BAD_KEY), (TypeError, too_many(2, 3))),
    Case("2-D m[:, :, :]", u1_2x3, getitem((slice(None),) * 3),
         (NotImplementedError, ND_SLICING), (TypeError, too_many(2, 3))),
    Case("2-D m[None, 0, 1, :]", u1_2x3, getitem((None, 0, 1, slice(None))),
         (TypeError, BAD_KEY), (TypeError, too_many(2, 3))),
    Case("2-D m[..., 0, 1, 2]", u1_2x3, getitem((Ellipsis, 0, 1, 2)),
         (TypeError, BAD_KEY), (TypeError, too_many(2, 3))),
    Case("3-D m[0, 0, 0, :]", i2_2x3x4, getitem((0, 0, 0, slice(None))),
         (TypeError, BAD_KEY), (TypeError, too_many(3, 4))),
    Case("1-D m[:, :]", ba(6), getitem((slice(None), slice(None))),
         (NotImplementedError, ND_SLICING), (TypeError, too_many(1, 2))),
    Case("1-D m[0, :]", ba(6), getitem((0, slice(None))),
         (TypeError, BAD_KEY), (TypeError, too_many(1, 2))),
    Case("2-D m[0, 1, 2] = 1", u1_2x3, setitem((0, 1, 2), lambda: 1),
         (TypeError, "cannot index 2-dimension view with 3-element tuple"),
         (TypeError, "cannot index 2-dimension view with 3-element tuple")),
    Case("2-D m[:, :, :] = b''", u1_2x3, setitem((slice(None),) * 3, lambda: b""),
         (NotImplementedError, ND_SLICE_SET), (TypeError, too_many(2, 3))),
    Case("2-D m[0, 1, :] = b''", u1_2x3, setitem((0, 1, slice(None)), lambda: b""),
         (TypeError, BAD_KEY), (TypeError, too_many(2, 3))),
    Case("1-D m[:, :] = b''", ba(6), setitem((slice(None), slice(None)), lambda: b""),
         (NotImplementedError, ND_SLICE_SET), (TypeError, too_many(1, 2))),
    # already naming the cause
    Case("2-D m[..., ...]", u1_2x3, getitem((Ellipsis, Ellipsis)),
         (TypeError, BAD_KEY), (IndexError, "an index can only have a single ellipsis ('...')")),
    Case("2-D m[2]", u1_2x3, getitem(2),
         (NotImplementedError, ND_SUB_VIEWS), (IndexError, "index out of bounds on dimension 1")),
    Case("2-D m[:, 3]", u1_2x3, getitem((slice(None), 3)),
         (TypeError, BAD_KEY), (IndexError, "index out of bounds on dimension 2")),
    Case("2-D m[0, 3]", u1_2x3, getitem((0, 3)),
         (IndexError, "index out of bounds on dimension 2"),
         (IndexError, "index out of bounds on dimension 2")),
    Case("2-D m[:, ::0]", u1_2x3, getitem((slice(None), slice(None, None, 0))),
         (NotImplementedError, ND_SLICING), (ValueError, "slice step cannot be zero")),
    Case("0-dim m[0]", zero_dim, getitem(0),
         (TypeError, "invalid indexing of 0-dim memory"),
         (TypeError, "invalid indexing of 0-dim memory")),
    Case("2-D m[None]", u1_2x3, getitem(None), (TypeError, BAD_KEY), (TypeError, BAD_KEY)),
]

ASSIGN_CASES = [
    Case("1-D m[0:2] = b'xyz'", ba(6), setitem(slice(0, 2), lambda: b"xyz"),
         (ValueError, STRUCTURE), (ValueError, STRUCTURE)),
    Case("1-D m[0:2] = 2 'H'", ba(6), setitem(slice(0, 2), lambda: np.zeros(2, "u2")),
         (ValueError, STRUCTURE), (ValueError, STRUCTURE)),
    Case("2-D m[:] = a 3x2 'B'", u1_2x3, setitem(slice(None), lambda: np.zeros((3, 2), "u1")),
         (NotImplementedError, ND_SLICE_SET), (ValueError, structure([2, 3], "B", [3, 2], "B"))),
    Case("2-D m[:] = 6 bytes", u1_2x3, setitem(slice(None), lambda: bytes(6)),
         (NotImplementedError, ND_SLICE_SET), (ValueError, structure([2, 3], "B", [6], "B"))),
    Case("2-D m[:] = a 2x3 'b'", u1_2x3, setitem(slice(None), lambda: np.zeros((2, 3), "i1")),
         (NotImplementedError, ND_SLICE_SET), (ValueError, structure([2, 3], "B", [2, 3], "b"))),
    Case("2-D m[0] = b'xy'", u1_2x3, setitem(0, lambda: b"xy"),
         (NotImplementedError, SUB_VIEWS), (ValueError, structure([3], "B", [2], "B"))),
    Case("2-D m[:, 0] = b'xyz'", u1_2x3, setitem((slice(None), 0), lambda: b"xyz"),
         (TypeError, BAD_KEY), (ValueError, structure([2], "B", [3], "B"))),
    Case("3-D m[:, 0] = a 2x5 'h'", i2_2x3x4,
         setitem((slice(None), 0), lambda: np.zeros((2, 5), "i2")),
         (TypeError, BAD_KEY), (ValueError, structure([2, 4], H, [2, 5], H))),
    Case("3-D m[:, 0] = a 2x4 '>h'", i2_2x3x4,
         setitem((slice(None), 0), lambda: np.zeros((2, 4), ">i2")),
         (TypeError, BAD_KEY), (ValueError, structure([2, 4], H, [2, 4], ">h"))),
    Case("3-D m[0] = a 4x3 'h'", i2_2x3x4, setitem(0, lambda: np.zeros((4, 3), "i2")),
         (NotImplementedError, SUB_VIEWS), (ValueError, structure([3, 4], H, [4, 3], H))),
    Case("2-D m[0] = 5", u1_2x3, setitem(0, lambda: 5),
         (NotImplementedError, SUB_VIEWS),
         (TypeError, "a bytes-like object is required, not 'int'")),
]

ITEM_CASES = [
    Case("record m[0] = (1,)", record, setitem(0, lambda: (1,)),
         (NotImplementedError, "memoryview: unsupported format " + REC),
         (ValueError, record_count(REC, 2, 1))),
    Case("record m[0] = (1, 2.0, 3)", record, setitem(0, lambda: (1, 2.0, 3)),
         (NotImplementedError, "memoryview: unsupported format " + REC),
         (ValueError, record_count(REC, 2, 3))),
    Case("record m[0] = 1", record, setitem(0, lambda: 1),
         (NotImplementedError, "memoryview: unsupported format " + REC),
         (TypeError, record_type(REC, 2, "int"))),
    # already right
    Case("'&<i' tolist() (ctypes pointers)", lambda: (ctypes.POINTER(ctypes.c_int) * 2)(),
         call("tolist"),
         (NotImplementedError, "memoryview: unsupported format &<i"),
         (NotImplementedError, "memoryview: unsupported format &<i")),
    Case("padded ctypes structure tolist()", lambda: (Padded * 2)(), call("tolist"),
         (NotImplementedError, "memoryview: unsupported format " + PADDED),
         (NotImplementedError, "memoryview: format %s describes 5-byte items, but the "
                               "exporter's itemsize is 8" % PADDED)),
    Case("'i' m[0] = 2**40", lambda: np.zeros(2, "i4"), setitem(0, lambda: 2 ** 40),
         (ValueError, "memoryview: invalid value for format 'i'"),
         (ValueError, "memoryview: invalid value for format 'i'")),
    # 'P' takes ints only (PyLong_AsVoidPtr), not __index__ objects
    Case("'P' m[0] = Index(3)", ba(16), lambda m: m.cast("P").__setitem__(0, Index(3)),
         (TypeError, "memoryview: invalid type for format 'P'"),
         (TypeError, "memoryview: invalid type for format 'P'")),
    Case("'>i' m[0] = 'x'", lambda: np.zeros(2, ">i4"), setitem(0, lambda: "x"),
         (NotImplementedError, "memoryview: unsupported format >i"),
         (TypeError, "memoryview: invalid type for format '>i'")),
]

SEARCH = ["find", "find_view", "startswith", "endswith", "split"]
NO_METHOD = None  # the builtin has no such method: bytes is the reference (test_bytes_reference)

SEARCH_CASES = [
    Case("find on 3 'h'", i2_3, call("find", b"\0"), NO_METHOD,
         (TypeError, byte_search(1, H))),
    Case("find_view on a 2x3 'B'", u1_2x3, call("find_view", b"\0"), NO_METHOD,
         (TypeError, byte_search(2, "B"))),
    Case("startswith on a 2x3 'B'", u1_2x3, call("startswith", b"\0"), NO_METHOD,
         (TypeError, byte_search(2, "B"))),
    Case("split() on a 0-dim 'B'", zero_dim, call("split"), NO_METHOD,
         (TypeError, byte_search(0, "B"))),
    Case("endswith on a 'd' view", lambda: np.zeros(2, "f8"), call("endswith", b"\0"), NO_METHOD,
         (TypeError, byte_search(1, "d"))),
]

# Arguments of the byte search methods: bytes' own errors (checked against
# bytes by test_bytes_reference).
BYTES_ARG_CASES = [
    ("startswith('ab')", call("startswith", "ab"),
     (TypeError, "startswith first arg must be bytes or a tuple of bytes, not str")),
    ("endswith(97)", call("endswith", 97),
     (TypeError, "endswith first arg must be bytes or a tuple of bytes, not int")),
    ("startswith(None)", call("startswith", None),
     (TypeError, "startswith first arg must be bytes or a tuple of bytes, not NoneType")),
    ("startswith((b'x', 1))", call("startswith", (b"x", 1)),
     (TypeError, "a bytes-like object is required, not 'int'")),
    ("split(b' ', 2**70)", call("split", b" ", 2 ** 70), (OverflowError, TOO_LARGE)),
    ("split(b'')", call("split", b""), (ValueError, "empty separator")),
    ("split(1)", call("split", 1), (TypeError, "a bytes-like object is required, not 'int'")),
    ("find('ab')", call("find", "ab"),
     (TypeError, "argument should be integer or bytes-like object, not 'str'")),
    ("find(256)", call("find", 256), (ValueError, "byte must be in range(0, 256)")),
    ("find(b'a', 1.5)", call("find", b"a", 1.5),
     (TypeError, "slice indices must be integers or None or have an __index__ method")),
    ("endswith(b'a', None, 'x')", call("endswith", b"a", None, "x"),
     (TypeError, "slice indices must be integers or None or have an __index__ method")),
]

HEX_CASES = [
    Case("hex('::')", ba(4), call("hex", "::"),
         (ValueError, "sep must be length 1."), (ValueError, "sep must be length 1.")),
    Case("hex(1)", ba(4), call("hex", 1),
         (TypeError, "object of type 'int' has no len()"),
         (TypeError, "object of type 'int' has no len()")),
    Case("hex(b'\\xff')", ba(4), call("hex", b"\xff"),
         (ValueError, "sep must be ASCII."), (ValueError, "sep must be ASCII.")),
    Case("hex(':', 2**40)", ba(4), call("hex", ":", 2 ** 40),
         (OverflowError, "Python int too large to convert to C int"),
         (OverflowError, "Python int too large to convert to C int")),
    Case("hex(':', 'x')", ba(4), call("hex", ":", "x"),
         (TypeError, "'str' object cannot be interpreted as an integer"),
         (TypeError, "'str' object cannot be interpreted as an integer")),
]

LOOKUP_CASES = [
    # CPython 3.14's texts (count iterates; index refuses N-D views)
    Case("count on a 2x3 'B'", u1_2x3, call("count", 0), NO_METHOD,
         (NotImplementedError, ND_SUB_VIEWS)),
    Case("index on a 2x3 'B'", u1_2x3, call("index", 0), NO_METHOD,
         (NotImplementedError, "multi-dimensional lookup is not implemented")),
    Case("index on a 0-dim 'B'", zero_dim, call("index", 0), NO_METHOD,
         (TypeError, "invalid lookup on 0-dim memory")),
    Case("count on a 0-dim 'B'", zero_dim, call("count", 0), NO_METHOD,
         (TypeError, "invalid indexing of 0-dim memory")),
    Case("index(300) on bytes", ba(4), call("index", 300), NO_METHOD,
         (ValueError, "memoryview.index(x): x not found")),
]

CASES = (CAST_CASES + KEY_CASES + ASSIGN_CASES + ITEM_CASES + SEARCH_CASES + HEX_CASES
         + LOOKUP_CASES)


def ids(cases):
    return [c.id for c in cases]


def check(o, intended, what):
    exc, text = intended
    assert not o.ok, "%s: no error, intended %s(%r)" % (what, exc.__name__, text)
    assert o.exc is exc and re.fullmatch(re.escape(text), o.msg), (
        "%s:\n  got      %s(%r)\n  intended %s(%r)" % (what, o.exc.__name__, o.msg,
                                                      exc.__name__, text))


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_message(case):
    check(outcome(case.op, MV(case.make())), case.intended, case.id)


@pytest.mark.parametrize("case", [c for c in CASES if c.builtin is not None],
                         ids=ids([c for c in CASES if c.builtin is not None]))
def test_builtin_reference(case):
    """The table's builtin column is what the running builtin raises."""
    check(outcome(case.op, BUILTIN(case.make())), case.builtin, "builtin " + case.id)


def test_parity_cases_keep_the_builtin_text():
    """Rule 1 in the table itself: where the intended error differs from
    the builtin's, the builtin's is a limitation memview removes."""
    limitations = {DEST, C_ONLY, ND_ND, NON_BYTE, BAD_KEY, ND_SLICING, ND_SLICE_SET,
                   SUB_VIEWS, ND_SUB_VIEWS, "memoryview: unsupported format " + REC,
                   "memoryview: unsupported format >i", "memoryview: unsupported format " + PADDED}
    for c in CASES:
        if c.builtin is not None and not c.parity:
            assert c.builtin[1] in limitations, c


@pytest.mark.parametrize("label,op,intended", BYTES_ARG_CASES, ids=[x[0] for x in BYTES_ARG_CASES])
def test_byte_search_argument_message(label, op, intended):
    check(outcome(op, MV(bytearray(b"ab cd ab"))), intended, label)


@pytest.mark.parametrize("label,op,intended", BYTES_ARG_CASES, ids=[x[0] for x in BYTES_ARG_CASES])
def test_bytes_reference(label, op, intended):
    """The byte search methods mirror bytes': its errors are the reference."""
    check(outcome(op, b"ab cd ab"), intended, "bytes " + label)


def test_cast_errors_follow_cpython_order():
    """The real cause is found in CPython's order of checks: layout, zeros
    in the source shape, the shape argument, the number of dimensions, the
    destination format, the length, then the shape's elements and their
    product."""
    f = u1_2x3_f
    check(outcome(MV(strided()).cast, "Zq", 5), (TypeError, C_OR_F), "layout before shape")
    check(outcome(MV(f()).cast, "Zq", 5), (TypeError, SHAPE_TYPE), "shape type before format")
    check(outcome(MV(f()).cast, "Zq", [0] * 65), (ValueError, NDIM_64), "ndim before format")
    check(outcome(MV(f()).cast, "Zq", [0]),
          (ValueError, bad_format("Zq", "'Z' must be followed by 'f' or 'd'")),
          "format before shape elements")
    check(outcome(MV(f()).cast, "<i", [0]), (TypeError, length(6, 4, "<i")),
          "length before shape elements")
    check(outcome(MV(f()).cast, "B", [0, 7]), (ValueError, positive(0, 0)),
          "elements before product")
    check(outcome(MV(f()).cast, "B", [7, "a"]), (TypeError, integers(1, "str")),
          "each element in turn")


def test_casts_beyond_the_builtin_still_work():
    """The inputs next to the failing ones succeed (so the failures above
    are about the one thing their message names)."""
    assert MV(bytearray(8)).cast("<i").shape == (2,)
    assert MV(bytearray(16)).cast("<d", [2]).shape == (2,)
    assert MV(u1_2x3()).cast("B", [3, 2]).shape == (3, 2)
    assert MV(u1_2x3_f()).cast("B", [6]).shape == (6,)
    assert MV(i2_3()).cast("h", [3]).shape == (3,)
    assert MV(bytearray(4)).cast("<h", [2]).shape == (2,)
    assert MV(bytearray(8)).cast("x").shape == (8,)
    assert MV(u1_2x3())[0, 1:].tolist() == [1, 2]
    m = MV(u1_2x3())
    m[:, 0] = b"xy"
    assert m.tolist() == [[ord("x"), 1, 2], [ord("y"), 4, 5]]
