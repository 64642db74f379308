"""The README and the benchmark report speak to users: no issue numbers,
planning targets or sections of planning documents in what they print."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLANNING = re.compile(r"issue\s*#?\d+|the issue's|section \d+\)|\btargets?\b", re.I)


@pytest.mark.parametrize("path", ["README.md", "bench/report.py", "bench/results/table.md"])
def test_no_planning_words(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    hits = [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
            # "fuzz target" is libFuzzer's own word for an entry point.
            if PLANNING.search(line) and not re.search(r"fuzz(er)? targets?|per target", line, re.I)]
    assert not hits, "planning words in %s:\n%s" % (path, "\n".join(hits))
