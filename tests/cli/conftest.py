"""Fixtures for the mview tests: the binary under test comes from $MVIEW
(tests/meson.build sets it to the built tools/mview)."""
import os
import shlex
import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def mview_path():
    path = os.environ.get("MVIEW")
    if not path:
        pytest.fail("MVIEW is not set: run these tests through `meson test` (suite cli), "
                    "or set MVIEW to the built mview binary", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail("MVIEW=%s is not an executable file" % path, pytrace=False)
    return os.path.abspath(path)


# The byte order of the machine mview runs on: the cross target's under
# scripts/cross.sh (tests/meson.build sets MVIEW_BYTEORDER), else this one's.
# Expected values for native formats are built in this order.
BYTEORDER = os.environ.get("MVIEW_BYTEORDER") or sys.byteorder
if BYTEORDER not in ("little", "big"):
    raise RuntimeError("MVIEW_BYTEORDER=%r: expected 'little' or 'big'" % BYTEORDER)
NATIVE = "<" if BYTEORDER == "little" else ">"


class Runner:
    """Runs mview; every call returns the CompletedProcess (bytes)."""

    def __init__(self, path):
        self.path = path
        # MVIEW_WRAPPER (a valgrind command line, or qemu-user for a cross
        # build: scripts/cross.sh) runs in front of mview.
        self.wrapper = shlex.split(os.environ.get("MVIEW_WRAPPER", ""))

    def argv(self, *args):
        """The command line that runs mview with args."""
        return [*self.wrapper, self.path, *map(str, args)]

    def program(self, folder):
        """A file one can exec as mview: the binary itself, or with a
        wrapper, a script in folder that runs it through the wrapper."""
        if not self.wrapper:
            return self.path
        script = os.path.join(str(folder), "mview-wrapped")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\"\n" % shlex.join(self.argv()))
        os.chmod(script, 0o755)
        return script

    def __call__(self, *args, input=None, stdout=subprocess.PIPE, cwd=None, timeout=60):
        timeout *= 20 if self.wrapper else 1
        return subprocess.run(self.argv(*args), input=input,
                              stdout=stdout, stderr=subprocess.PIPE, cwd=cwd, timeout=timeout)

    def ok(self, *args, **kw):
        """Run, expect exit 0 and an empty stderr; return stdout."""
        r = self(*args, **kw)
        assert r.returncode == 0, (args, r.returncode, r.stderr)
        assert r.stderr == b"", (args, r.stderr)
        return r.stdout

    def text(self, *args, **kw):
        return self.ok(*args, **kw).decode("ascii")

    def fails(self, status, *args, culprit=(), **kw):
        """Run, expect `status` and exactly one stderr line "mview: ..."
        that contains every string in culprit; return that line."""
        r = self(*args, **kw)
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == status, (args, r.returncode, err)
        lines = err.split("\n")
        assert len(lines) == 2 and lines[1] == "", ("not one line", args, err)
        assert lines[0].startswith("mview: "), (args, err)
        if isinstance(culprit, str):
            culprit = (culprit,)
        for c in culprit:
            assert c in lines[0], (args, c, lines[0])
        return lines[0]


@pytest.fixture(scope="session")
def mview(mview_path):
    return Runner(mview_path)
