"""memview.memoryview keeps most layouts as spans and the rest (more than 8
dimensions, suboffsets, formats that are not one native character) as
libmemview views, and turns a span into a view when an operation needs one.
These tests cross the line both ways and compare every result with the
builtin memoryview or NumPy on the same memory."""
import struct

import numpy as np
import pytest

import memview

M = memview.memoryview


def check_same(m, b):
    """m (memview) and b (builtin) describe the same view."""
    assert (m.format, m.itemsize, m.ndim, m.shape, m.strides, m.readonly) == (
        b.format, b.itemsize, b.ndim, b.shape, b.strides, b.readonly)
    assert (m.c_contiguous, m.f_contiguous, m.contiguous, m.nbytes) == (
        b.c_contiguous, b.f_contiguous, b.contiguous, b.nbytes)
    assert m.tolist() == b.tolist()
    assert m.tobytes() == b.tobytes()


@pytest.mark.parametrize("dims", [8, 9, 12])
def test_cast_across_the_span_limit(dims):
    data = bytearray(range(256)) * 16  # 4096 bytes = 2**12
    shape = [2] * dims + [4096 // 2 ** dims]
    m, b = M(data).cast("B", shape), memoryview(data).cast("B", shape)
    check_same(m, b)
    # The builtin cannot slice N-D views: NumPy gives the expected slice.
    n = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    s = m[1, ..., ::3]
    assert s.shape == n[1, ..., ::3].shape
    assert s.tolist() == n[1, ..., ::3].tolist()
    check_same(m.cast("B"), b.cast("B"))


def test_new_axes_past_eight_dimensions():
    data = bytearray(range(24))
    m = M(data).cast("B", [2, 3, 4])
    n = np.frombuffer(data, dtype=np.uint8).reshape(2, 3, 4)
    key = (None,) * 6 + (Ellipsis, slice(None, None, -1))
    assert m[key].shape == n[key].shape  # 9 dimensions: a view, not a span
    assert m[key].tolist() == n[key].tolist()
    data[5] = 99
    assert m[key].tolist() == n[key].tolist()


def test_ten_dimensional_exporter():
    a = np.arange(2 ** 10, dtype=np.int16).reshape([2] * 10)
    m = M(a)
    assert m.shape == a.shape and m.strides == a.strides
    assert m.tolist() == a.tolist()
    assert m[1, 0].tolist() == a[1, 0].tolist()
    assert m[(1,) * 10] == a[(1,) * 10]


@pytest.mark.parametrize("fmt", ["<i", ">h", "2h", "=q"])
def test_wide_casts_are_views_and_slice(fmt):
    data = bytearray(struct.pack("<8i", *range(-4, 4)))
    m = M(data).cast(fmt)
    size = struct.calcsize(fmt)
    values = [struct.unpack(fmt, bytes(data[i:i + size]))
              for i in range(0, len(data), size)]
    expect = [v[0] if len(v) == 1 else v for v in values]
    assert m.tolist() == expect
    assert m[::-2].tolist() == expect[::-2]
    assert m[1:3].cast("B").tobytes() == bytes(data[size:3 * size])


def test_export_from_a_span_blocks_release():
    data = bytearray(64)
    m = M(data)[8:40:2]
    inner = memoryview(m)  # the span becomes a libmemview view to export
    with pytest.raises(BufferError):
        m.release()
    assert bytes(inner) == bytes(data[8:40:2])
    data[8] = 7
    assert inner[0] == 7 and m[0] == 7
    inner.release()
    m.release()
    with pytest.raises(ValueError):
        m[0]


def test_span_views_write_through_and_toreadonly():
    data = bytearray(range(32))
    m = M(data).cast("H")[1::3]
    m[0] = 0xBEEF
    assert struct.unpack_from("<H", data, 2)[0] == 0xBEEF
    r = m.toreadonly()
    assert r.readonly and r.tolist() == m.tolist()
    with pytest.raises(TypeError):
        r[0] = 1
    m[1:3] = M(bytearray(struct.pack("=2H", 11, 22))).cast("H")
    assert m.tolist()[1:3] == [11, 22]


def test_suboffsets_exporter_is_a_view():
    pil = pytest.importorskip("_testbuffer")
    nd = pil.ndarray(list(range(12)), shape=[3, 4], format="B",
                     flags=pil.ND_PIL)
    m, b = M(nd), memoryview(nd)
    assert m.suboffsets == b.suboffsets
    assert m.tolist() == b.tolist()
    assert m[1:].tolist() == b[1:].tolist()


def test_views_of_views_share_one_exporter_buffer():
    data = bytearray(16)
    m = M(data)
    views = [M(m), m[2:], m.cast("I"), M(m).toreadonly()]
    with pytest.raises(BufferError):
        data.append(1)  # still exported
    for v in views:
        v.release()
    m.release()
    data.append(1)
    assert len(data) == 17
