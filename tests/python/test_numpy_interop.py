"""NumPy interop: numpy.asarray(memview.memoryview(...)) shares memory with
the exporter (same data address, writes visible both ways) for 1-D, 2-D,
strided, negative-stride, N-D sub-views and non-native byte orders; and
memview.memoryview over NumPy arrays of many dtypes reads what NumPy holds.
"""

import ctypes

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from strategies import (BUILTIN, MV, NP_DTYPES, assert_same, hsettings, np_dtype, np_specs,
                        outcome, same_strides, slices_for)


def addr(a):
    return a.__array_interface__["data"][0]


def bytearray_addr(ba):
    return ctypes.addressof((ctypes.c_char * len(ba)).from_buffer(ba))


def check_shares(view_array, model_array):
    """view_array (from memview) is exactly model_array's memory."""
    assert view_array.shape == model_array.shape
    assert view_array.dtype == model_array.dtype, (view_array.dtype, model_array.dtype)
    if model_array.size:
        assert same_strides(model_array.shape, view_array.strides, model_array.strides)
        assert addr(view_array) == addr(model_array)
    assert np.shares_memory(view_array, model_array) or model_array.size == 0
    assert_same(model_array.tolist(), view_array.tolist(), "values")


# --------------------------------------------------------------------------
# fixed cases
# --------------------------------------------------------------------------


def test_bytearray_1d_shares_memory():
    ba = bytearray(b"hello world")
    m = MV(ba)
    a = np.asarray(m)
    assert a.dtype == np.uint8 and a.shape == (11,)
    assert addr(a) == bytearray_addr(ba)
    a[0] = ord("J")
    assert ba[:5] == b"Jello"
    ba[1] = ord("E")
    assert a[1] == ord("E") and m[1] == ord("E")
    m[2] = ord("L")
    assert a[2] == ord("L") and ba[2] == ord("L")


def test_1d_numpy():
    base = np.arange(10, dtype=np.int32)
    m = MV(base)
    a = np.asarray(m)
    check_shares(a, base)
    a[3] = -7
    assert base[3] == -7 and m[3] == -7
    base[4] = 99
    assert a[4] == 99 and m[4] == 99
    m[5] = 1234
    assert base[5] == 1234 and a[5] == 1234


def test_2d_numpy():
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    m = MV(base)
    a = np.asarray(m)
    check_shares(a, base)
    a[1, 2] = -1.5
    assert base[1, 2] == -1.5 and m[1, 2] == -1.5
    m[2, 3] = 42.0
    assert base[2, 3] == 42.0 and a[2, 3] == 42.0


def test_fortran_numpy():
    base = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    m = MV(base)
    assert m.f_contiguous and not m.c_contiguous
    a = np.asarray(m)
    check_shares(a, base)
    assert a.flags.f_contiguous
    a[2, 1] = 77
    assert base[2, 1] == 77


@pytest.mark.parametrize("key", [slice(None, None, 2), slice(1, None, 3), slice(None, None, -1),
                                 slice(-2, 1, -2), slice(5, 5)])
def test_1d_slices_share_memory(key):
    base = np.arange(12, dtype=np.int64)
    m = MV(base)[key]
    a = np.asarray(m)
    check_shares(a, base[key])
    if a.size:
        a[0] = -5
        assert base[key][0] == -5
        base[key][-1] = -9
        assert m[-1] == -9


@pytest.mark.parametrize("key", [
    (slice(None, None, -1), slice(None, None, 2)),
    (slice(1, None), slice(None, None, -1)),
    (Ellipsis, 1),
    (1,),
    (slice(None, None, -2), 0),
    (None, slice(None), slice(1, 3)),
    (Ellipsis, None),
    (slice(None, None, -1), Ellipsis, slice(None, None, -3)),
])
def test_nd_subviews_share_memory(key):
    base = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    m = MV(base)[key]
    assert type(m) is MV
    a = np.asarray(m)
    check_shares(a, base[key])
    flat = a.reshape(-1) if a.flags.c_contiguous else None
    a[(0,) * a.ndim] = -123
    assert base[key][(0,) * a.ndim] == -123
    del flat


def test_nd_negative_strides_2d():
    base = np.arange(20, dtype=np.float32).reshape(4, 5)
    m = MV(base)[::-1, ::2]
    assert m.shape == (4, 3) and m.strides == (-20, 8)
    a = np.asarray(m)
    check_shares(a, base[::-1, ::2])
    a[0, 0] = 1000.0
    assert base[3, 0] == 1000.0
    base[0, 4] = -2.0
    assert m[3, 2] == -2.0 and a[3, 2] == -2.0


@pytest.mark.parametrize("dtype", [">i4", ">u2", ">f8", ">i8", "<i4", "<f4", ">f2", ">c16"])
def test_non_native_byte_order(dtype):
    base = np.arange(12).astype(dtype).reshape(3, 4)
    m = MV(base)
    assert m.format == BUILTIN(base).format
    a = np.asarray(m)
    assert a.dtype == np.dtype(dtype)
    check_shares(a, base)
    # the extension: item access and tolist in the stated byte order
    assert_same(base.tolist(), m.tolist(), "tolist")
    assert_same(base[1, 2].item(), m[1, 2], "m[1, 2]")
    m[2, 3] = 7
    assert base[2, 3] == 7
    a[0, 1] = 5
    assert m[0, 1] == 5
    # a sub-view keeps the byte order
    s = m[::-1, 1::2]
    sa = np.asarray(s)
    assert sa.dtype == np.dtype(dtype)
    check_shares(sa, base[::-1, 1::2])


def test_non_native_cast_view():
    raw = bytearray(np.arange(6, dtype=">i4").tobytes())
    m = MV(raw).cast(">i")
    a = np.asarray(m)
    assert a.dtype == np.dtype(">i4")
    assert a.tolist() == list(range(6))
    assert addr(a) == bytearray_addr(raw)
    a[2] = -1
    assert raw[8:12] == b"\xff\xff\xff\xff"
    m2 = m.cast("B").cast("<i", shape=[2, 3])
    assert np.asarray(m2).dtype == np.dtype("<i4")
    assert np.asarray(m2).tolist() == np.frombuffer(bytes(raw), "<i4").reshape(2, 3).tolist()


def test_readonly_view_gives_readonly_array():
    base = np.arange(5, dtype=np.uint16)
    a = np.asarray(MV(base).toreadonly())
    assert not a.flags.writeable
    assert addr(a) == addr(base)
    ro = np.arange(5)
    ro.flags.writeable = False
    m = MV(ro)
    assert m.readonly
    assert not np.asarray(m).flags.writeable
    with pytest.raises(TypeError, match="cannot modify read-only memory"):
        m[0] = 1


def test_zero_dim_and_empty():
    base = np.array(3.25)
    m = MV(base)
    assert m.ndim == 0 and m.shape == ()
    a = np.asarray(m)
    assert a.shape == () and addr(a) == addr(base) and a[()] == 3.25
    e = np.zeros((0, 3), dtype=np.int8)
    ae = np.asarray(MV(e))
    assert ae.shape == (0, 3) and ae.dtype == np.int8


def test_export_pins_view():
    base = np.arange(4, dtype=np.int32)
    m = MV(base)
    a = np.asarray(m)
    with pytest.raises(BufferError, match="memoryview has 1 exported buffer"):
        m.release()
    b = np.asarray(m)
    with pytest.raises(BufferError, match="memoryview has 2 exported buffers"):
        m.release()
    del a, b
    m.release()
    with pytest.raises(ValueError, match="operation forbidden on released memoryview object"):
        BUILTIN(m)
    # NumPy swallows the buffer error and wraps the object instead
    assert np.asarray(m).dtype == object


def test_frombuffer_and_memoryview_roundtrip():
    base = np.arange(6, dtype=np.int16)
    m = MV(base)
    f = np.frombuffer(m, dtype=np.int16)
    assert addr(f) == addr(base) and f.tolist() == list(range(6))
    bm = BUILTIN(m)  # the builtin as a consumer of memview
    assert bm.format == "h" and bm.tolist() == list(range(6))
    assert np.asarray(bm).__array_interface__["data"][0] == addr(base)
    back = MV(bm)
    assert back.tolist() == list(range(6))
    assert addr(np.asarray(back)) == addr(base)


def test_suboffsets_refused_like_builtin():
    from _testbuffer import ND_PIL, ndarray
    nd = ndarray(list(range(12)), shape=[3, 4], format="i", flags=ND_PIL)
    bo = outcome(np.asarray, BUILTIN(nd))
    mo = outcome(np.asarray, MV(nd))
    assert bo.ok == mo.ok, (bo, mo)
    if bo.ok:
        assert mo.value.tolist() == bo.value.tolist()
    else:
        assert mo.exc is bo.exc


def test_aligned_record_dtype():
    dt = np.dtype("i4,i2", align=True)
    base = np.zeros(3, dt)
    base["f0"] = [1, 2, 3]
    base["f1"] = [-1, -2, -3]
    m = MV(base)
    b = BUILTIN(base)
    assert (m.format, m.itemsize, m.shape, m.strides) == (b.format, b.itemsize, b.shape,
                                                          b.strides)
    assert m.tobytes() == base.tobytes()
    a = np.asarray(m)
    assert a.dtype.itemsize == dt.itemsize and addr(a) == addr(base)
    assert a.tolist() == base.tolist()


@pytest.mark.parametrize("dtype", NP_DTYPES + ["f8,i2", "u1,u1,>i8"])
def test_many_dtypes_tolist(dtype):
    dt = np_dtype(dtype) if dtype in NP_DTYPES else np.dtype(dtype)
    rng = np.random.default_rng(1234)
    raw = rng.integers(0, 256, size=6 * dt.itemsize, dtype=np.uint8).tobytes()
    base = np.frombuffer(bytearray(raw), dtype=dt).reshape(2, 3)
    if dt.kind == "S":
        base = np.array([[b"ab", b"cd", b"e"], [b"x", b"yz", b"q"]], dtype=dt)
    if dt.kind == "b":
        base = np.array([[True, False, True], [False, False, True]])
    m = MV(base)
    b = BUILTIN(base)
    assert (m.format, m.itemsize, m.shape, m.strides, m.nbytes) == \
        (b.format, b.itemsize, b.shape, b.strides, b.nbytes)
    assert m.tobytes() == base.tobytes()
    assert m.tobytes("F") == base.tobytes("F")
    expect = base.tolist()
    if dt.kind == "S":
        # struct semantics: NumPy strips trailing NULs from 'S' items
        n = dt.itemsize
        expect = [[x.ljust(n, b"\0") for x in row] for row in expect]
    if dt.subdtype is not None:
        expect = [[tuple(x) for x in row] for row in expect]
    assert_same(expect, m.tolist(), "tolist of %s" % dtype)
    a = np.asarray(m)
    assert a.dtype == base.dtype or a.dtype.itemsize == base.dtype.itemsize
    assert addr(a) == addr(base)


# --------------------------------------------------------------------------
# property test
# --------------------------------------------------------------------------


@st.composite
def np_key(draw, shape):
    """A NumPy basic index for an array of `shape`: ints (in range),
    slices, at most one Ellipsis, None."""
    parts = []
    dim = 0
    has_ellipsis = False
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        kind = draw(st.integers(0, 4))
        if kind == 3 and not has_ellipsis:
            parts.append(Ellipsis)
            has_ellipsis = True
            dim = len(shape)  # no more int/slice keys after it (simplest valid form)
        elif kind == 4:
            parts.append(None)
        elif dim < len(shape):
            n = shape[dim]
            if kind == 0 and n:
                parts.append(draw(st.integers(-n, n - 1)))
            else:
                parts.append(draw(slices_for(n)))
            dim += 1
    if len(parts) == 1 and parts[0] is not None and draw(st.booleans()):
        return parts[0]  # (a bare None stays CPython's TypeError)
    return tuple(parts)


@hsettings(200)
@given(spec=np_specs(readonly=False), data=st.data())
def test_asarray_property(spec, data):
    base = spec.build()
    m = MV(base)
    check_shares(np.asarray(m), base)
    key = data.draw(np_key(base.shape), label="key")
    expect = outcome(lambda: base[key])
    got = outcome(lambda: m[key])
    note("numpy %r memview %r" % (expect, got))
    if not expect.ok:
        assert not got.ok and got.exc in (expect.exc, TypeError, ValueError), (expect, got)
        return
    if base.ndim == 0 and not got.ok:
        # a 0-dim view may keep CPython's rule (only () and ... index it)
        assert key not in ((), Ellipsis, (Ellipsis,)), got
        assert (got.exc, got.msg) == (TypeError, "invalid indexing of 0-dim memory"), got
        return
    assert got.ok, got
    if isinstance(expect.value, np.ndarray):
        assert type(got.value) is MV
        sub = np.asarray(got.value)
        check_shares(sub, expect.value)
        if sub.size and not got.value.readonly:
            # a write through the memview sub-view reaches the exporter
            first = (0,) * sub.ndim + (Ellipsis,)  # a 0-d array, not a scalar
            cell = sub[first]
            old = cell.tobytes()
            raw = bytearray(old)
            raw[0] ^= 0x5A
            cell[...] = np.frombuffer(bytes(raw), dtype=sub.dtype).reshape(())
            assert base[key][first].tobytes() == bytes(raw)
            assert got.value[(0,) * sub.ndim + (Ellipsis,)].tobytes() == bytes(raw)
            cell[...] = np.frombuffer(old, dtype=sub.dtype).reshape(())
    else:
        assert not isinstance(got.value, MV), got
        assert_same(expect.value.item(), got.value, "item")
