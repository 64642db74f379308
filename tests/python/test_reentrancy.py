"""Re-entrancy: a method that calls back into Python pins its view.

The rule (CPython 3.14+ for hex(sep) - gh-143195 - and hash(m) while
hash(m.obj) runs - gh-142664 -, memview for every method): a method that
runs Python code (__index__ of an argument, len(sep), __eq__ of a value,
hash(obj), a Python buffer exporter's __buffer__) while it uses the view
pins the view for the duration of the call.  m.release() called from such
a callback raises BufferError and the view stays as it was; the method
then returns the result it would have returned without the callback's
release attempt; the pin ends when the method returns (m works, and
m.release() succeeds, afterwards).

Item get/set are outside the rule (test_safety.py): a hook there may
release the view, and the operation raises ValueError "operation forbidden
on released memoryview object", exactly as the builtin does.

Each test below records what m.release() did inside the callback; when the
release succeeds (a method that does not pin), the callback also resizes the
bytearray so that its memory moves: a method that then still read the old
memory would be caught by the result checks (or by ASan).
"""

import array
import ctypes
import gc
import struct

import pytest

from strategies import BUILTIN, MV, PY, outcome

RELEASED = "operation forbidden on released memoryview object"


class Probe:
    """The view under test and what the callbacks did to it."""

    def __init__(self, data, fmt=None):
        self.data = bytes(data)
        self.ba = bytearray(data)
        m = MV(self.ba)
        self.m = m.cast(fmt) if fmt else m
        self.attempts = []  # one entry per release attempt: "BufferError" or "released"
        self.inside = []    # what m.tobytes() gave inside the callback, after the attempt

    def attempt(self):
        """Try to release the view from inside a callback."""
        try:
            self.m.release()
        except BufferError:
            self.attempts.append("BufferError")
            # still pinned: the view works inside the callback too
            self.inside.append(outcome(self.m.tobytes))
        else:
            self.attempts.append("released")
            # the view is gone: let the memory move under a method that did
            # not pin it
            try:
                self.ba.extend(bytes(1 << 16))
            except BufferError:
                pass

    def check_pinned(self, result, expected):
        """Every attempt raised BufferError, the method gave `expected`,
        the memory is intact, and the pin ended with the call."""
        assert self.attempts, "the callback never ran"
        assert all(a == "BufferError" for a in self.attempts), (
            "m.release() inside the callback: %r (the method does not pin the view); "
            "the method gave %r" % (self.attempts, result))
        for o in self.inside:
            assert o.ok and o.value == self.data, o
        assert result.ok, "the method failed after the refused release: %r" % (result,)
        assert result.value == expected, (result.value, expected)
        self.check_after()

    def check_after(self):
        # memory intact, not moved, the view still works
        assert bytes(self.ba) == self.data
        assert self.m.tobytes() == self.data
        assert self.m.nbytes == len(self.data)
        # the pin ended with the call: release works now
        assert self.m.release() is None
        assert repr(self.m).startswith("<released memory")
        with pytest.raises(ValueError, match=RELEASED):
            self.m.tobytes()
        # and the exporter's buffer was given back
        self.ba.append(0)
        self.ba.pop()


def index_hook(probe, value):
    """An object whose __index__ tries to release the view."""

    class Hook:
        def __index__(self):
            probe.attempt()
            return value

        def __repr__(self):
            return "Hook(%r)" % (value,)

    return Hook()


def eq_hook(probe, target=None):
    """A value whose __eq__ tries to release the view, then compares equal
    to `target` (never, with None)."""

    class EqHook:
        __hash__ = None

        def __eq__(self, other):
            probe.attempt()
            return target is not None and other == target

        def __repr__(self):
            return "EqHook(%r)" % (target,)

    return EqHook()


# --------------------------------------------------------------------------
# hex
# --------------------------------------------------------------------------


@pytest.mark.parametrize("base", [bytes, str])
def test_hex_sep_len_pins(base):
    p = Probe(b"\xab\xcd\x01\x02" * 16)

    class Sep(base):
        def __len__(self):
            p.attempt()
            return base.__len__(self)

    sep = Sep(b":" if base is bytes else ":")
    r = outcome(p.m.hex, sep, 4)
    p.check_pinned(r, p.data.hex(":", 4))


@pytest.mark.parametrize("bps", [1, 3, -2])
def test_hex_bytes_per_sep_index_pins(bps):
    p = Probe(bytes(range(40)))
    r = outcome(p.m.hex, "-", index_hook(p, bps))
    p.check_pinned(r, p.data.hex("-", bps))


def test_hex_both_hooks_pin():
    p = Probe(bytes(range(17)))

    class Sep(str):
        def __len__(self):
            p.attempt()
            return 1

    r = outcome(p.m.hex, Sep("_"), index_hook(p, 2))
    assert len(p.attempts) == 2
    p.check_pinned(r, p.data.hex("_", 2))


def test_hex_of_cast_view_pins():
    p = Probe(struct.pack("4d", 1.5, -2.0, 0.0, 8.25), fmt="d")

    class Sep(bytes):
        def __len__(self):
            p.attempt()
            return 1

    r = outcome(p.m.hex, Sep(b" "), 8)
    p.check_pinned(r, p.data.hex(" ", 8))


def test_exit_inside_callback_is_refused_too():
    """`with m:` ending inside a callback is a release like any other."""
    p = Probe(b"abcdef")
    seen = []

    class Sep(str):
        def __len__(self):
            seen.append(outcome(p.m.__exit__, None, None, None))
            return 1

    r = outcome(p.m.hex, Sep(":"))
    assert seen and not seen[0].ok and seen[0].exc is BufferError, seen
    assert r.ok and r.value == p.data.hex(":"), r
    p.check_after()


def test_nested_pins():
    """A callback that calls another pinning method: each call pins, and
    the view stays pinned until the outermost call returns."""
    p = Probe(b"0123456789")
    inner = []

    class InnerSep(str):
        def __len__(self):
            p.attempt()
            return 1

    class OuterSep(str):
        def __len__(self):
            inner.append(outcome(p.m.hex, InnerSep("."), 2))
            p.attempt()  # the inner call returned: still pinned by ours
            return 1

    r = outcome(p.m.hex, OuterSep(":"), 5)
    assert inner and inner[0].ok and inner[0].value == p.data.hex(".", 2), inner
    assert len(p.attempts) == 2
    p.check_pinned(r, p.data.hex(":", 5))


# --------------------------------------------------------------------------
# hash
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [None, "c", "b", "d"])
def test_hash_obj_hash_pins(fmt):
    data = b"abcdefgh" * 8
    holder = []
    attempts = []

    class HB(bytes):
        def __hash__(self):
            try:
                holder[0].release()
            except BufferError:
                attempts.append("BufferError")
                holder.append(outcome(holder[0].tobytes))
            else:
                attempts.append("released")
            return 12345

    m = MV(HB(data))
    if fmt:
        m = m.cast(fmt)
    holder.append(m)
    # what hash(m) is without the hook: a view of the same bytes and format
    ref = MV(data)
    expected = hash(ref.cast(fmt) if fmt else ref)
    if fmt in (None, "c", "b"):
        assert expected == hash(data)
    r = outcome(hash, m)
    assert attempts, "hash(m.obj) never ran"
    assert all(a == "BufferError" for a in attempts), (
        "m.release() inside hash(m.obj): %r; hash(m) gave %r" % (attempts, r))
    assert all(o.ok and o.value == data for o in holder[1:]), holder
    assert r.ok and r.value == expected, (r, expected)
    # afterwards: the view works, the hash is cached, release works
    assert m.tobytes() == data
    assert hash(m) == expected
    assert m.release() is None
    assert hash(m) == expected  # cached before release, as CPython


# --------------------------------------------------------------------------
# count / index / in
# --------------------------------------------------------------------------

B_DATA = b"abcab"
D_VALUES = (1.5, 2.5, 1.5, -0.0)
D_DATA = struct.pack("4d", *D_VALUES)
C_DATA = b"xyzxy"

LOOKUPS = [
    # (label, data, fmt, target value in the items, items)
    ("B", B_DATA, None, ord("b"), list(B_DATA)),
    ("d", D_DATA, "d", 1.5, list(D_VALUES)),
    ("c", C_DATA, "c", b"y", [bytes([c]) for c in C_DATA]),
]


@pytest.mark.parametrize("label,data,fmt,target,items", LOOKUPS, ids=[x[0] for x in LOOKUPS])
@pytest.mark.parametrize("matches", [False, True])
def test_count_eq_pins(label, data, fmt, target, items, matches):
    p = Probe(data, fmt)
    x = eq_hook(p, target if matches else None)
    r = outcome(p.m.count, x)
    p.check_pinned(r, items.count(target) if matches else 0)


@pytest.mark.parametrize("label,data,fmt,target,items", LOOKUPS, ids=[x[0] for x in LOOKUPS])
def test_index_eq_pins(label, data, fmt, target, items):
    p = Probe(data, fmt)
    r = outcome(p.m.index, eq_hook(p, target))
    p.check_pinned(r, items.index(target))


@pytest.mark.parametrize("label,data,fmt,target,items", LOOKUPS, ids=[x[0] for x in LOOKUPS])
def test_index_eq_not_found_pins(label, data, fmt, target, items):
    p = Probe(data, fmt)
    r = outcome(p.m.index, eq_hook(p))
    assert p.attempts, "__eq__ never ran"
    assert all(a == "BufferError" for a in p.attempts), (p.attempts, r)
    assert len(p.attempts) == len(items), p.attempts  # every item compared once
    assert (r.exc, r.msg) == (ValueError, "memoryview.index(x): x not found"), r
    p.check_after()


@pytest.mark.parametrize("label,data,fmt,target,items", LOOKUPS, ids=[x[0] for x in LOOKUPS])
@pytest.mark.parametrize("matches", [False, True])
def test_contains_eq_pins(label, data, fmt, target, items, matches):
    p = Probe(data, fmt)
    x = eq_hook(p, target if matches else None)
    r = outcome(lambda: x in p.m)
    p.check_pinned(r, matches)


@pytest.mark.parametrize("which", ["start", "stop", "both"])
def test_index_start_stop_index_pins(which):
    p = Probe(b"abcabcabc")
    start = index_hook(p, 2) if which in ("start", "both") else 2
    stop = index_hook(p, 8) if which in ("stop", "both") else 8
    r = outcome(p.m.index, ord("a"), start, stop)
    p.check_pinned(r, p.data.index(b"a", 2, 8))


def test_index_start_hook_with_eq_hook_pins():
    p = Probe(D_DATA, "d")
    r = outcome(p.m.index, eq_hook(p, 1.5), index_hook(p, 1), index_hook(p, 4))
    p.check_pinned(r, 2)


# --------------------------------------------------------------------------
# byte search: find / find_view / startswith / endswith / split
# --------------------------------------------------------------------------

HAY = b"one two  three two one"


def methods():
    return [n for n in ("find", "find_view", "startswith", "endswith", "split")
            if hasattr(MV, n)]


@pytest.mark.parametrize("which", ["start", "end", "both"])
def test_find_start_end_index_pins(which):
    p = Probe(HAY)
    start = index_hook(p, 4) if which in ("start", "both") else 4
    end = index_hook(p, 20) if which in ("end", "both") else 20
    r = outcome(p.m.find, b"two", start, end)
    p.check_pinned(r, HAY.find(b"two", 4, 20))


def test_find_int_sub_index_pins():
    p = Probe(HAY)
    r = outcome(p.m.find, index_hook(p, ord("h")))
    p.check_pinned(r, HAY.find(ord("h")))


@pytest.mark.skipif(not hasattr(MV, "find_view"), reason="no find_view")
@pytest.mark.parametrize("how", ["sub", "start", "end"])
def test_find_view_index_pins(how):
    p = Probe(HAY)
    sub = index_hook(p, ord("w")) if how == "sub" else b"two"
    start = index_hook(p, 6) if how == "start" else 6
    end = index_hook(p, 22) if how == "end" else 22
    r = outcome(lambda: p.m.find_view(sub, start, end))
    needle = b"w" if how == "sub" else b"two"
    pos = HAY.find(needle, 6, 22)
    got = outcome(lambda: (r.value.tobytes(), r.value.obj is p.ba, r.value.readonly)) \
        if r.ok and r.value is not None else r
    if r.ok and r.value is not None:
        r.value.release()  # the match holds the exporter's buffer too
    # the matched sub-view, taken from the memory before the call returned
    if pos >= 0:
        p.check_pinned(got, (needle, True, False))
    else:
        p.check_pinned(r, None)


@pytest.mark.skipif(not hasattr(MV, "startswith"), reason="no startswith")
@pytest.mark.parametrize("name", ["startswith", "endswith"])
@pytest.mark.parametrize("which", ["start", "end"])
def test_affix_start_end_index_pins(name, which):
    p = Probe(HAY)
    affix = b"two" if name == "startswith" else b"three"
    args = (4, index_hook(p, 14)) if which == "end" else (index_hook(p, 4), 14)
    r = outcome(getattr(p.m, name), affix, *args)
    p.check_pinned(r, getattr(HAY, name)(affix, 4, 14))


@pytest.mark.skipif(not hasattr(MV, "startswith"), reason="no startswith")
@pytest.mark.parametrize("name", ["startswith", "endswith"])
def test_affix_tuple_with_index_hooks_pins(name):
    p = Probe(HAY)
    affixes = (b"zzz", b"one")
    r = outcome(getattr(p.m, name), affixes, index_hook(p, 0), index_hook(p, len(HAY)))
    p.check_pinned(r, getattr(HAY, name)(affixes, 0, len(HAY)))


@pytest.mark.skipif(not hasattr(MV, "split"), reason="no split")
@pytest.mark.parametrize("sep", [None, b" ", b"two"])
def test_split_maxsplit_index_pins(sep):
    p = Probe(HAY)
    r = outcome(lambda: [v.tobytes() for v in p.m.split(sep, index_hook(p, 2))])
    p.check_pinned(r, HAY.split(sep, 2))


@pytest.mark.skipif(not hasattr(MV, "split"), reason="no split")
def test_split_maxsplit_keyword_index_pins():
    p = Probe(HAY)
    r = outcome(lambda: [v.tobytes() for v in p.m.split(maxsplit=index_hook(p, 1))])
    p.check_pinned(r, HAY.split(maxsplit=1))


# --------------------------------------------------------------------------
# cast: no callback can run (shape elements must be ints)
# --------------------------------------------------------------------------


def test_cast_shape_index_object_never_called():
    """An __index__ object in the shape is refused before any call, with
    the builtin's error; if memview ever accepted it, the call would have
    to pin like the others."""
    p = Probe(bytes(8))
    bo = outcome(BUILTIN(bytearray(8)).cast, "B", [2, 4])
    assert bo.ok
    bo = outcome(BUILTIN(bytearray(8)).cast, "B", [2, index_hook(Probe(b"x"), 4)])
    mo = outcome(p.m.cast, "B", [2, index_hook(p, 4)])
    assert all(a == "BufferError" for a in p.attempts), p.attempts
    if not p.attempts:
        assert (mo.exc, mo.msg) == (bo.exc, bo.msg), (bo, mo)
    else:
        assert mo.ok and mo.value.shape == (2, 4), mo
    p.check_after()


def test_cast_shape_int_subclass_index_pins_or_never_runs():
    """An int subclass with an __index__ that releases: the value is read
    as an int (no call), or - if __index__ runs - the view is pinned."""
    p = Probe(bytes(12))

    class I(int):
        def __index__(self):
            p.attempt()
            return int(self)

    r = outcome(lambda: p.m.cast("B", [I(3), I(4)]).shape)
    assert all(a == "BufferError" for a in p.attempts), p.attempts
    assert r.ok and r.value == (3, 4), r
    p.check_after()


@pytest.mark.parametrize("fmt", ["i", "<i", "2h", "T{h:a:h:b:}"])
def test_cast_format_str_subclass_no_callback(fmt):
    """A str subclass as the format is read as its characters: no Python
    code runs (__len__, __str__, __eq__ are never asked)."""
    p = Probe(bytes(8))

    class F(str):
        def __len__(self):
            p.attempt()
            return str.__len__(self)

        def __str__(self):
            p.attempt()
            return str.__str__(self)

        def __eq__(self, other):
            p.attempt()
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    r = outcome(lambda: p.m.cast(F(fmt)).nbytes)
    assert all(a == "BufferError" for a in p.attempts), p.attempts
    assert r.ok and r.value == 8, r
    p.check_after()


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!="])
def test_compare_with_non_buffer_runs_eq_after_the_method(op):
    """m == x with x not a buffer: memview's comparison returns
    NotImplemented and Python then calls x.__eq__(m) - after memview's
    method returned, so nothing pins the view and the release works."""
    p = Probe(b"abc")
    x = eq_hook(p)
    r = outcome(lambda: (p.m == x) if op == "==" else (p.m != x))
    assert r.ok and r.value is (op == "!="), r
    assert p.attempts == ["released"], p.attempts
    assert repr(p.m).startswith("<released memory")
    assert bytes(p.ba[:3]) == b"abc"  # the export was given back: resized
    assert len(p.ba) > 3


@pytest.mark.parametrize("op", ["==", "!="])
def test_compare_reflected_non_buffer_first(op):
    """x == m: x.__eq__ runs first (not inside any memview method)."""
    p = Probe(b"abc")
    x = eq_hook(p)
    r = outcome(lambda: (x == p.m) if op == "==" else (x != p.m))
    assert r.ok and r.value is (op == "!="), r
    assert p.attempts == ["released"], p.attempts


def _ctypes_of(data, ctype):
    return (ctype * (len(data) // ctypes.sizeof(ctype))).from_buffer_copy(data)


@pytest.mark.parametrize("make,equal", [
    (lambda d: array.array("B", d), True),
    (lambda d: array.array("B", d[:-1] + b"?"), False),
    (lambda d: _ctypes_of(d, ctypes.c_ubyte), True),   # format '<B'
    (lambda d: _ctypes_of(d[::-1], ctypes.c_ubyte), False),
    (lambda d: _ctypes_of(d, ctypes.c_char), False),   # '<c': bytes items != ints
    (lambda d: bytearray(d), True),
    (lambda d: BUILTIN(d), True),
    (lambda d: MV(d), True),
    (lambda d: MV(bytes(len(d))), False),
])
def test_compare_with_exporters_runs_no_python(make, equal):
    """Comparisons with exporters implemented in C: no callback, the
    right answer (computed from the bytes: on 3.11.2 the builtin memoryview
    itself crashes comparing with a ctypes array), the view unchanged."""
    data = b"memview!"
    p = Probe(data)
    other = make(data)
    assert (p.m == other) is equal
    assert (p.m != other) is (not equal)
    assert (other == p.m) is equal
    assert p.attempts == []
    p.check_after()


def test_compare_values_of_different_formats():
    """Value comparison of different formats: memview compares items in C
    (the builtin would call struct.Struct.unpack_from, Python code)."""
    p = Probe(struct.pack("3d", 1.0, 2.0, -3.0), fmt="d")
    assert p.m == array.array("l", [1, 2, -3])
    assert p.m == array.array("f", [1.0, 2.0, -3.0])
    assert p.m != array.array("l", [1, 2, 3])
    assert p.m == _ctypes_of(struct.pack("<3i", 1, 2, -3), ctypes.c_int32)
    assert p.attempts == []
    p.check_after()


def test_compare_does_not_call_struct_module(monkeypatch):
    """gh-142663: CPython compares non-native formats through
    struct.Struct(fmt).unpack_from, which a program can replace; a
    replacement that releases the view frees the memory mid-comparison.
    memview never calls the struct module: the replacement never runs (were
    it to run inside the comparison, the release would have to fail)."""
    p = Probe(struct.pack("2d", 1.0, 2.0), fmt="d")
    other = array.array("l", [1, 2])
    be = MV(bytearray(struct.pack(">2h", 1, 2))).cast(">h")

    class EvilStruct(struct.Struct):
        def unpack_from(self, buf, offset=0):
            p.attempt()
            return super().unpack_from(buf, offset)

        def unpack(self, buf):
            p.attempt()
            return super().unpack(buf)

    monkeypatch.setattr(struct, "Struct", EvilStruct)
    assert p.m == other
    assert p.m == be and not (p.m != be)
    assert be == MV(bytearray(struct.pack("<2h", 1, 2))).cast("<h")
    assert p.m.tolist() == [1.0, 2.0]
    assert be.tolist() == [1, 2]
    assert all(a == "BufferError" for a in p.attempts), p.attempts
    monkeypatch.undo()
    p.check_after()


def test_compare_with_object_items_has_no_callback():
    """A view's items are numbers, bytes or tuples of them, never Python
    objects with their own __eq__: comparing two views runs no user code,
    whatever the formats (records, complex, bytes fields)."""
    rec = struct.pack("<ih3s", 7, -1, b"xyz") * 2
    p = Probe(rec, fmt="T{<i:a:<h:b:3s:c:}")
    q = MV(bytearray(rec)).cast("T{<i:a:<h:b:3s:c:}")
    assert p.m == q and not (p.m != q)
    assert p.m.tolist() == [(7, -1, b"xyz")] * 2
    assert p.attempts == []
    p.check_after()


# --------------------------------------------------------------------------
# exporters written in Python (3.12+: __buffer__)
# --------------------------------------------------------------------------

needs_buffer_protocol = pytest.mark.skipif(
    PY < (3, 12), reason="Python classes export buffers from 3.12 on (__buffer__)")


def py_exporter(probe, data):
    """A Python buffer exporter whose __buffer__ tries to release the view."""

    class Exporter:
        def __init__(self):
            self.store = bytearray(data)

        def __buffer__(self, flags):
            probe.attempt()
            return BUILTIN(self.store)

        def __release_buffer__(self, view):
            view.release()

    return Exporter()


@needs_buffer_protocol
@pytest.mark.parametrize("same", [True, False])
def test_compare_with_python_exporter_pins(same):
    p = Probe(b"abcdef")
    other = py_exporter(p, b"abcdef" if same else b"abcdeX")
    r = outcome(lambda: p.m == other)
    p.check_pinned(r, same)


@needs_buffer_protocol
@pytest.mark.parametrize("name", ["find", "startswith", "endswith", "split"])
def test_search_with_python_exporter_pins(name):
    p = Probe(HAY)
    sub = py_exporter(p, b"one")
    if name == "split":
        r = outcome(lambda: [v.tobytes() for v in p.m.split(sub)])
    else:
        r = outcome(getattr(p.m, name), sub)
    p.check_pinned(r, getattr(HAY, name)(b"one"))


# --------------------------------------------------------------------------
# outside the rule: slicing takes its result before any callback runs
# --------------------------------------------------------------------------


def test_slice_with_index_hooks_is_safe():
    """m[a:b] with __index__ bounds: as CPython, the sub-view is registered
    before the bounds are converted, so a release of m from a bound does
    not affect the result (pinning m is allowed too).  Either way the
    exporter's memory cannot move while the result lives."""
    p = Probe(b"0123456789")
    r = outcome(lambda: p.m[index_hook(p, 2):index_hook(p, 7)])
    assert r.ok, r
    assert p.attempts and len(set(p.attempts)) == 1, p.attempts
    assert r.value.tobytes() == b"23456"
    assert bytes(p.ba[:10]) == p.data
    r.value.release()
    if p.attempts[0] == "BufferError":
        p.check_after()
    else:
        assert repr(p.m).startswith("<released memory")


# --------------------------------------------------------------------------
# pinning does not change what a released view reports
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name,args,kwargs", [
    ("hex", (":", "x"), {}),
    ("hex", (":", 1.5), {}),
    ("hex", (), {"x": 1}),
    ("hex", (1,), {}),
    ("cast", (1,), {}),
    ("cast", (None,), {}),
    ("cast", ("B", 5), {}),
    ("cast", (), {}),
    ("cast", ("B", [1], 3), {}),
    ("tobytes", (1,), {}),
    ("tolist", (1,), {}),
    ("toreadonly", (1,), {}),
])
def test_released_view_argument_errors_as_builtin(name, args, kwargs):
    """A wrapper that checks "released" before it parses the arguments
    changes the builtin's order: argument errors found while parsing (a
    wrong type, a bad keyword, a missing argument) come first, "released"
    after."""
    b = BUILTIN(b"abc")
    b.release()
    m = MV(b"abc")
    m.release()
    bo = outcome(getattr(b, name), *args, **kwargs)
    mo = outcome(getattr(m, name), *args, **kwargs)
    assert not bo.ok
    assert (mo.exc, mo.msg) == (bo.exc, bo.msg), (bo, mo)


@pytest.mark.parametrize("name,args,kwargs,exc", [
    ("index", (), {}, TypeError),
    ("count", (), {}, TypeError),
    ("find", (), {}, TypeError),
    ("find_view", (), {}, TypeError),
    ("startswith", (), {}, TypeError),
    ("endswith", (), {}, TypeError),
    ("split", (), {"x": 1}, TypeError),
    ("split", (b" ", 1, 2), {}, TypeError),
    ("index", (97, "x"), {}, TypeError),
])
def test_released_view_argument_errors_of_extensions(name, args, kwargs, exc):
    """The same order for the methods the builtin lacks (3.14's
    count/index parse their arguments before checking "released")."""
    if not hasattr(MV, name):
        pytest.skip("no %s" % name)
    m = MV(b"abc")
    m.release()
    mo = outcome(getattr(m, name), *args, **kwargs)
    assert mo.exc is exc, mo


def test_release_from_a_collection_while_slicing():
    """Making a view allocates a Python object, which can run a garbage
    collection, whose callbacks and finalizers can release the very view
    being sliced: the slice is still made, holds the memory (the exporter
    stays exported until the slice goes), and reads it."""
    b = bytearray(range(16))
    hit = 0
    for _ in range(20):
        m = MV(b)
        fired = []

        def collecting(phase, info):
            if phase == "start" and not fired:
                fired.append(True)
                m.release()

        old = gc.get_threshold()
        gc.callbacks.append(collecting)
        gc.set_threshold(1)
        try:
            try:
                s = m[2:10]
            except ValueError:
                continue  # the collection came before the slice
        finally:
            gc.set_threshold(*old)
            gc.callbacks.remove(collecting)
        if "released" not in repr(m):
            continue
        hit += 1
        assert bytes(s) == bytes(range(2, 10))
        with pytest.raises(BufferError):
            b.append(0)
        s.release()
        b.append(0)
        del b[-1]
    assert hit > 0, "no collection ran inside the slice's allocation"
