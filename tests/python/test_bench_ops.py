"""bench/bench_ops.py measures every operation of memview.memoryview: its
enumeration covers every name of the type, and each case runs, on both view
types, to the same result where it should.  Nothing here times anything."""

import importlib.util
import pathlib
import re

import numpy as np
import pytest

import memview

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_ops", ROOT / "bench" / "bench_ops.py")
bench_ops = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_ops)

# Small "large" exporters: the cases run once each, not timed.
L = 8 << 10
OPS = bench_ops.enumerate_ops(L)
CASES = [c for _, cs in OPS if isinstance(cs, list) for c in cs]


def test_every_name_has_a_case():
    public = {n for n in dir(memview.memoryview) if not n.startswith("_")}
    special = {n for n in vars(memview.memoryview) if n.startswith("__")} - bench_ops.IGNORED
    builtin = {n for n in dir(memoryview) if not n.startswith("_")}
    measured = {op for op, cs in OPS if isinstance(cs, list) and cs}
    assert public | special | builtin <= {op for op, _ in OPS}
    missing = sorted((public | special | builtin) - measured)
    assert not missing, f"no case measures {missing}: add a recipe to bench/bench_ops.py"


def test_a_new_method_without_recipe_is_reported(monkeypatch):
    class Fake:
        """A view type with names no recipe knows (memview.memoryview
        cannot be subclassed)."""

        def __init__(self, obj):
            self.m = memoryview(obj)

        nbytes = property(lambda self: self.m.nbytes)  # as the builtin's: read

        def needs_args(self, x):
            return x

        def no_args(self):
            return 1

    monkeypatch.setattr(bench_ops, "M", Fake)
    ops = dict(bench_ops.enumerate_ops(L))
    assert isinstance(ops["needs_args"], bench_ops.NoCase)
    # no_args runs, but the builtin has no equivalent: a recipe must give one.
    assert isinstance(ops["no_args"], bench_ops.NoCase)
    assert [c.stmt for c in ops["nbytes"]] == ["m.nbytes"]
    # The builtin's names that Fake lacks are reported, not skipped.
    assert isinstance(ops["tobytes"], bench_ops.NoCase)


def test_keys_are_unique():
    keys = [c.key for c in CASES]
    assert len(keys) == len(set(keys))


def norm(x):
    """What both types' results are compared by."""
    if isinstance(x, (memoryview, memview.memoryview)):
        return ("view", x.format, x.shape, x.tobytes())
    if isinstance(x, (list, tuple)):
        return type(x)(norm(v) for v in x)
    if isinstance(x, (bytes, bytearray)):
        return ("view", "B", (len(x),), bytes(x))
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, re.Match):
        return ("match", x.span())
    if hasattr(x, "hexdigest"):
        return ("hash", x.hexdigest())
    if hasattr(x, "__next__"):
        return ("iterator", list(x))
    if isinstance(x, str) and x.startswith("<memory at 0x"):
        return "<memory at 0x...>"
    return x


@pytest.fixture(scope="module")
def data():
    return bench_ops.make_data(L)


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_case_runs_on_both_types(case, data):
    r = bench_ops.Runner(case, data)
    results = {}
    for which, _ in bench_ops.TYPES:
        r.run(which, 2)
        r.run(which, 1)
        if case.fresh or not case.same:
            continue
        env, stmt = r.env[which], case.stmt_for(which)
        try:
            results[which] = norm(eval(stmt, env))
        except SyntaxError:
            exec(stmt, env)
            results[which] = norm(env.get("r"))
    if results:
        assert results["builtin"] == results["memview"]
