"""Safety: release, resize and re-entrancy.

Every callback into Python that can run while memview holds a pointer
(__index__, __float__, __bool__, len(sep), hash(obj)) may release the view
and make the exporter free or move its memory (a bytearray that is resized
right after the release).  memview must then raise - ValueError "operation
forbidden on released memoryview object", or BufferError when it pins the
view around the callback as CPython 3.13 does - and never read or write the
old memory.  The exporter's buffer is taken once and released exactly once.
"""

import array
import gc
import pickle
import copy
import sys
import threading
import weakref

import numpy as np
import pytest

from _testbuffer import ND_WRITABLE, ndarray

from strategies import BUILTIN, MV, outcome

RELEASED = "operation forbidden on released memoryview object"
RESIZE = "Existing exports of data: object cannot be re-sized"


def exports_of(nd):
    """Number of buffers a _testbuffer.ndarray has exported (read from the
    message of a refused push(); 0 when push() is allowed)."""
    try:
        nd.push([0], shape=[1], format="i")
    except BufferError as e:
        msg = str(e)
        assert msg.startswith("cannot change structure: "), msg
        return int(msg.split(": ")[1].split()[0])
    nd.pop()
    return 0


def resizable(ba):
    try:
        ba.append(0)
    except BufferError as e:
        assert str(e) == RESIZE, str(e)
        return False
    ba.pop()
    return True


# --------------------------------------------------------------------------
# resize / release / exactly-once
# --------------------------------------------------------------------------


def test_resize_refused_while_view_exists():
    ba = bytearray(b"abcdef")
    m = MV(ba)
    for op in (lambda: ba.append(1), lambda: ba.extend(b"xy"), lambda: ba.pop(),
               lambda: ba.clear(), lambda: ba.__delitem__(0), lambda: ba.__iadd__(b"z"),
               lambda: ba.__setitem__(slice(0, 2), b"")):
        with pytest.raises(BufferError, match=RESIZE):
            op()
    assert ba == b"abcdef"
    m.release()
    ba.append(ord("g"))
    assert ba == b"abcdefg"


def test_resize_allowed_after_del():
    ba = bytearray(b"abc")
    m = MV(ba)
    assert not resizable(ba)
    del m
    assert resizable(ba)


def test_resize_allowed_after_context_manager():
    ba = bytearray(b"abc")
    with MV(ba) as m:
        assert type(m) is MV
        assert m.tobytes() == b"abc"
        assert not resizable(ba)
    assert resizable(ba)
    with pytest.raises(ValueError, match=RELEASED):
        m.tobytes()
    with pytest.raises(ValueError, match=RELEASED):
        with m:
            pass


def test_derived_views_hold_the_exporter():
    ba = bytearray(b"abcdefgh")
    m = MV(ba)
    derived = [m[1:], m[::-1], m.cast("c"), m.toreadonly(), MV(m), m.cast("B", [2, 4])]
    m.release()
    assert not resizable(ba)
    for i, d in enumerate(derived):
        assert not resizable(ba), i
        d.release()
    assert resizable(ba)


def test_view_of_builtin_memoryview():
    ba = bytearray(b"abcd")
    bm = BUILTIN(ba)
    m = MV(bm)
    assert m.obj is ba  # reported as the builtin's exporter
    with pytest.raises(BufferError, match="memoryview has 1 exported buffer"):
        bm.release()
    m.release()
    bm.release()
    assert resizable(ba)


def test_exporter_released_exactly_once_ndarray():
    nd = ndarray(list(range(8)), shape=[8], format="i", flags=ND_WRITABLE)
    m = MV(nd)
    assert exports_of(nd) == 1
    views = [m[1:], m[::2], m.cast("B"), m.toreadonly(), MV(m), MV(m[::-1])]
    assert exports_of(nd) == 1  # one managed buffer for all derived views
    m.release()
    m.release()  # idempotent
    assert exports_of(nd) == 1
    for v in views:
        v.release()
        v.release()
    assert exports_of(nd) == 0
    del views, m
    gc.collect()
    assert exports_of(nd) == 0
    # a new consumer counts as exactly one export (a double release would
    # have driven the counter below zero)
    b = BUILTIN(nd)
    assert exports_of(nd) == 1
    b.release()
    assert exports_of(nd) == 0


def test_exporter_released_exactly_once_bytearray():
    ba = bytearray(b"0123456789")
    for _ in range(3):
        m = MV(ba)
        s = m[2:]
        c = s.cast("c")
        m.release()
        del s
        c.release()
        c.release()
        del m, c
    assert resizable(ba)
    # if memview had released the bytearray twice, the export counter
    # would now be negative and this view would not pin it
    b = BUILTIN(ba)
    assert not resizable(ba)
    b.release()
    assert resizable(ba)


def test_exporter_refcount_restored():
    ba = bytearray(b"abc")
    before = sys.getrefcount(ba)
    m = MV(ba)
    s = m[1:]
    assert sys.getrefcount(ba) > before
    m.release()
    s.release()
    assert sys.getrefcount(ba) == before
    m2 = MV(ba)
    del m2
    assert sys.getrefcount(ba) == before


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="Python classes export buffers (__buffer__) only from 3.12 (PEP 688)")
def test_exactly_once_python_exporter():
    calls = []

    class Exporter:
        def __init__(self):
            self.data = bytearray(b"abcdef")

        def __buffer__(self, flags):
            calls.append(("get", flags))
            return BUILTIN(self.data)

        def __release_buffer__(self, view):
            calls.append(("release",))
            view.release()

    e = Exporter()
    m = MV(e)
    derived = [m[1:], m.cast("c"), MV(m), m.toreadonly()]
    assert [c[0] for c in calls] == ["get"]
    m.release()
    for d in derived:
        d.release()
    assert [c[0] for c in calls] == ["get", "release"]
    assert resizable(e.data)


# --------------------------------------------------------------------------
# exports of the view itself
# --------------------------------------------------------------------------


def test_release_with_exports():
    m = MV(b"abcdef")
    x = BUILTIN(m)
    with pytest.raises(BufferError, match="^memoryview has 1 exported buffer$"):
        m.release()
    y = np.asarray(m)
    with pytest.raises(BufferError, match="^memoryview has 2 exported buffers$"):
        m.release()
    assert m.tobytes() == b"abcdef"  # still usable
    x.release()
    del y
    m.release()
    with pytest.raises(ValueError, match=RELEASED):
        m.tobytes()


def test_context_exit_with_exports():
    ba = bytearray(b"abc")
    with pytest.raises(BufferError, match="memoryview has 1 exported buffer"):
        with MV(ba) as m:
            x = BUILTIN(m)
    assert m.tobytes() == b"abc"  # not released
    x.release()
    m.release()
    assert resizable(ba)


def test_export_of_released_view():
    m = MV(bytearray(b"ab"))
    m.release()
    # (np.asarray falls back to a 0-d object array on any buffer error)
    for consumer in (BUILTIN, MV, bytes, bytearray):
        with pytest.raises(ValueError, match=RELEASED):
            consumer(m)


# --------------------------------------------------------------------------
# every operation after release
# --------------------------------------------------------------------------


OPS = {
    "format": lambda m: m.format, "itemsize": lambda m: m.itemsize, "ndim": lambda m: m.ndim,
    "shape": lambda m: m.shape, "strides": lambda m: m.strides,
    "suboffsets": lambda m: m.suboffsets, "nbytes": lambda m: m.nbytes,
    "readonly": lambda m: m.readonly, "c_contiguous": lambda m: m.c_contiguous,
    "f_contiguous": lambda m: m.f_contiguous, "contiguous": lambda m: m.contiguous,
    "obj": lambda m: m.obj, "tolist": lambda m: m.tolist(), "tobytes": lambda m: m.tobytes(),
    "tobytes_F": lambda m: m.tobytes("F"), "hex": lambda m: m.hex(),
    "hex_sep": lambda m: m.hex(":", 2), "cast": lambda m: m.cast("B"),
    "cast_shape": lambda m: m.cast("B", [2, 2]), "toreadonly": lambda m: m.toreadonly(),
    "getitem": lambda m: m[0], "getslice": lambda m: m[1:], "setitem": lambda m:
    m.__setitem__(0, 1), "setslice": lambda m: m.__setitem__(slice(0, 1), b"x"),
    "len": len, "enter": lambda m: m.__enter__(), "bytes": bytes, "list": list,
    "iter": iter, "hash": hash,
}

EXTENSION_OPS = {
    "count": lambda m: m.count(1), "index": lambda m: m.index(1),
    "find": lambda m: m.find(b"a"), "startswith": lambda m: m.startswith(b"a"),
    "endswith": lambda m: m.endswith(b"a"), "split": lambda m: m.split(),
    "find_view": lambda m: m.find_view(b"a"), "nd_getitem": lambda m: m[1:, ...],
    "nd_setitem": lambda m: m.__setitem__((slice(0, 1), Ellipsis), b"x"),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_operation_after_release(name):
    op = OPS[name]
    for fresh in (lambda: bytearray(b"abcd"), lambda: b"abcd"):
        b = BUILTIN(fresh())
        m = MV(fresh())
        b.release()
        m.release()
        bo, mo = outcome(op, b), outcome(op, m)
        assert (mo.exc, mo.msg) == (ValueError, RELEASED), (name, mo)
        if name != "iter":  # 3.11's builtin gives SystemError for iter()
            assert (bo.exc, bo.msg) == (mo.exc, mo.msg), (name, bo, mo)


@pytest.mark.parametrize("name", sorted(EXTENSION_OPS))
def test_every_extension_after_release(name):
    m = MV(bytearray(b"abcd"))
    m.release()
    mo = outcome(EXTENSION_OPS[name], m)
    assert (mo.exc, mo.msg) == (ValueError, RELEASED), (name, mo)


def test_released_misc():
    m = MV(b"abc")
    h = hash(m)  # cached before release: still hashable afterwards
    m.release()
    m.release()
    assert hash(m) == h == hash(b"abc")
    assert repr(m).startswith("<released memory at 0x"), repr(m)
    assert m == m
    assert not (m != m)
    assert m != MV(b"abc")
    assert m != b"abc"
    m2 = MV(b"abc")
    m2.release()
    with pytest.raises(ValueError, match=RELEASED):
        hash(m2)
    it = iter(MV(bytearray(b"xy")))
    assert next(it) == ord("x")


def test_iterator_after_release():
    ba = bytearray(b"abc")
    m = MV(ba)
    it = iter(m)
    assert next(it) == ord("a")
    m.release()
    ba.extend(b"z" * 4096)  # moves the memory if the iterator still pointed at it
    with pytest.raises(ValueError, match=RELEASED):
        next(it)


def test_pickle_and_copy_refused():
    m = MV(b"abc")
    for fn in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot pickle 'memoryview' object|memoryview"):
            fn(m)


# --------------------------------------------------------------------------
# re-entrancy: callbacks that release the view
# --------------------------------------------------------------------------


def make_releaser(kind, m_holder, ba, value):
    """An object whose conversion hook releases the view held in
    m_holder[0] and resizes ba (moving its memory), then returns value."""

    def hook(self):
        m_holder[0].release()
        ba.extend(b"\x00" * 100000)  # allowed once the view is released
        return value

    return type("Releaser", (), {kind: hook})()


@pytest.mark.parametrize("fmt,kind,value", [
    ("B", "__index__", 7), ("i", "__index__", -7), ("q", "__index__", 1 << 40),
    ("d", "__float__", 2.5), ("f", "__float__", 2.5), ("?", "__bool__", True),
    ("h", "__index__", -300),
])
def test_value_hook_releases_view(fmt, kind, value):
    ba = bytearray(16)
    holder = [MV(ba).cast(fmt)]
    m = holder[0]
    x = make_releaser(kind, holder, ba, value)
    with pytest.raises(ValueError, match=RELEASED):
        m[0] = x
    assert ba[:16] == bytes(16), "memory written after release"
    assert len(ba) == 16 + 100000


def test_key_index_hook_releases_view_on_set():
    ba = bytearray(16)
    holder = [MV(ba)]
    key = make_releaser("__index__", holder, ba, 3)
    with pytest.raises(ValueError, match=RELEASED):
        holder[0][key] = 9
    assert ba[:16] == bytes(16)


def test_key_index_hook_releases_view_on_get():
    ba = bytearray(b"\x11" * 16)
    holder = [MV(ba)]
    key = make_releaser("__index__", holder, ba, 3)
    with pytest.raises(ValueError, match=RELEASED):
        holder[0][key]


def test_nd_value_hook_releases_view():
    ba = bytearray(24)
    holder = [MV(ba).cast("i", [2, 3])]
    x = make_releaser("__index__", holder, ba, 5)
    with pytest.raises(ValueError, match=RELEASED):
        holder[0][1, 2] = x
    assert ba[:24] == bytes(24)


def test_hook_that_raises_leaves_memory():
    ba = bytearray(8)
    m = MV(ba)

    class Bad:
        def __index__(self):
            raise ZeroDivisionError("boom")

    bo = outcome(BUILTIN(bytearray(8)).__setitem__, 0, Bad())
    mo = outcome(m.__setitem__, 0, Bad())
    assert (mo.exc, mo.msg) == (bo.exc, bo.msg), (bo, mo)
    assert ba == bytes(8)


@pytest.mark.parametrize("base", [bytes, str])
def test_hex_sep_len_releases_view(base):
    """gh-143195: len(sep) releases the view and frees the memory."""
    ba = bytearray(b"\xab" * 64)
    holder = [MV(ba)]

    class Sep(base):
        def __len__(self):
            try:
                holder[0].release()
            except BufferError:
                pass  # memview pinned the view for the call: fine
            else:
                ba.clear()
                ba.extend(b"\x00" * 100000)
            return 1

    m = holder[0]
    r = outcome(m.hex, Sep(b":" if base is bytes else ":"), 4)
    if r.ok:
        # only acceptable if the view was pinned (not released) meanwhile,
        # so the memory stayed where it was
        assert len(ba) == 64
        assert r.value == ":".join(["abababab"] * 16), r.value
    else:
        assert r.exc in (ValueError, BufferError), r


def test_hash_obj_releases_view():
    """gh-142664: hash(view.obj) releases the view (the exporter dies)."""
    holder = []

    class HB(bytes):
        def __hash__(self):
            try:
                holder[0].release()
            except BufferError:
                pass
            return 1

    holder.append(MV(HB(b"abcdefgh" * 8)))
    r = outcome(hash, holder[0])
    if r.ok:
        assert r.value == hash(b"abcdefgh" * 8)
    else:
        assert r.exc in (ValueError, BufferError), r


def test_cast_shape_index_objects():
    # shape elements must be ints (no __index__ callbacks that could release)
    m = MV(bytearray(8))

    class I:
        def __index__(self):
            m.release()
            return 8

    bo = outcome(BUILTIN(bytearray(8)).cast, "B", [I()])
    mo = outcome(m.cast, "B", [I()])
    assert (mo.exc, mo.msg) == (bo.exc, bo.msg), (bo, mo)


def test_compare_with_exporter_mutating_during_compare():
    # comparisons never call back into Python for native formats: a plain
    # check that comparing against a changing bytearray is consistent
    ba = bytearray(b"abc")
    m = MV(ba)
    assert m == b"abc"
    ba[0] = ord("x")
    assert m == b"xbc" and m != b"abc"


# --------------------------------------------------------------------------
# garbage collection
# --------------------------------------------------------------------------


class ByteArraySub(bytearray):
    pass


def test_gc_cycle_through_view():
    src = ByteArraySub(b"abc")
    src.m = MV(src)
    wr = weakref.ref(src)
    del src
    gc.collect()
    assert wr() is None


def test_gc_cycle_through_derived_views():
    src = ByteArraySub(b"abcdef")
    src.views = [MV(src)[1:], MV(MV(src).cast("c")), MV(src).toreadonly()]
    wr = weakref.ref(src)
    wrv = weakref.ref(src.views[0])
    del src
    gc.collect()
    assert wr() is None and wrv() is None


def test_gc_cycle_with_object():
    class Holder:
        pass

    ba = bytearray(b"xyz")
    h = Holder()
    h.m = MV(ba)
    h.m_self = h
    wr = weakref.ref(h)
    del h
    gc.collect()
    assert wr() is None
    assert resizable(ba)  # the collected view released the buffer


def test_gc_cycle_with_exports():
    """A cycle that also holds a builtin memoryview exported from the memview
    view (CPython 3.13's memory_clear fix: no crash, no early release)."""
    src = ByteArraySub(b"abcd")
    src.m = MV(src)
    src.export = BUILTIN(src.m)
    wr = weakref.ref(src)
    del src
    gc.collect()
    gc.collect()
    assert wr() is None


def test_weakref_to_view():
    m = MV(b"abc")
    wr = weakref.ref(m)
    assert wr() is m
    del m
    gc.collect()
    assert wr() is None


def test_view_not_subclassable():
    with pytest.raises(TypeError):
        type("Sub", (MV,), {})


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------


def test_threads_read_one_view():
    data = np.arange(200000, dtype=np.int32)
    m = MV(data)
    ro = MV(data.tobytes())
    expect_bytes = data.tobytes()
    expect_slice = data[::997].tolist()
    expect_rev = data[::-1][:1000].tolist()
    expect_hash = hash(data.tobytes())
    errors = []
    start = threading.Barrier(8)

    def worker(seed):
        try:
            start.wait()
            for i in range(20):
                assert m.tobytes() == expect_bytes
                assert m[::997].tolist() == expect_slice
                s = m[::-1]
                assert s[:1000].tolist() == expect_rev
                s.release()
                assert hash(ro) == expect_hash
                assert m == data
                assert m[(seed * 7919 + i) % len(m)] == (seed * 7919 + i) % len(m)
                c = m.cast("B")
                assert c.nbytes == len(expect_bytes)
                c.release()
                assert m.hex(":", 4)[:8] == "00000000"
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    m.release()


def test_threads_create_and_release_views():
    ba = bytearray(range(256)) * 64
    m = MV(ba)
    errors = []

    def worker():
        try:
            for _ in range(500):
                v = m[1:-1]
                w = MV(v).cast("c")
                assert w[0] == b"\x01"
                w.release()
                v.release()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not resizable(ba)
    m.release()
    assert resizable(ba)


def test_array_exporter():
    a = array.array("i", [1, 2, 3])
    m = MV(a)
    with pytest.raises(BufferError):
        a.append(4)
    m.release()
    a.append(4)
    assert a.tolist() == [1, 2, 3, 4]
