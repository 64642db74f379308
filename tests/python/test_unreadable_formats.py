"""Formats memview cannot read, and the UCS-4 character format 'w'.

1. For a format memview cannot unpack ('g' long double, 'O' object
   pointers), the checks that do not need the item come first, as in the
   builtin: an index out of range is an IndexError and deleting is a
   TypeError (same messages as the builtin on the same exporter), an empty
   slice lists as [], and only reading or writing an item in range raises
   NotImplementedError.  Byte-level operations (tobytes, hex, len) work.

2. 'w' (one UCS-4 code point, itemsize 4) is readable: array('u') exports
   it on Linux, NumPy 'U<n>' exports '<n>w' (itemsize 4*n).  An item of 'w'
   or '1w' is a one-character str; an item of '<n>w' with n > 1 is a tuple
   of n one-character strs (a repeat count gives several values, as struct
   does for '2h').  A code point above 0x10FFFF in memory is a ValueError
   on read.

3. The builtin: CPython 3.11's memoryview cannot read 'w' at all (see
   test_builtin_w_on_this_interpreter); memview goes beyond it, so the
   oracles for 'w' are array.array, NumPy and struct-free models.
"""

import ctypes
import struct
import sys
from array import array

import numpy as np
import pytest

from strategies import BUILTIN, MV, outcome

PY = sys.version_info[:2]

WCHAR4 = array("u").itemsize == 4
needs_wchar4 = pytest.mark.skipif(not WCHAR4, reason="array('u') is UCS-2 here")

# --------------------------------------------------------------------------
# 1. formats memview cannot read: index checks first
# --------------------------------------------------------------------------


def longdouble_array():
    return np.zeros(2, dtype=np.longdouble)


def object_array():
    return np.array([1, "a"], dtype=object)


def ctypes_longdouble():
    return (ctypes.c_longdouble * 2)()


# (format, exporter, oracle): the builtin checks a single-character format
# only when it unpacks an item, after the index checks, but refuses a
# format of two or more characters ('<g') before anything else, so for '<g'
# the builtin over the 'g' array of the same shape is the oracle for
# IndexError / TypeError (memview reads '<h' and checks its index first, so
# it has no reason to treat '<g' differently from 'g').
UNREADABLE = [("g", longdouble_array, longdouble_array), ("O", object_array, object_array),
              ("<g", ctypes_longdouble, longdouble_array)]


class Unreadable:
    def __init__(self, make, oracle):
        self.make, self.oracle = make, oracle

    def __call__(self):
        return self.make()


@pytest.fixture(params=UNREADABLE, ids=[u[0] for u in UNREADABLE])
def unreadable(request):
    fmt, make, oracle = request.param
    b = BUILTIN(make())
    if b.format != fmt:
        pytest.skip("exports %r here, not %r" % (b.format, fmt))
    if fmt.endswith("g") and b.itemsize == struct.calcsize("d"):
        pytest.skip("long double is double here")
    o = BUILTIN(oracle())
    assert (o.shape, o.itemsize) == (b.shape, b.itemsize)
    return Unreadable(make, oracle)


def same_error(bo, mo):
    """Both raised, the same type and message."""
    return (not bo.ok and not mo.ok and bo.exc is mo.exc and bo.msg == mo.msg)


@pytest.mark.parametrize("key", [5, 2, -3, -100, 2 ** 40, -(2 ** 40), 2 ** 100, (5,),
                                 (-3,)],
                         ids=str)
def test_getitem_out_of_range(unreadable, key):
    bo = outcome(lambda: BUILTIN(unreadable.oracle())[key])
    mo = outcome(lambda: MV(unreadable())[key])
    assert bo.exc is IndexError or (key == 2 ** 100 and not bo.ok), bo
    assert same_error(bo, mo), (bo, mo)


@pytest.mark.parametrize("key", [5, -3, 2 ** 40, (5,)], ids=str)
def test_setitem_out_of_range(unreadable, key):
    bo = outcome(lambda: BUILTIN(unreadable.oracle()).__setitem__(key, 0))
    mo = outcome(lambda: MV(unreadable()).__setitem__(key, 0))
    assert bo.exc is IndexError, bo
    assert same_error(bo, mo), (bo, mo)


@pytest.mark.parametrize("key", [0, 5, -1, slice(0, 1), (0,)], ids=str)
def test_delitem(unreadable, key):
    bo = outcome(lambda: BUILTIN(unreadable.oracle()).__delitem__(key))
    mo = outcome(lambda: MV(unreadable()).__delitem__(key))
    assert bo.exc is TypeError, bo
    assert same_error(bo, mo), (bo, mo)


@pytest.mark.parametrize("op", ["get0", "get5", "set0", "set5", "del0"])
def test_readonly_checked_before_format(unreadable, op):
    def run(view):
        r = view.toreadonly()
        if op == "get0":
            return r[0]
        if op == "get5":
            return r[5]
        if op.startswith("set"):
            r[int(op[3:])] = 0
            return None
        del r[0]
        return None

    bo = outcome(run, BUILTIN(unreadable.oracle()))
    mo = outcome(run, MV(unreadable()))
    if op.startswith("get"):  # reading: as the builtin, whatever it says
        assert bo.exc in (NotImplementedError, IndexError)
        assert mo.exc is bo.exc, (bo, mo)
        if bo.exc is IndexError:
            assert mo.msg == bo.msg
    else:
        assert bo.exc is TypeError
        assert same_error(bo, mo), (bo, mo)


def test_empty_slices(unreadable):
    for key in (slice(0, 0), slice(5, None), slice(None, None, -1)):
        bo = outcome(lambda: BUILTIN(unreadable.oracle())[key].tolist())
        mo = outcome(lambda: MV(unreadable())[key].tolist())
        if key.step == -1:  # not empty: both refuse to read
            assert bo.exc is NotImplementedError and mo.exc is NotImplementedError, (bo, mo)
            continue
        assert bo.ok and bo.value == []
        assert mo.ok and mo.value == [], mo
        assert list(MV(unreadable())[key]) == []


@pytest.mark.parametrize("key", [0, 1, -1, -2, (0,), (-1,)], ids=str)
def test_item_in_range_not_implemented(unreadable, key):
    bo = outcome(lambda: BUILTIN(unreadable.oracle())[key])
    mo = outcome(lambda: MV(unreadable())[key])
    assert bo.exc is NotImplementedError, bo
    assert mo.exc is NotImplementedError, mo  # message may differ


@pytest.mark.parametrize("key", [0, -1], ids=str)
def test_setitem_in_range_not_implemented(unreadable, key):
    ex = unreadable()
    before = bytes(BUILTIN(ex))
    bo = outcome(lambda: BUILTIN(unreadable.oracle()).__setitem__(key, 0))
    mo = outcome(lambda: MV(ex).__setitem__(key, 0))
    assert bo.exc is NotImplementedError, bo
    assert mo.exc is NotImplementedError, mo
    assert bytes(BUILTIN(ex)) == before


def test_whole_reads_not_implemented(unreadable):
    for fn in (lambda v: v.tolist(), lambda v: list(v)):
        bo = outcome(fn, BUILTIN(unreadable.oracle()))
        mo = outcome(fn, MV(unreadable()))
        assert bo.exc is NotImplementedError, bo
        assert mo.exc is NotImplementedError, mo


def test_invalid_key_type(unreadable):
    for key in ("a", 1.0, None):
        bo = outcome(lambda: BUILTIN(unreadable.oracle())[key])
        mo = outcome(lambda: MV(unreadable())[key])
        assert bo.exc is TypeError
        assert same_error(bo, mo), (key, bo, mo)


def test_byte_level_operations(unreadable):
    ex = unreadable()
    b, m = BUILTIN(ex), MV(ex)
    for attr in ("format", "itemsize", "ndim", "shape", "strides", "nbytes", "readonly",
                 "c_contiguous", "f_contiguous", "contiguous"):
        assert getattr(m, attr) == getattr(b, attr), attr
    assert m.tobytes() == b.tobytes()
    assert m.tobytes("F") == b.tobytes("F")
    assert m.hex() == b.hex()
    assert m.hex(":", 4) == b.hex(":", 4)
    assert len(m) == len(b) == 2
    assert m[::-1].tobytes() == b[::-1].tobytes()
    assert len(m[1:]) == 1 and m[1:].nbytes == b.itemsize
    assert bytes(m) == bytes(b)


def test_unreadable_views_compare_unequal(unreadable):
    # the builtin cannot unpack them, so they are unequal (even to
    # themselves); memview keeps that
    b = BUILTIN(unreadable())
    m = MV(unreadable())
    assert (b == b) is False
    assert (m == m) is False and (m == MV(unreadable())) is False


# --------------------------------------------------------------------------
# 2. 'w': UCS-4 characters
# --------------------------------------------------------------------------

TEXT = "aé€😀"


@needs_wchar4
def test_array_u_exports_w():
    b = BUILTIN(array("u", "ab"))
    assert (b.format, b.itemsize) == ("w", 4)
    m = MV(array("u", "ab"))
    assert (m.format, m.itemsize, m.shape) == ("w", 4, (2,))


@needs_wchar4
def test_w_tolist_and_items():
    arr = array("u", TEXT)
    m = MV(arr)
    assert m.tolist() == list(arr) == ["a", "é", "€", "😀"]
    for i in range(-len(arr), len(arr)):
        x = m[i]
        assert type(x) is str and len(x) == 1
        assert x == arr[i]
    assert m[-1] == "😀"
    assert m[0,] == "a"
    with pytest.raises(IndexError):
        m[4]


@needs_wchar4
def test_w_surrogates_and_extremes():
    # any code point up to 0x10FFFF is a str of length 1 (lone surrogates
    # included, as array('u') itself gives them back)
    text = "\0\ud800\udfff\uffff\U0010ffff"
    arr = array("u", text)
    m = MV(arr)
    assert m.tolist() == list(arr) == list(text)
    assert [m[i] for i in range(len(arr))] == list(text)


@needs_wchar4
@pytest.mark.parametrize("key", [slice(1, 3), slice(None, None, -1), slice(None, None, 2),
                                 slice(-3, None), slice(5, None), slice(3, 1)],
                         ids=str)
def test_w_slices(key):
    arr = array("u", TEXT)
    m = MV(arr)[key]
    assert m.format == "w"
    assert m.tolist() == list(arr[key])
    assert list(m) == list(arr[key])
    assert m.tobytes() == arr[key].tobytes()


@needs_wchar4
def test_w_iteration():
    arr = array("u", TEXT)
    m = MV(arr)
    assert list(m) == list(arr)
    assert list(reversed(m)) == list(reversed(arr))
    assert [c for c in m[::-1]] == list(TEXT[::-1])
    assert "€" in m and "x" not in m


@needs_wchar4
def test_w_setitem():
    arr = array("u", TEXT)
    m = MV(arr)
    m[1] = "z"
    assert arr.tounicode() == "az€😀"
    m[-1] = "\U0010ffff"
    assert arr.tounicode() == "az€\U0010ffff"
    m[0] = "😀"
    assert arr.tounicode() == "😀z€\U0010ffff"
    m[2,] = "q"
    assert arr.tounicode() == "😀zq\U0010ffff"
    m[0:2] = MV(array("u", "xy"))
    assert arr.tounicode() == "xyq\U0010ffff"
    m[::-1] = MV(array("u", "1234"))
    assert arr.tounicode() == "4321"


@needs_wchar4
@pytest.mark.parametrize("value,excs", [
    ("ab", (TypeError, ValueError)),
    ("", (TypeError, ValueError)),
    (1, (TypeError,)),
    (0x61, (TypeError,)),
    (b"a", (TypeError,)),
    (None, (TypeError,)),
    (1.0, (TypeError,)),
    (["a"], (TypeError,)),
    (("a",), (TypeError,)),
], ids=repr)
def test_w_setitem_bad_values(value, excs):
    arr = array("u", TEXT)
    m = MV(arr)
    with pytest.raises(excs):
        m[0] = value
    with pytest.raises(excs):
        m[-1] = value
    assert arr.tounicode() == TEXT
    assert m.tolist() == list(TEXT)


@needs_wchar4
def test_w_setitem_readonly_and_bounds():
    arr = array("u", TEXT)
    with pytest.raises(TypeError):
        MV(arr).toreadonly()[0] = "x"
    with pytest.raises(IndexError):
        MV(arr)[4] = "x"
    assert arr.tounicode() == TEXT


@needs_wchar4
def test_w_equality():
    a, b = MV(array("u", "ab")), MV(array("u", "ab"))
    assert a == b and not (a != b)
    assert a == a
    assert MV(array("u", "ab")) != MV(array("u", "ac"))
    assert not (MV(array("u", "ab")) == MV(array("u", "abc")))
    # str is never equal to bytes or int
    assert not (MV(array("u", "ab")) == MV(b"ab"))
    assert MV(array("u", "ab")) != MV(b"ab")
    assert not (MV(array("u", "ab")) == MV(array("I", [97, 98])))
    assert not (MV(array("u", "ab")) == b"ab")
    # by value, across layouts
    assert MV(array("u", "abc"))[::-1] == MV(array("u", "cba"))
    assert MV(array("u", "axbxc"))[::2] == MV(array("u", "abc"))
    # empty views: equal to any empty view, as for other formats
    assert MV(array("u", "")) == MV(b"")


def test_w_equals_numpy_u1():
    # NumPy 'U1' exports '1w': one value per item, equal to 'w' of the same text
    u1 = np.array(list("aé€"), dtype="U1")
    m = MV(u1)
    assert (m.format, m.itemsize) == ("1w", 4)
    assert m.tolist() == ["a", "é", "€"] == u1.tolist()
    assert m[1] == "é"
    if WCHAR4:
        assert m == MV(array("u", "aé€"))
        assert MV(array("u", "aé€")) == m


def test_w_big_endian_numpy():
    # NumPy '>U1' exports '>1w': the same text, byte-swapped in memory
    be = np.array(list("aé😀"), dtype=">U1")
    m = MV(be)
    assert m.format == ">1w"
    assert m.tolist() == ["a", "é", "😀"]
    assert m == MV(np.array(list("aé😀"), dtype="<U1"))
    be2 = np.array(["ab", "c"], dtype=">U2")
    assert MV(be2).tolist() == [("a", "b"), ("c", "\0")]


def test_w_repeat_count_numpy():
    a = np.array(["ab", "cd"], dtype="U2")
    m = MV(a)
    assert (m.format, m.itemsize, m.shape) == ("2w", 8, (2,))
    # struct-like: a repeat count gives several values per item
    assert m.tolist() == [("a", "b"), ("c", "d")]
    assert m[1] == ("c", "d")
    assert m[-2] == ("a", "b")
    assert list(m[::-1]) == [("c", "d"), ("a", "b")]
    # NumPy pads short strings with NUL code points
    p = MV(np.array(["a", "xyz"], dtype="U3"))
    assert p.format == "3w"
    assert p.tolist() == [("a", "\0", "\0"), ("x", "y", "z")]
    # 2-D
    t = np.array([["ab", "cd", "ef"], ["gh", "ij", "kl"]], dtype="U2")
    assert MV(t).tolist() == [[tuple(s) for s in row] for row in t.tolist()]
    assert MV(t)[1, 2] == ("k", "l")


def test_w_repeat_count_setitem_numpy():
    a = np.array(["ab", "cd"], dtype="U2")
    m = MV(a)
    m[0] = ("x", "y")
    assert a.tolist() == ["xy", "cd"]
    for bad in ("zz", ("z",), ("z", "zz"), ("z", 1), 1):
        with pytest.raises((TypeError, ValueError)):
            m[1] = bad
    assert a.tolist() == ["xy", "cd"]


def test_w_hash_consistent_with_eq():
    # NumPy str_ scalars are hashable exporters of read-only 0-dim '<n>w'
    # views (array.array and NumPy arrays are not hashable, and the
    # exporter is hashed first)
    a, b = MV(np.str_("é")), MV(np.str_("é"))
    assert a.format == "1w" and a.ndim == 0 and a.readonly
    assert a.tolist() == "é"
    assert a == b and hash(a) == hash(b)
    assert {a: 1}.get(b) == 1
    c = MV(np.str_("e"))
    assert a != c
    s2, t2 = MV(np.str_("ab")), MV(np.str_("ab"))
    assert s2.format == "2w" and s2.tolist() == ("a", "b")
    assert s2 == t2 and hash(s2) == hash(t2)
    assert s2 != MV(np.str_("ba"))
    # a 'w' view is never equal to a byte view of its code points
    assert a != MV(np.uint8(0xE9))
    assert MV(np.str_("a")) != MV(np.uint8(0x61))


@needs_wchar4
def test_w_hash_rules():
    arr = array("u", "ab")
    with pytest.raises(ValueError, match="cannot hash writable memoryview object"):
        hash(MV(arr))
    # read-only over an unhashable exporter: the exporter's TypeError, as
    # the builtin gives for 'B'
    bo = outcome(hash, BUILTIN(array("B", [1])).toreadonly())
    mo = outcome(hash, MV(arr).toreadonly())
    assert bo.exc is TypeError and (mo.exc, mo.msg) == (bo.exc, bo.msg), mo


def _bad_code_point_views(cp):
    """Views of a code point cp (> 0x10FFFF) in memory."""
    out = [("U1", MV(np.array([cp], dtype="=u4").view("U1")), 0)]
    out.append(("U2", MV(np.array([0x61, cp], dtype="=u4").view("U2")), 0))
    out.append((">U1", MV(np.array([cp], dtype=">u4").view(">U1")), 0))
    ba = bytearray(struct.pack("=3I", 0x61, cp, 0x62))
    r = outcome(lambda: MV(ba).cast("w"))
    if r.ok:  # memview may or may not cast to 'w'
        out.append(("cast w", r.value, 1))
    if WCHAR4:
        # array('u') refuses to hold it, but its memory can: write it there
        arr = array("u", "xyz")
        BUILTIN(arr).cast("B").cast("I")[1] = cp
        out.append(("array u", MV(arr), 1))
    return out


@pytest.mark.parametrize("cp", [0x110000, 0x7FFFFFFF, 0xFFFFFFFF], ids=hex)
def test_w_code_point_out_of_range(cp):
    for name, m, bad in _bad_code_point_views(cp):
        with pytest.raises(ValueError):
            m[bad]
        with pytest.raises(ValueError):
            m.tolist()
        with pytest.raises(ValueError):
            list(m)
        # the memory itself is still there to copy
        assert len(m.tobytes()) == m.nbytes, name


@needs_wchar4
def test_w_good_neighbours_of_bad_code_point():
    arr = array("u", "xyz")
    BUILTIN(arr).cast("B").cast("I")[1] = 0x110000
    m = MV(arr)
    assert m[0] == "x" and m[2] == "z" and m[::2].tolist() == ["x", "z"]
    with pytest.raises(ValueError):
        m[1]
    # writing a valid character over it repairs it
    m[1] = "y"
    assert m.tolist() == ["x", "y", "z"] and arr.tounicode() == "xyz"


# --------------------------------------------------------------------------
# 3. what the builtin does with 'w' on this interpreter
# --------------------------------------------------------------------------


@needs_wchar4
def test_builtin_w_on_this_interpreter():
    # CPython 3.11: array('u') exports 'w' (wchar_t is 4 bytes on Linux),
    # but the builtin memoryview's unpacker knows only the native struct
    # codes, so any item access or tolist() raises NotImplementedError
    # "memoryview: format w not supported"; == falls back to struct, which
    # rejects 'w', so two 'w' views are unequal even with the same text;
    # index checks come before the format check (m[5] is an IndexError).
    b = BUILTIN(array("u", "ab"))
    r0, rl, r5 = outcome(lambda: b[0]), outcome(b.tolist), outcome(lambda: b[5])
    if PY == (3, 11):
        assert (r0.exc, r0.msg) == (NotImplementedError, "memoryview: format w not supported")
        assert (rl.exc, rl.msg) == (NotImplementedError, "memoryview: format w not supported")
        assert (r5.exc, r5.msg) == (IndexError, "index out of bounds on dimension 1")
        assert (b == BUILTIN(array("u", "ab"))) is False
        assert b[:0].tolist() == []
    else:  # later versions may read it; if so, as memview does
        assert r0.exc is NotImplementedError or r0.value == "a"
    # memview reads 'w' and keeps the builtin's index error
    m = MV(array("u", "ab"))
    assert m[0] == "a" and m.tolist() == ["a", "b"]
    m5 = outcome(lambda: m[5])
    assert (m5.exc, m5.msg) == (r5.exc, r5.msg)
