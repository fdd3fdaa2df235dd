#!/usr/bin/env python3
"""concat_from_blocked8 (src/passes/concat_from_blocked8.c): the Concat of torchvision SSD heads
(per level Conv -> Reshape [N, A, K, H, W] -> Transpose [N, H, W, A, K] -> Reshape [N, -1, K],
levels concatenated on axis 1) becomes one ei.FromBlocked8 with flat = 1 that writes every level
into its slice of the output: no Concat and no Reshape are left (`edgeinfer info`), and the
outputs equal ONNX Runtime's within 1e-4 (relative to the output's largest value; oneDNN's
convolutions sum in another order). Cases: SSDLite's 6 levels (546 and 24 channels, not
multiples of 8, maps down to 1 x 1), batch 2 with odd sizes, a negative axis; negative cases that
must keep their Concat: a Reshape output that is also a graph output, a Concat on the last axis.
Without oneDNN (no blocked layout) only the outputs are compared.

    test_head_concat.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from onnx_graph import GraphBuilder  # noqa: E402

RNG = np.random.default_rng(5)


class Graph(GraphBuilder):
    def __init__(self):
        super().__init__(RNG)

    def head(self, x, cin, anchors, k, hw, n):
        w = self.const((RNG.standard_normal((anchors * k, cin, 3, 3)) * 0.2).astype(np.float32))
        y = self.op("Conv", [x, w, self.const(RNG.standard_normal(anchors * k).astype(np.float32))], pads=[1, 1, 1, 1])
        y = self.op("Reshape", [y, self.const(np.array([n, anchors, k] + list(hw), np.int64))])
        y = self.op("Transpose", [y], perm=[0, 3, 4, 1, 2])
        return self.op("Reshape", [y, self.const(np.array([n, -1, k], np.int64))])

    def save(self, path):
        return super().save(path, opset=13)


def ssd_levels(path, n, sizes, cin, anchors, ks, axis=1):
    g = Graph()
    xs = [g.input((n, cin) + hw) for hw in sizes]
    for k in ks:
        g.outputs.append(g.op("Concat", [g.head(x, cin, anchors, k, hw, n) for x, hw in zip(xs, sizes)], axis=axis))
    return g.save(path)


def shared_reshape(path):
    """Level 0's flattened head is also a graph output: its Reshape must stay, so the Concat too."""
    g = Graph()
    sizes = [(4, 5), (2, 3)]
    xs = [g.input((1, 16) + hw) for hw in sizes]
    rows = [g.head(x, 16, 3, 7, hw, 1) for x, hw in zip(xs, sizes)]
    g.outputs += [g.op("Concat", rows, axis=1), rows[0]]
    return g.save(path)


def last_axis(path):
    """Same rows, different value counts, concatenated on the last axis: not an image-major layout."""
    g = Graph()
    x = g.input((1, 16, 4, 5))
    g.outputs.append(g.op("Concat", [g.head(x, 16, 3, 7, (4, 5), 1), g.head(x, 16, 3, 2, (4, 5), 1)], axis=2))
    return g.save(path)


CASES = [  # name, builder, (Concat, Reshape, ei.FromBlocked8) expected with the blocked layout
    ("ssdlite_levels", lambda p: ssd_levels(p, 1, [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)], 16, 6,
                                            [91, 4]), (0, 0, 2)),
    ("batch2_odd", lambda p: ssd_levels(p, 2, [(7, 9), (1, 1), (11, 3)], 8, 3, [5]), (0, 0, 1)),
    ("negative_axis", lambda p: ssd_levels(p, 1, [(3, 4), (2, 2)], 8, 2, [9], axis=-2), (0, 0, 1)),
    ("shared_reshape", shared_reshape, (1, 4, 2)),
    ("last_axis", last_axis, (1, 4, 2)),
]


def op_counts(cli, path):
    res = subprocess.run([cli, "info", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    counts = dict(re.findall(r"^\s+(\S+)\s+(\d+)\s*$", res.stdout, re.M))
    return res.returncode, {k: int(v) for k, v in counts.items()}, res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = []
    for name, make, (want_cat, want_reshape, want_from) in CASES:
        path = os.path.join(args.work, name + ".onnx")
        feeds = make(path)
        rc, counts, text = op_counts(args.edgeinfer, path)
        if rc != 0:
            failures.append(f"{name}: edgeinfer info exit {rc}: {text[-300:]}")
            continue
        blocked = counts.get("ei.ConvBlocked8", 0) > 0
        got = (counts.get("Concat", 0), counts.get("Reshape", 0), counts.get("ei.FromBlocked8", 0))
        if blocked and got != (want_cat, want_reshape, want_from):
            failures.append(f"{name}: Concat, Reshape, ei.FromBlocked8 = {got}, expected "
                            f"{(want_cat, want_reshape, want_from)}")
        want = ort_run(path, feeds)
        rc, outs, log = run_edgeinfer(args.edgeinfer, path, feeds, os.path.join(args.work, name))
        if rc != 0:
            failures.append(f"{name}: edgeinfer run exit {rc}: {log.strip()[-300:]}")
            continue
        worst = 0.0
        for o, w in want.items():
            gv = outs.get(re.sub(r"[^A-Za-z0-9._-]", "_", o))
            if gv is None or gv.shape != w.shape:
                failures.append(f"{name}: output {o} shape {None if gv is None else gv.shape}, ORT {w.shape}")
                continue
            worst = max(worst, float(np.abs(gv - w).max() / max(np.abs(w).max(), 1e-30)))
        if worst > 1e-4:
            failures.append(f"{name}: max |d| / max |ORT| = {worst:.3g} over 1e-4")
        print(f"{name:16s} Concat/Reshape/FromBlocked8 {got}{'' if blocked else ' (no blocked layout)'}  "
              f"max |d|/max|ORT| {worst:.2e}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(CASES)} cases, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
