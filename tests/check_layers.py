#!/usr/bin/env python3
"""The library's layers call only down: core < layout < view < ops.

check_layers.py LIBMEMVIEW.a SRCDIR

Reads every object file of the static library with nm: a symbol that an
object in one layer uses must be defined in that layer or one below it
(src/<layer>/... names the layer of each object), and no files call each
other in a cycle, inside a layer or across.  Also checks that each .c
file includes only the private header of its own layer (which brings the
ones below).  Prints every violation; exit status 1 if there is one.
"""
import os
import re
import subprocess
import sys

LAYERS = ["core", "layout", "view", "ops"]


def layer_of(name):
    # meson names objects after their source path: src_view_exporters_bytes.c.o
    m = re.match(r"(?:.*/)?src_([a-z]+)_", name)
    return m.group(1) if m and m.group(1) in LAYERS else None


def cycles(uses):
    """Each cycle of the uses graph once, as a list of objects."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(uses.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(uses):
        if node not in state:
            visit(node)
    return found


def main():
    lib, src = sys.argv[1], sys.argv[2]
    out = subprocess.run(["nm", "-A", "--defined-only", lib], capture_output=True,
                         text=True, check=True).stdout
    defined, defined_obj = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-2] in "TDBRtdbrVWC" and parts[-2].isupper():
            obj = parts[0].split(":")[-2]
            defined.setdefault(parts[-1], layer_of(obj))
            defined_obj.setdefault(parts[-1], obj)
    out = subprocess.run(["nm", "-A", "--undefined-only", lib], capture_output=True,
                         text=True, check=True).stdout
    bad = []
    seen_objects = set()
    uses = {}  # object -> objects whose symbols it uses
    for line in out.splitlines():
        parts = line.split()
        obj, sym = parts[0].split(":")[-2], parts[-1]
        layer = layer_of(obj)
        seen_objects.add(obj)
        if layer is None:
            bad.append(f"{obj}: object outside src/<layer>/")
            continue
        home_obj = defined_obj.get(sym)
        if home_obj is not None and home_obj != obj:
            uses.setdefault(obj, set()).add(home_obj)
        home = defined.get(sym)
        if home is not None and LAYERS.index(home) > LAYERS.index(layer):
            bad.append(f"{obj} ({layer}) uses {sym}, defined in {home}")
    bad += [f"cycle: {' -> '.join(c)}" for c in cycles(uses)]
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src).split(os.sep)
            layer = rel[0]
            if layer not in LAYERS:
                bad.append(f"{path}: outside src/<layer>/")
                continue
            for inc in re.findall(r'^#include "([^"]+)"', open(path).read(), re.M):
                target = os.path.normpath(os.path.join(root, inc))
                trel = os.path.relpath(target, src).split(os.sep)
                if trel[0] in LAYERS and LAYERS.index(trel[0]) > LAYERS.index(layer):
                    bad.append(f"{path} ({layer}) includes {inc} ({trel[0]})")
    for b in sorted(set(bad)):
        print("check_layers:", b)
    if not seen_objects:
        print("check_layers: no objects read from", lib)
        return 1
    print(f"check_layers: {len(defined)} symbols, {len(seen_objects)} objects,",
          "no upward use, no cycle" if not bad else f"{len(set(bad))} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
