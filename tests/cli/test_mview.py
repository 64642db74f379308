"""mview, the built binary ($MVIEW), on files generated here.

Every expected value is computed in the test, independently of mview:
NumPy (np.frombuffer with the same dtype, shape, order and indexing),
struct, bytes.hex, json, a formatter for xxd's layout written below (and
xxd itself when it is installed).  Error tests check the exit status and
that standard error is exactly one line "mview: ..." naming the culprit.
"""
import json
import math
import os
import pty
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NATIVE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# struct format -> NumPy dtype of the same layout; native formats in the
# byte order of the machine mview runs on (NATIVE: conftest.py).
DTYPES = {
    "B": "u1",
    "b": "i1",
    "c": "S1",
    "h": NATIVE + "i2",
    "<h": "<i2",
    ">i": ">i4",
    "q": NATIVE + "i8",
    "f": NATIVE + "f4",
    "<f": "<f4",
    "d": NATIVE + "f8",
    "e": NATIVE + "f2",
    "?": "?",
    "Zd": NATIVE + "c16",
    "T{<h:a:<d:b:}": [("a", "<i2"), ("b", "<f8")],
}
# Formats the output-mode matrix runs over; others used here and there.
FORMATS = list(DTYPES)
DTYPES.update({"<i": "<i4", "<q": "<i8", ">h": ">i2", "<d": "<f8"})

# Test data is random but the same on every run (per test: seeded by size).
def random_bytes(n):
    return np.random.default_rng(n).bytes(n)


# Values worth printing for the float formats, mixed into random patterns.
SPECIAL = [0.0, -0.0, 0.1, -2.5, 1e16, 1e-5, 123456789.0, float("inf"), float("-inf"),
           float("nan"), 5e-324, 1.5]


def make_items(fmt, n, seed):
    """n items of fmt as bytes: random patterns (NaNs and all), plus
    special values for floats, 0/1 for '?'."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(DTYPES[fmt])
    raw = bytearray(rng.integers(0, 256, n * dt.itemsize, dtype=np.uint8).tobytes())
    if fmt == "?":
        raw = bytearray(b % 2 for b in raw)
    elif fmt in ("f", "<f", "d", "e"):
        arr = np.frombuffer(raw, dtype=dt).copy()
        with np.errstate(over="ignore"):  # 1e16 is inf as a half float
            for i in range(0, n, 2):
                arr[i] = SPECIAL[(i // 2) % len(SPECIAL)]
        raw = bytearray(arr.tobytes())
    elif fmt == "T{<h:a:<d:b:}":
        arr = np.frombuffer(raw, dtype=dt).copy()
        for i in range(n):
            arr[i]["b"] = SPECIAL[i % len(SPECIAL)] if i % 3 else i / 7
        raw = bytearray(arr.tobytes())
    return bytes(raw)


def ref(data, fmt="B", shape=None, order="C", offset=0, key=None):
    """The NumPy twin of `mview -f fmt -s shape --order order -o offset
    FILE key` over data (the file's bytes); returns (view, base)."""
    dt = np.dtype(DTYPES[fmt])
    buf = data[offset:]
    fit = len(buf) // dt.itemsize
    shape = [fit] if shape is None else list(shape)
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        shape[shape.index(-1)] = fit // known if known else 0
    count = math.prod(shape)
    flat = np.frombuffer(buf, dtype=dt, count=count) if count else np.zeros(0, dt)
    arr = flat.reshape(shape, order=order)
    if key is not None:
        k = np_key(key)
        k = k if isinstance(k, tuple) else (k,)
        # A trailing ... keeps all-integer keys a 0-d view, not a scalar.
        if not any(x is Ellipsis for x in k):
            k += (Ellipsis,)
        arr = arr[k]
    return arr, flat


def np_key(text):
    """'[1:3, ::-1]' or '1:3, ::-1' -> the NumPy index."""
    inner = text.strip()
    if inner.startswith("["):
        inner = inner[1:-1]
    if not inner.strip():
        return ()
    return eval("np.s_[%s]" % inner, {"np": np})  # the test's own literals


def deep_map(v, f):
    if isinstance(v, list):
        return [deep_map(x, f) for x in v]
    return f(v)


def pylist(arr, fmt):
    """memoryview.tolist() of the same items.  NumPy's 'S1' drops NUL
    bytes, so 'c' items are rebuilt from the byte values."""
    if fmt == "c":
        return deep_map(arr.view("u1").tolist(), lambda i: bytes([i]))
    return arr.tolist()


def jsonable(v):
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, complex):
        return [jsonable(v.real), jsonable(v.imag)]
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return v


def strict_json(text):
    def refuse(name):
        raise AssertionError("not strict JSON: %s" % name)
    return json.loads(text, parse_constant=refuse)


def xxd(data, start=0):
    """xxd's default layout: address, 8 groups of 2 bytes, ASCII."""
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        groups = " ".join(chunk[j:j + 2].hex() for j in range(0, len(chunk), 2))
        text = "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in chunk)
        lines.append("%08x: %-39s  %s\n" % (start + i, groups, text))
    return "".join(lines)


# NumPy 2 moved byte_bounds to np.lib.array_utils.
byte_bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds


def low_offset(view, flat, offset):
    """File offset of the lowest byte a non-empty view touches."""
    return offset + byte_bounds(view)[0] - byte_bounds(flat)[0]


def info_dict(text):
    d = {}
    for line in text.splitlines():
        k, v = line.split(": ", 1)
        d[k] = v
    return d


def contiguity(arr):
    c, f = arr.flags.c_contiguous, arr.flags.f_contiguous
    return "both" if c and f else "C" if c else "F" if f else "none"


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


# ---------------------------------------------------------------------------
# Every output mode on 1-D, 2-D and 3-D views of every format class
# ---------------------------------------------------------------------------

# (shape, order, offset, subscript): plain 1-D; 2-D at an odd offset with
# negative and positive steps; 3-D in Fortran order at an unaligned
# offset with an integer key.
VIEWS = [
    (None, "C", 0, None),
    ((3, -1), "C", 1, "[::-1, 1::2]"),
    ((2, 3, -1), "F", 3, "[1, ::-2, 1:]"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_output_modes(mview, tmp_path, fmt, view):
    shape, order, offset, key = VIEWS[view]
    itemsize = np.dtype(DTYPES[fmt]).itemsize
    # 24 items after the offset, and 5 stray bytes that make no item.
    data = random_bytes(offset) + make_items(fmt, 24, seed=view) + b"\x01" * 5
    data = data[:offset + 24 * itemsize + min(5, itemsize - 1)]
    path = write(tmp_path, "data.bin", data)
    args = ["-f", fmt, "-o", offset, "--order", order, path]
    if shape:
        args[0:0] = ["-s", ",".join(map(str, shape))]
    if key:
        args.append(key)
    arr, flat = ref(data, fmt, shape, order, offset, key)
    items = pylist(arr, fmt)

    assert mview.text(*args, "--list") == repr(items) + "\n"
    assert strict_json(mview.text(*args, "--json")) == jsonable(items)
    cbytes = arr.tobytes()
    assert mview.ok(*args, "--raw") == cbytes
    assert mview.text(*args, "--hex") == cbytes.hex() + "\n"
    assert mview.text(*args, "--hex=:") == cbytes.hex(":") + "\n"
    info = info_dict(mview.text(*args, "--info"))
    assert info == {
        "file": path,
        "format": fmt,
        "itemsize": str(itemsize),
        "ndim": str(arr.ndim),
        "shape": repr(arr.shape),
        "strides": repr(arr.strides),
        "offset": str(low_offset(arr, flat, offset)),
        "nbytes": str(arr.nbytes),
        "readonly": "true",
        "contiguity": contiguity(arr),
    }
    start = low_offset(arr, flat, offset) if arr.flags.c_contiguous else 0
    assert mview.text(*args, "--dump") == xxd(cbytes, start)
    # The default: a dump for 1-D views of one-byte items, else the list.
    default = mview.text(*args)
    if arr.ndim == 1 and itemsize == 1:
        assert default == xxd(cbytes, start)
    else:
        assert default == repr(items) + "\n"


def test_default_shape_ignores_trailing_bytes(mview, tmp_path):
    data = struct.pack("<3i", 7, -8, 9) + b"\xff\xff\xff"
    path = write(tmp_path, "t.bin", data)
    assert mview.text("-f", "<i", path) == "[7, -8, 9]\n"
    assert mview.text("-f", "<i", "-s", "-1", path) == "[7, -8, 9]\n"
    assert info_dict(mview.text("-f", "<i", path, "--info"))["shape"] == "(3,)"


def test_zero_dim_views(mview, tmp_path):
    data = struct.pack("<4h", 1, -2, 3, -4)
    path = write(tmp_path, "z.bin", data)
    assert mview.text("-f", "<h", "-s", "2,2", path, "[1, 0]") == "3\n"
    assert mview.text("-f", "<h", "-s", "2,2", path, "[1, -1]", "--json") == "-4\n"
    assert mview.ok("-f", "<h", "-s", "2,2", path, "[0, 1]", "--raw") == struct.pack("<h", -2)
    info = info_dict(mview.text("-f", "<h", "-s", "()", path, "--info"))
    assert (info["ndim"], info["shape"], info["strides"], info["nbytes"]) == ("0", "()", "()", "2")
    assert mview.text("-f", "<h", "-s", "()", path, "--list") == "1\n"


def test_brackets_optional(mview, tmp_path):
    data = make_items("<h", 60, seed=5)
    path = write(tmp_path, "b.bin", data)
    arr, _ = ref(data, "<h", (6, 10), key="[4:1:-1, ::3]")
    want = repr(arr.tolist()) + "\n"
    assert mview.text("-f", "<h", "-s", "6,10", path, "[4:1:-1, ::3]") == want
    assert mview.text("-f", "<h", "-s", "6,10", path, "4:1:-1, ::3") == want
    assert mview.text("-f", "<h", "-s", "6,10", path, " 4:1:-1 ,::3 ") == want
    # A subscript that starts with '-': in brackets, or after --.
    arr, _ = ref(data, "<h", (6, 10), key="[-1]")
    assert mview.text("-f", "<h", "-s", "6,10", path, "[-1]") == repr(arr.tolist()) + "\n"
    assert mview.text("-f", "<h", "-s", "6,10", "--", path, "-1") == repr(arr.tolist()) + "\n"
    arr, _ = ref(data, "<h", (6, 10), key="[..., None, 2]")
    assert mview.text("-f", "<h", "-s", "6,10", path, "..., None, 2") == repr(arr.tolist()) + "\n"


def test_options_after_file_and_long_forms(mview, tmp_path):
    data = make_items("<i", 12, seed=9)
    path = write(tmp_path, "o.bin", data)
    arr, _ = ref(data, "<i", (3, 4), "F", 0, "[:, 1]")
    want = repr(arr.tolist()) + "\n"
    assert mview.text(path, "[:, 1]", "--format", "<i", "--shape=3,4", "--order", "F") == want
    assert mview.text("--format=<i", "-s(3,4)", "--order=F", "--offset=0", path, "[:, 1]") == want


@pytest.mark.parametrize("fmt", ["B", "<h", ">i", "d"])
def test_big_views_stream_in_chunks(mview, tmp_path, fmt):
    """Views larger than mview's 64 KiB chunk, non-contiguous, with rows
    smaller and larger than a chunk."""
    itemsize = np.dtype(DTYPES[fmt]).itemsize
    n = 300_000 // itemsize
    data = make_items(fmt, n, seed=11)
    path = write(tmp_path, "big.bin", data)
    cases = [((-1, 100), "[::-1, ::3]"), ((2, -1), "[:, ::-1]"), ((4, 5, -1), "[::-1, 1:, 1::2]")]
    for shape, key in cases:
        s = ",".join(map(str, shape))
        arr, _ = ref(data, fmt, shape, key=key)
        cbytes = arr.tobytes()
        assert mview.ok("-f", fmt, "-s", s, path, key, "--raw") == cbytes
        assert mview.text("-f", fmt, "-s", s, path, key, "--hex=::-7") == cbytes.hex(":", -7) + "\n"
        assert mview.text("-f", fmt, "-s", s, path, key, "--dump") == xxd(cbytes)
        if fmt != "d":
            assert mview.text("-f", fmt, "-s", s, path, key) == repr(arr.tolist()) + "\n"
        else:
            assert strict_json(mview.text("-f", fmt, "-s", s, path, key, "--json")) == \
                jsonable(arr.tolist())


# ---------------------------------------------------------------------------
# --dump against xxd
# ---------------------------------------------------------------------------

def test_dump_matches_xxd(mview, tmp_path):
    data = bytes(range(256)) + random_bytes(777) + b"hello, world\n"
    path = write(tmp_path, "x.bin", data)
    assert mview.text(path) == xxd(data)
    assert mview.text("-o", 5, path) == xxd(data[5:], 5)
    assert mview.text("-o", "0x1f", path, "[:100]") == xxd(data[31:131], 31)
    xxd_bin = shutil.which("xxd")
    if xxd_bin:
        for args, xargs in (([], []), (["-o", 5], ["-s", "5"]), (["-o", 1000], ["-s", "1000"])):
            want = subprocess.run([xxd_bin, *xargs, path], stdout=subprocess.PIPE,
                                  check=True).stdout.decode()
            assert mview.text(*args, path) == want


def test_dump_of_strided_view_counts_view_bytes(mview, tmp_path):
    data = random_bytes(100)
    path = write(tmp_path, "s.bin", data)
    assert mview.text(path, "[::-3]") == xxd(data[::-3], 0)
    assert mview.text("-o", 7, path, "[10:90:2]") == xxd(data[7:][10:90:2], 0)
    # Contiguous sub-views keep file offsets.
    assert mview.text("-o", 7, path, "[10:90]") == xxd(data[17:97], 17)


# ---------------------------------------------------------------------------
# --hex
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sep,per", [(":", 1), ("-", 2), (" ", -3), ("|", 12289), ("_", 40000),
                                     (".", -70000), ("x", 0), (":", 300_000), ("#", -299_999),
                                     ("~", 32768), ("~", -32769)])
def test_hex_separators_on_big_views(mview, tmp_path, sep, per):
    data = random_bytes(300_000)
    path = write(tmp_path, "h.bin", data)
    assert mview.text(path, "--hex=%s:%d" % (sep, per)) == data.hex(sep, per) + "\n"
    assert mview.text(path, "[::-1]", "--hex=%s:%d" % (sep, per)) == \
        data[::-1].hex(sep, per) + "\n"


def test_hex_argument_forms(mview, tmp_path):
    data = random_bytes(50)
    path = write(tmp_path, "h.bin", data)
    assert mview.text(path, "--hex") == data.hex() + "\n"
    assert mview.text("--hex", ":", path) == data.hex(":") + "\n"
    assert mview.text(path, "--hex", "-:4") == data.hex("-", 4) + "\n"
    assert mview.text("--hex", "::-2", path) == data.hex(":", -2) + "\n"
    assert mview.text("--hex=.", path) == data.hex(".") + "\n"
    # ':2' is not "one character [:N]": it is the subscript.
    assert mview.text(path, "--hex", ":2") == data[:2].hex() + "\n"
    # A one-character FILE after a bare --hex: put -- first.
    assert mview.text("--hex", "--", "-", input=data) == data.hex() + "\n"
    assert mview.text("-", "--hex", input=data) == data.hex() + "\n"


# ---------------------------------------------------------------------------
# --raw, -w
# ---------------------------------------------------------------------------

def test_write_option(mview, tmp_path):
    data = make_items("<h", 1000, seed=3)
    path = write(tmp_path, "w.bin", data)
    out = tmp_path / "out.bin"
    arr, _ = ref(data, "<h", (-1, 10), key="[::-1, ::2]")
    assert mview.ok("-f", "<h", "-s", "-1,10", path, "[::-1, ::2]", "--raw", "-w", out) == b""
    assert out.read_bytes() == arr.tobytes()
    assert mview.ok("-f", "<h", "-s", "-1,10", path, "[::-1, ::2]", "--write", out) == b""
    assert out.read_text() == repr(arr.tolist()) + "\n"


def test_raw_refuses_a_terminal(mview, tmp_path):
    path = write(tmp_path, "r.bin", b"\x00\x01binary")
    master, slave = pty.openpty()
    try:
        r = subprocess.run(mview.argv(path, "--raw"), stdout=slave, stderr=subprocess.PIPE,
                           timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("mview: ")
    assert "terminal" in lines[0] and "--raw" in lines[0]


# ---------------------------------------------------------------------------
# --find
# ---------------------------------------------------------------------------

def naive_find(hay, needle):
    return [i for i in range(len(hay) - len(needle) + 1) if hay[i:i + len(needle)] == needle]


def test_find(mview, tmp_path):
    data = b"aaaa GET /x\r\n\x00\xde\xad\xbe\xef GET aaa\xde\xad" + bytes(range(256))
    path = write(tmp_path, "f.bin", data)

    def found(*args):
        return [int(x) for x in mview.text(path, *args).split()]

    assert found("--find", "de ad") == naive_find(data, b"\xde\xad")
    assert found("--find", "DEADbeef") == naive_find(data, b"\xde\xad\xbe\xef")
    assert found("--find", "61 61") == naive_find(data, b"aa")
    assert len(naive_find(data, b"aa")) == 5  # overlapping: aaaa, aaa
    assert found("--find", '"GET"') == naive_find(data, b"GET")
    assert found("--find", "'\\r\\n\\x00\\xde'") == naive_find(data, b"\r\n\x00\xde")
    assert found("--find", '"\\\\"') == naive_find(data, b"\\")
    assert found("--find", "'\"'") == naive_find(data, b'"')
    # Positions are relative to the view, even a reversed one.
    assert found("[::-1]", "--find", "ad de") == naive_find(data[::-1], b"\xad\xde")
    assert found("-o", 3, "[2:]", "--find", '"a"') == naive_find(data[5:], b"a")
    assert found("-f", "c", "--find", "00") == naive_find(data, b"\x00")
    # No match: no output, success.
    assert mview.text(path, "--find", "'nope'") == ""


# ---------------------------------------------------------------------------
# --set
# ---------------------------------------------------------------------------

def test_set_int_rectangle(mview, tmp_path):
    data = make_items("<i", 24, seed=1)
    path = write(tmp_path, "s.bin", data)
    assert mview.text("-f", "<i", "-s", "4,6", path, "[1:3, ::-2]", "--set", "-7") == \
        "6 items set\n"
    want = np.frombuffer(data, "<i4").reshape(4, 6).copy()
    want[1:3, ::-2] = -7
    assert open(path, "rb").read() == want.tobytes()


@pytest.mark.parametrize("fmt,value,expect", [
    ("B", "255", 255), ("b", "-128", -128), ("h", "0x7fff", 0x7FFF), (">i", "-0x10", -16),
    ("q", "-9223372036854775808", -2**63), ("<f", "0.1", 0.1), ("d", "-inf", float("-inf")),
    ("e", "1.5", 1.5), ("?", "True", True), ("c", "'A'", b"A"), ("c", "z", b"z"),
    ("Zd", "1-2j", 1 - 2j), ("Zd", "(0.5+1e3j)", 0.5 + 1000j), ("d", "7", 7.0),
])
def test_set_formats(mview, tmp_path, fmt, value, expect):
    dt = np.dtype(DTYPES[fmt])
    data = make_items(fmt, 10, seed=2)
    path = write(tmp_path, "s.bin", data)
    assert mview.text("-f", fmt, "-o", 0, path, "[1::3]", "--set", value) == "3 items set\n"
    want = np.frombuffer(data, dt).copy()
    want[1::3] = np.array([expect], dtype=dt)[0] if fmt != "c" else expect
    assert open(path, "rb").read() == want.tobytes()


def test_set_strings_and_records(mview, tmp_path):
    data = bytes(range(40))
    path = write(tmp_path, "s.bin", data)
    assert mview.text("-f", "4s", path, "[::2]", "--set", "'ab\\x00'") == "5 items set\n"
    want = bytearray(data)
    for i in range(0, 10, 2):
        want[4 * i:4 * i + 4] = b"ab\x00\x00"
    assert open(path, "rb").read() == bytes(want)
    # A standard-size record of two values: several values per item.
    path = write(tmp_path, "r.bin", make_items("T{<h:a:<d:b:}", 6, seed=4))
    assert mview.text("-f", "T{<h:a:<d:b:}", path, "[-2:]", "--set", "(5, 2.5)") == \
        "2 items set\n"
    arr, _ = ref(open(path, "rb").read(), "T{<h:a:<d:b:}")
    assert arr.tolist()[-2:] == [(5, 2.5), (5, 2.5)]
    assert mview.text("-f", "<hd", path, "[0]", "--set", "-1, 0.25") == "1 item set\n"
    assert struct.unpack_from("<hd", open(path, "rb").read()) == (-1, 0.25)


def test_set_keeps_padding(mview, tmp_path):
    """A native record with alignment padding: only the fields change."""
    data = random_bytes(16 * 5)
    path = write(tmp_path, "p.bin", data)
    assert mview.text("-f", "T{b:a:d:b:}", path, "[::2]", "--set", "(5, 2.5)") == \
        "3 items set\n"
    want = bytearray(data)
    for i in (0, 2, 4):
        struct.pack_into(NATIVE + "b", want, 16 * i, 5)
        struct.pack_into(NATIVE + "d", want, 16 * i + 8, 2.5)
    assert open(path, "rb").read() == bytes(want)


def test_set_with_offset_and_zero_dim(mview, tmp_path):
    data = random_bytes(64)
    path = write(tmp_path, "z.bin", data)
    assert mview.text("-o", 3, "-f", ">h", "-s", "5,6", path, "[2, 3]", "--set", "-2") == \
        "1 item set\n"
    want = bytearray(data)
    struct.pack_into(">h", want, 3 + 2 * (2 * 6 + 3), -2)
    assert open(path, "rb").read() == bytes(want)
    assert mview.text(path, "[5:5]", "--set", "1") == "0 items set\n"
    assert open(path, "rb").read() == bytes(want)


def test_set_large_broadcast(mview, tmp_path):
    data = random_bytes(1 << 20)
    path = write(tmp_path, "l.bin", data)
    assert mview.text("-f", "<i", "-s", "-1,256", path, "[::2, 1:]", "--set", "305419896") == \
        "130560 items set\n"
    want = np.frombuffer(data, "<i4").reshape(-1, 256).copy()
    want[::2, 1:] = 305419896
    assert open(path, "rb").read() == want.tobytes()


# ---------------------------------------------------------------------------
# --order F, --cast, offsets, standard input
# ---------------------------------------------------------------------------

def test_order_f(mview, tmp_path):
    data = make_items("<i", 24, seed=6)
    path = write(tmp_path, "f.bin", data)
    arr, _ = ref(data, "<i", (2, 3, 4), "F")
    assert mview.text("-f", "<i", "-s", "2,3,4", "--order", "F", path) == repr(arr.tolist()) + "\n"
    info = info_dict(mview.text("-f", "<i", "-s", "2,3,4", "--order", "F", path, "--info"))
    assert info["strides"] == repr(arr.strides) == "(4, 8, 24)"
    assert info["contiguity"] == "F"
    # --raw is C order whatever the memory order.
    assert mview.ok("-f", "<i", "-s", "2,3,4", "--order", "F", path, "--raw") == arr.tobytes()


def test_cast(mview, tmp_path):
    data = make_items("B", 96, seed=7) + b"\x00\x01"
    path = write(tmp_path, "c.bin", data)
    body = data[:96]
    i4 = np.frombuffer(body, NATIVE + "i4")
    # Without a shape: 1-D.
    assert mview.text("-s", 96, path, "--cast", "i") == repr(i4.tolist()) + "\n"
    # With a shape, one -1, then a subscript.
    assert mview.text("-s", 96, path, "--cast", "i:2,-1", "[::-1, 3:]") == \
        repr(i4.reshape(2, -1)[::-1, 3:].tolist()) + "\n"
    assert mview.text("-s", 96, path, "--cast", "<h:4,3,4", "[1]") == \
        repr(np.frombuffer(body, "<i2").reshape(4, 3, 4)[1].tolist()) + "\n"
    # Beyond CPython: non-native byte order, N-D -> N-D.
    assert mview.text("-s", 96, path, "--cast", ">h") == \
        repr(np.frombuffer(body, ">i2").tolist()) + "\n"
    assert mview.text("-f", "<h", "-s", "6,8", path, "--cast", "<i:4,6") == \
        repr(np.frombuffer(body, "<i4").reshape(4, 6).tolist()) + "\n"
    # To bytes: a 1-D one-byte view, dumped with file offsets.
    assert mview.text("-o", 2, "-f", "<h", "-s", "5,4", path, "--cast", "B") == \
        xxd(data[2:42], 2)


def test_unaligned_offsets(mview, tmp_path):
    data = random_bytes(203)
    path = write(tmp_path, "u.bin", data)
    for off in (1, 3, 5, 7, 13):
        arr, _ = ref(data, "d", offset=off)
        assert strict_json(mview.text("-o", off, "-f", "d", path, "--json")) == \
            jsonable(arr.tolist())
        arr, _ = ref(data, ">i", (-1, 3), offset=off, key="[::-2, 2]")
        assert mview.text("-o", off, "-f", ">i", "-s", "-1,3", path, "[::-2, 2]") == \
            repr(arr.tolist()) + "\n"


def test_stdin(mview):
    data = make_items("<h", 40, seed=8) + b"\x07"
    arr, _ = ref(data, "<h", (-1, 8), key="[::-1, ::3]")
    assert mview.text("-f", "<h", "-s", "-1,8", "-", "[::-1, ::3]", input=data) == \
        repr(arr.tolist()) + "\n"
    assert mview.text("-", input=data) == xxd(data)
    assert mview.text("-o", 17, "-", input=data) == xxd(data[17:], 17)
    assert mview.ok("-o", 1, "-f", "<h", "-", "--raw", input=data) == data[1:81]
    info = info_dict(mview.text("-", "--info", input=data))
    assert info["readonly"] == "false" and info["nbytes"] == str(len(data))
    assert mview.text("-", "--list", input=b"") == "[]\n"


def test_pipe_by_name(mview, tmp_path):
    """A FIFO given by name is read into memory like standard input."""
    data = random_bytes(3000)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(mview.argv(str(fifo), "--hex"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    with open(fifo, "wb") as f:
        f.write(data)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err, out) == (0, b"", data.hex().encode() + b"\n")


# ---------------------------------------------------------------------------
# Empty files, zero-size shapes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode,want", [
    ([], b""), (["--dump"], b""), (["--list"], b"[]\n"), (["--json"], b"[]\n"),
    (["--hex"], b"\n"), (["--raw"], b""), (["--find", "00"], b""), (["--set", "1"],
                                                                      b"0 items set\n")])
def test_empty_file(mview, tmp_path, mode, want):
    path = write(tmp_path, "empty.bin", b"")
    assert mview.ok(path, *mode) == want
    info = info_dict(mview.text(path, "--info"))
    assert (info["shape"], info["nbytes"], info["offset"]) == ("(0,)", "0", "0")
    # A typed view of nothing: no items (a 1-D non-byte view lists).
    if mode != ["--find", "00"]:
        assert mview.ok("-f", "<d", path, *mode) == (b"[]\n" if mode == [] else want)


def test_zero_size_shapes(mview, tmp_path):
    data = make_items("<i", 6, seed=12)
    path = write(tmp_path, "zs.bin", data)
    for shape in ("0,4", "3,0", "0", "2,0,3", "0,-1"):
        dims = [int(x) for x in shape.split(",")]
        arr, _ = ref(data, "<i", dims)
        assert mview.text("-f", "<i", "-s", shape, path) == repr(arr.tolist()) + "\n"
        assert strict_json(mview.text("-f", "<i", "-s", shape, path, "--json")) == arr.tolist()
        assert mview.ok("-f", "<i", "-s", shape, path, "--raw") == b""
        assert mview.text("-f", "<i", "-s", shape, path, "--hex") == "\n"
        info = info_dict(mview.text("-f", "<i", "-s", shape, path, "--info"))
        assert (info["shape"], info["nbytes"]) == (repr(arr.shape), "0")
    assert mview.text(path, "[4:2]") == ""
    assert mview.text(path, "[4:2]", "--list") == "[]\n"


# ---------------------------------------------------------------------------
# Usage errors: exit 1
# ---------------------------------------------------------------------------

def test_usage_errors(mview, tmp_path):
    path = write(tmp_path, "u.bin", bytes(96))
    mview.fails(1, culprit="FILE")
    mview.fails(1, "--bogus", path, culprit="--bogus")
    mview.fails(1, "-z", path, culprit="-z")
    mview.fails(1, path, "-f", culprit="-f")
    mview.fails(1, path, "[1]", "extra", culprit="extra")
    mview.fails(1, "-s", "2,x", path, culprit="2,x")
    mview.fails(1, "-s", "2,,3", path, culprit="2,,3")
    mview.fails(1, "-s", "-2,3", path, culprit="-2,3")
    mview.fails(1, "-s", "-1,4,-1", path, culprit=("-1,4,-1", "-1"))
    mview.fails(1, "-s", ",".join(["1"] * 65), path, culprit="64")
    mview.fails(1, "-f", "Q!", path, culprit="Q!")
    mview.fails(1, "-f", "T{h", path, culprit="T{h")
    mview.fails(1, "-f", "0B", path, culprit="0B")
    mview.fails(1, "--cast", "Y", path, culprit="Y")
    mview.fails(1, "--cast", "i:2,x", path, culprit="2,x")
    mview.fails(1, path, "[1:2:3:4]", culprit="[1:2:3:4]")
    mview.fails(1, path, "[1", culprit="[1")
    mview.fails(1, path, "[a]", culprit="[a]")
    mview.fails(1, path, "--list", "--json", culprit=("--list", "--json"))
    mview.fails(1, path, "--raw", "--hex", culprit=("--raw", "--hex"))
    mview.fails(1, path, "--find", "00", "--set", "1", culprit=("--find", "--set"))
    mview.fails(1, "--set", "1", "-", input=b"abc", culprit=("--set", "standard input"))
    mview.fails(1, "--set", "1", "-w", tmp_path / "o", path, culprit="-w")
    mview.fails(1, "-o", "abc", path, culprit="abc")
    mview.fails(1, "-o", "-3", path, culprit="-3")
    mview.fails(1, "--order", "X", path, culprit="X")
    mview.fails(1, "--hex=ab", path, culprit="ab")
    mview.fails(1, "--hex=:x", path, culprit=":x")
    mview.fails(1, path, "--find", "abc", culprit=("abc", "odd"))
    mview.fails(1, path, "--find", "zz", culprit="zz")
    mview.fails(1, path, "--find", '"unterminated', culprit='"unterminated')
    mview.fails(1, path, "--find", '""', culprit="nothing")


# ---------------------------------------------------------------------------
# Data errors: exit 2
# ---------------------------------------------------------------------------

def test_data_errors(mview, tmp_path):
    path = write(tmp_path, "d.bin", bytes(range(96)))
    small = write(tmp_path, "small.bin", bytes(22))
    mview.fails(2, tmp_path / "missing.bin", culprit=("missing.bin", "No such file"))
    mview.fails(2, tmp_path, culprit=(str(tmp_path), "directory"))
    mview.fails(2, "-f", "<i", "-s", "5,5", path, culprit=("(5, 5)", "'<i'", "100", "96"))
    mview.fails(2, "-o", 10, "-f", "<i", "-s", "4,6", path, culprit=("(4, 6)", "96", "86", "10"))
    mview.fails(2, "-f", "<q", "-s", "9223372036854775807,2", path, culprit="too large")
    # As NumPy: the non-zero extents must fit even when another is 0
    # (their strides would wrap).
    mview.fails(2, "-s", "0,4611686018427387904,4", path, "--info", culprit="too large")
    assert "strides: (20, 5, 1)" in mview.text("-s", "0,4,5", path, "--info")
    mview.fails(2, "-o", 97, path, culprit=("97", "96"))
    mview.fails(2, "-o", 10, "-", input=b"short", culprit=("10", "standard input", "5"))
    mview.fails(2, path, "[96]", culprit=("[96]", "(96,)", "out of bounds"))
    mview.fails(2, "-s", "8,12", path, "[2, -13]", culprit=("[2, -13]", "dimension 2"))
    mview.fails(2, path, "[1, 2]", culprit=("[1, 2]", "too many indices"))
    mview.fails(2, path, "[99999999999999999999]", culprit="99999999999999999999")
    mview.fails(2, small, "--cast", "i", culprit=("'i'", "not a multiple", "22"))
    mview.fails(2, path, "--cast", "B:5,5", culprit=("B:5,5", "product(shape)"))
    mview.fails(2, "-f", "B", path, "--set", "300", culprit=("300", "'B'"))
    mview.fails(2, "-f", "<h", path, "--set", "1.5", culprit=("1.5", "'<h'"))
    mview.fails(2, "-f", "<h", path, "--set", "abc", culprit=("abc", "'<h'"))
    mview.fails(2, "-f", "<hd", path, "--set", "1", culprit=("'<hd'", "2 values"))
    mview.fails(2, "-f", "c", path, "--set", "'ab'", culprit=("'ab'", "'c'"))
    mview.fails(2, "-f", "<h", path, "--find", "00", culprit=("--find", "'<h'"))
    mview.fails(2, "-s", "8,12", path, "--find", "00", culprit=("--find", "ndim 2"))
    mview.fails(2, path, "--raw", "-w", path, culprit=("-w", path))
    mview.fails(2, path, "--raw", "-w", tmp_path / "no" / "such", culprit="no/such")
    # None of the failed --set calls changed the file.
    assert open(path, "rb").read() == bytes(range(96))


def test_dev_full(mview, tmp_path):
    path = write(tmp_path, "f.bin", random_bytes(200_000))
    for mode in ([], ["--list"], ["--raw"], ["--hex"], ["--info"]):
        with open("/dev/full", "wb") as full:
            line = mview.fails(2, path, *mode, stdout=full, culprit="No space left")
        assert "standard output" in line


def test_epipe_is_quiet(mview, tmp_path):
    path = write(tmp_path, "e.bin", random_bytes(4 << 20))
    for mode in ([], ["--list"], ["--raw"], ["--hex=:"]):
        proc = subprocess.Popen(mview.argv(path, *mode), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert len(proc.stdout.read(100)) == 100
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=30) == 0 and err == b"", (mode, err)


def blocked_on_pipe(pid, timeout=20):
    """Wait until the process sleeps in a pipe write (it filled the pipe)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/wchan" % pid) as f:
                wchan = f.read()
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state == "S" and ("pipe" in wchan or wchan in ("", "0")):
            time.sleep(0.05)
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("mode", [[], ["--raw"], ["-f", "<i", "--list"]])
def test_sigbus_when_the_file_shrinks(mview, tmp_path, mode):
    p = tmp_path / "big.bin"
    data = random_bytes(16 << 20)
    p.write_bytes(data)
    proc = subprocess.Popen(mview.argv(str(p), *mode), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(68)  # it has mapped the file and started
        assert blocked_on_pipe(proc.pid)
        os.truncate(p, 0)
        rest = proc.stdout.read()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status == 2, err
    lines = err.split("\n")
    assert len(lines) == 2 and lines[1] == "" and lines[0].startswith("mview: "), err
    assert "SIGBUS" in lines[0] and "shrank" in lines[0] and str(p) in lines[0]
    # What was written before the fault stays.
    out = first + rest
    if mode == []:  # whole lines of the dump
        assert 0 < len(out) < len(data) * 4 and len(out) % 68 == 0
        assert out.decode() == xxd(data[:len(out) // 68 * 16])
    elif mode == ["--raw"]:
        assert 0 < len(out) < len(data) and out == data[:len(out)]
    else:
        assert out.startswith(b"[") and not out.endswith(b"]\n")


def test_sparse_4gib_bounded_memory(mview, tmp_path):
    """'-f <f -s -1,1024 [::4096]' of a sparse 4 GiB file: 256 rows of one
    page each, 16 MiB apart; peak RSS of the child stays small."""
    p = tmp_path / "sparse.bin"
    rows = {0: 1.5, 1: -7.0, 100: 0.1, 255: 3e38}
    with open(p, "wb") as f:
        f.truncate(4 << 30)
        for k, v in rows.items():
            f.seek(k * 4096 * 4096)
            f.write(np.full(1024, v, "<f4").tobytes())
        f.seek(4096)  # row 1 of the file: not selected
        f.write(np.full(1024, 9.0, "<f4").tobytes())
    want = np.zeros((256, 1024), "<f4")
    for k, v in rows.items():
        want[k] = v
    out = tmp_path / "out.txt"
    code = ("import resource, subprocess, sys\n"
            "with open(sys.argv[1], 'wb') as out:\n"
            "    r = subprocess.run(sys.argv[2:], stdout=out)\n"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    argv = mview.argv("-f", "<f", "-s", "-1,1024", str(p), "[::4096]")
    r = subprocess.run([sys.executable, "-c", code, str(out), *argv], stdout=subprocess.PIPE,
                       check=True, timeout=120)
    status, maxrss_kib = map(int, r.stdout.split())
    assert status == 0
    assert out.read_text() == repr(want.tolist()) + "\n"
    assert maxrss_kib < 64 * 1024, "peak RSS %d KiB" % maxrss_kib


# ---------------------------------------------------------------------------
# Differential: random shapes, orders and subscripts against NumPy
# ---------------------------------------------------------------------------

@st.composite
def cases(draw):
    fmt = draw(st.sampled_from(["B", "b", "<h", ">i", "q", "<f", "d", "e", "?"]))
    ndim = draw(st.integers(1, 3))
    shape = [draw(st.integers(0, 5)) for _ in range(ndim)]
    order = draw(st.sampled_from("CF"))
    offset = draw(st.integers(0, 9))
    keys = []
    for n in shape[:draw(st.integers(0, ndim))]:
        if n > 0 and draw(st.booleans()):
            keys.append(str(draw(st.integers(-n, n - 1))))
        else:
            parts = [draw(st.one_of(st.none(), st.integers(-n - 2, n + 2))) for _ in range(2)]
            step = draw(st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)))
            keys.append(":".join("" if x is None else str(x) for x in parts + [step]))
    return fmt, shape, order, offset, "[%s]" % ", ".join(keys)


@pytest.fixture(scope="module")
def diff_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("diff")
    files = {}
    for fmt in ["B", "b", "<h", ">i", "q", "<f", "d", "e", "?"]:
        data = random_bytes(9) + make_items(fmt, 125, seed=13)
        files[fmt] = (write(d, "%s.bin" % fmt.replace("<", "l").replace(">", "g"), data), data)
    return files


# 60 examples, times MEMVIEW_HYPOTHESIS_SCALE; random ones with
# MEMVIEW_HYPOTHESIS_RANDOM=1 (make test-long); no .hypothesis/ left behind.
@settings(max_examples=max(1, int(60 * float(os.environ.get("MEMVIEW_HYPOTHESIS_SCALE", "1")))),
          derandomize=os.environ.get("MEMVIEW_HYPOTHESIS_RANDOM") != "1", deadline=None,
          database=None, print_blob=True)
@given(case=cases())
def test_random_views_match_numpy(mview, diff_files, case):
    fmt, shape, order, offset, key = case
    path, data = diff_files[fmt]
    arr, flat = ref(data, fmt, shape, order, offset, key)
    args = ["-f", fmt, "-s", ",".join(map(str, shape)), "--order", order, "-o", offset, path, key]
    assert mview.text(*args, "--list") == repr(arr.tolist()) + "\n"
    info = info_dict(mview.text(*args, "--info"))
    assert (info["shape"], info["nbytes"]) == (repr(arr.shape), str(arr.nbytes))
    if arr.size:  # NumPy's strides of an empty array are arbitrary
        assert info["strides"] == repr(arr.strides)
        assert info["offset"] == str(low_offset(arr, flat, offset))
        assert info["contiguity"] == contiguity(arr)


# ---------------------------------------------------------------------------
# Help, man page, samples and the demo
# ---------------------------------------------------------------------------

OPTIONS = ["--format", "--shape", "--offset", "--order", "--cast", "--write", "--dump", "--info",
           "--list", "--json", "--hex", "--raw", "--find", "--set", "--help", "--version"]


def test_help_and_man_page_document_every_option(mview):
    help_text = mview.text("--help")
    assert help_text.startswith("Usage: mview [OPTIONS] FILE [SUBSCRIPT]")
    assert mview.text("--version").startswith("mview ")
    with open(os.path.join(ROOT, "docs", "mview.1")) as f:
        man = f.read().replace("\\-", "-")
    for opt in OPTIONS:
        assert opt in help_text, opt
        assert opt in man, opt
    for short in ("-f", "-s", "-o", "-w", "-h"):
        assert short + "," in help_text and short in man


def test_samples(mview, tmp_path):
    script = os.path.join(ROOT, "scripts", "make_samples.py")
    subprocess.run([sys.executable, script, str(tmp_path)], check=True, stdout=subprocess.PIPE)
    pgm = (tmp_path / "image.pgm").read_bytes()
    header = b"P5\n64 48\n255\n"
    assert pgm.startswith(header) and len(pgm) == len(header) + 64 * 48
    pixels = np.frombuffer(pgm, "u1", offset=len(header)).reshape(48, 64)
    y, x = np.mgrid[0:48, 0:64]
    frame = (x == 0) | (x == 63) | (y == 0) | (y == 47) | (x == y + 8)
    assert (pixels == np.where(frame, 255, 2 * x + 2 * y)).all()
    import wave
    with wave.open(str(tmp_path / "tone.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == \
            (2, 2, 8000, 400)
        frames = w.readframes(400)
    n = np.arange(400)
    left = np.round(12000 * np.sin(2 * np.pi * 440 * n / 8000)).astype(int)
    right = np.round(6000 * np.sin(2 * np.pi * 1000 * n / 8000)).astype(int)
    got = np.frombuffer(frames, "<i2").reshape(400, 2)
    assert (np.abs(got[:, 0] - left) <= 1).all() and (np.abs(got[:, 1] - right) <= 1).all()
    wav = (tmp_path / "tone.wav").read_bytes()
    assert wav.index(b"data") + 8 == 44 and len(wav) == 44 + 1600
    # The demo's views of them.
    wav_path, pgm_path = str(tmp_path / "tone.wav"), str(tmp_path / "image.pgm")
    assert mview.text("-o", 44, "-f", "<h", "-s", "-1,2", wav_path, "[:16, 1]") == \
        repr(got[:16, 1].tolist()) + "\n"
    assert mview.text("-o", 13, "-s", "48,64", pgm_path, "[10:20:3, 8:40:8]") == \
        repr(pixels[10:20:3, 8:40:8].tolist()) + "\n"
    # Deterministic.
    again = tmp_path / "again"
    subprocess.run([sys.executable, script, str(again)], check=True, stdout=subprocess.PIPE)
    assert (again / "image.pgm").read_bytes() == pgm and (again / "tone.wav").read_bytes() == wav


def test_demo_runs(mview, tmp_path):
    r = subprocess.run([os.path.join(ROOT, "examples", "demo.sh"), mview.program(tmp_path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    out = r.stdout.decode()
    assert out.count("$ mview ") == 7 and "18 items set" in out
