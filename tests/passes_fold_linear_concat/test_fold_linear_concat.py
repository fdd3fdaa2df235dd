#!/usr/bin/env python3
"""The fold_linear_concat pass (src/passes/fold_linear_concat.c) against ONNX Runtime.

Each case is a small graph with a channel Concat feeding a Conv; edgeinfer runs it with every pass
(`edgeinfer run`, default optimisation level), from the ONNX file and from an engine file that
`edgeinfer build` wrote, and ONNX Runtime without graph optimisations on the same random inputs. Tolerance: max |ours - ORT| <= 1e-4 * max |ORT| (the rewrite sums the Conv's
products in another order and multiplies weight matrices ahead of time, so results differ by
rounding: relative 1e-4 is far above that and far below any wrong slice or bias). `edgeinfer info`
gives the rewrites ("concat convs folded into linear maps N") and the Concat nodes left, which must
match each case's expectation: positive cases (SegFormer's decoder at odd sizes and batch 2, heads that are
MatMul or 3x3 Conv, branches without a head, a Conv bias that has no branch to go to, more output
channels than branch channels) rewrite once and leave no Concat; negative cases (Conv with pads,
groups or strides; cubic Resize, a nonlinear op or a second reader in every branch; a rewrite
that would cost more) are left alone.

    test_fold_linear_concat.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
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

RTOL = 1e-4
RNG = np.random.default_rng(7)


class Graph(GraphBuilder):
    def __init__(self):
        super().__init__(RNG)

    def rand(self, *shape, scale=0.5):
        return self.const((RNG.standard_normal(shape) * scale).astype(np.float32))

    # Building blocks
    def segformer_branch(self, x, c, h, w, e, size, mode="linear", act=None, aux=False, n=1):
        """HF SegformerMLP + resize: [N,C,H,W] -> [N,HW,C] -> MatMul + bias -> [N,E,H,W] -> Resize."""
        t = self.op("Transpose", [self.op("Reshape", [x, self.const(np.array([0, c, -1], np.int64))])],
                    perm=[0, 2, 1])
        mm = self.op("MatMul", [t, self.rand(c, e)])
        if aux:
            self.output(mm)
        y = self.op("Add", [self.rand(e), mm])
        if act:
            y = self.op(act, [y])
        y = self.op("Reshape", [self.op("Transpose", [y], perm=[0, 2, 1]), self.const(np.array([-1, e, h, w], np.int64))])
        if (h, w) != size:
            y = self.op("Resize", [y, "", "", self.const(np.array([n, e, size[0], size[1]], np.int64))], mode=mode,
                        coordinate_transformation_mode="half_pixel")
        return y

    def mlp_nhwc(self, x, c, e, h, w, bias):
        """A [1, HW, C] tensor (no NCHW source): MatMul [+ bias] -> [1, E, HW] -> [1, E, H, W]."""
        y = self.op("MatMul", [x, self.rand(c, e)])
        if bias:
            y = self.op("Add", [y, self.rand(e)])
        return self.op("Reshape", [self.op("Transpose", [y], perm=[0, 2, 1]), self.const(np.array([1, e, h, w], np.int64))])

    def fuse(self, parts, c_total, m, act="Relu", **conv_attrs):
        cat = self.op("Concat", parts, axis=1)
        k = conv_attrs.pop("k", 1)
        group = conv_attrs.get("group", 1)
        y = self.op("Conv", [cat, self.rand(m, c_total // group, k, k, scale=0.3), self.rand(m)], **conv_attrs)
        return self.op(act, [y]) if act else y


def segformer(e=12, m=10, n=1):
    """SegFormer's decoder at odd sizes: four stages (13, 16, 24, 9 channels) at 24, 12, 6, 3."""
    g = Graph()
    stages = [(13, 24), (16, 12), (24, 6), (9, 3)]
    xs = [g.input([n, c, s, s]) for c, s in stages]
    parts = [g.segformer_branch(x, c, s, s, e, (24, 24), n=n) for x, (c, s) in zip(xs, stages)]
    y = g.fuse(parts[::-1], 4 * e, m)
    g.output(g.op("Conv", [y, g.rand(5, m, 1, 1), g.rand(5)]))
    return g


def mixed():
    """Every kind of branch, 7 output channels from 5 + 6 + 3 + 5 + 4 + 3 = 26."""
    g = Graph()
    # a MatMul whose pixels come out transposed (H and W swapped): re-weighted in place, M != C
    x0 = g.input([1, 6, 8, 8])
    b0 = g.op("MatMul", [g.op("Transpose", [x0], perm=[0, 2, 3, 1]), g.rand(6, 5)])
    b0 = g.op("Transpose", [g.op("Add", [b0, g.rand(5)])], perm=[0, 3, 2, 1])
    # a 3x3 Conv head, nearest Resize by scales
    x1 = g.input([1, 4, 4, 4])
    b1 = g.op("Conv", [x1, g.rand(6, 4, 3, 3), g.rand(6)], pads=[1, 1, 1, 1])
    b1 = g.op("Resize", [b1, "", g.const(np.array([1, 1, 2, 2], np.float32))], mode="nearest")
    # no head: a graph input resized by sizes (a new Conv before the Resize)
    x2 = g.input([1, 3, 4, 4])
    b2 = g.op("Resize", [x2, "", "", g.const(np.array([1, 3, 8, 8], np.int64))], mode="linear")
    # no head: a nonlinear op
    x3 = g.input([1, 5, 8, 8])
    b3 = g.op("Relu", [x3])
    # a MatMul on a [1, HW, C] graph input, no bias: re-weighted, its Reshape gets 7 channels
    x4 = g.input([1, 64, 3])
    b4 = g.mlp_nhwc(x4, 3, 4, 8, 8, bias=False)
    # a head whose output has a second reader (a graph output): taken as a branch without a head
    x5 = g.input([1, 2, 8, 8])
    b5 = g.op("Conv", [x5, g.rand(3, 2, 1, 1)])
    g.output(b5)
    g.output(g.fuse([b0, b1, b2, b3, b4, b5], 26, 7, act="Sigmoid"))
    return g


def final_bias():
    """Two re-weighted MatMuls without bias: the Conv's bias gets an Add of its own."""
    g = Graph()
    a = g.mlp_nhwc(g.input([1, 36, 5]), 5, 6, 6, 6, bias=False)
    b = g.mlp_nhwc(g.input([1, 36, 7]), 7, 9, 6, 6, bias=False)
    g.output(g.fuse([a, b], 15, 4, act=None))
    return g


def two_stages(s0=8, conv=None, **kw):
    """Two SegFormer branches, [1, 10, s0, s0] and [1, 12, 4, 4], 6 channels each, at 8 x 8."""
    g = Graph()
    x0, x1 = g.input([1, 10, s0, s0]), g.input([1, 12, 4, 4])
    parts = [g.segformer_branch(x0, 10, s0, s0, 6, (8, 8), **kw), g.segformer_branch(x1, 12, 4, 4, 6, (8, 8), **kw)]
    g.output(g.fuse(parts, 12, 6, **(conv or {})))
    return g


def costly():
    """MatMul 64 -> 2 at full resolution, Concat of 4 channels, Conv 4 -> 3: folding costs more."""
    g = Graph()
    a = g.mlp_nhwc(g.input([1, 64, 64]), 64, 2, 8, 8, bias=True)
    b = g.mlp_nhwc(g.input([1, 64, 48]), 48, 2, 8, 8, bias=True)
    g.output(g.fuse([a, b], 4, 3))
    return g


CASES = [
    # name, graph, rewrites, Concat nodes left
    ("segformer", segformer, 1, 0),
    ("segformer_more_out", lambda: segformer(e=12, m=20), 1, 0),
    ("segformer_less_out", lambda: segformer(e=16, m=3), 1, 0),
    ("segformer_batch2", lambda: segformer(e=12, m=20, n=2), 1, 0),
    ("mixed", mixed, 1, 0),
    ("final_bias", final_bias, 1, 0),
    ("two_stages", two_stages, 1, 0),
    ("neg_pads", lambda: two_stages(conv={"pads": [1, 1, 1, 1]}), 0, 1),
    ("neg_group", lambda: two_stages(conv={"group": 2}), 0, 1),
    ("neg_stride", lambda: two_stages(conv={"strides": [2, 2]}), 0, 1),
    ("neg_kernel", lambda: two_stages(conv={"k": 3, "pads": [1, 1, 1, 1]}), 0, 1),
    ("cubic_one_branch", lambda: two_stages(mode="cubic"), 1, 0),  # a Conv after the cubic Resize
    ("neg_cubic", lambda: two_stages(s0=4, mode="cubic"), 0, 1),
    ("neg_nonlinear", lambda: two_stages(act="Relu"), 0, 1),
    ("neg_second_reader", lambda: two_stages(aux=True), 0, 1),
    ("neg_costly", costly, 0, 1),
]


def info(cli, path):
    res = subprocess.run([cli, "info", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    if res.returncode != 0:
        return None, None, res.stdout
    m = re.search(r"concat convs folded into linear maps (\d+)", res.stdout)
    c = re.search(r"^\s+Concat\s+(\d+)\s*$", res.stdout, re.M)
    return int(m.group(1)) if m else 0, int(c.group(1)) if c else 0, res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for name, make, want_rewrites, want_concats in CASES:
        if args.only and args.only not in name:
            continue
        g = make()
        path = os.path.join(args.work, name + ".onnx")
        g.save(path)
        feeds = dict(g.inputs)
        want = ort_run(path, feeds)
        problems = []
        worst = 0.0
        # The ONNX file, and an engine file built from it (the rewritten graph saved and loaded).
        engine = os.path.join(args.work, name + ".engine")
        res = subprocess.run([args.edgeinfer, "build", path, "-o", engine], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=120)
        if res.returncode != 0:
            problems.append(f"edgeinfer build exit {res.returncode}: {res.stdout.strip()[-400:]}")
        for kind, model in (("onnx", path), ("engine", engine)):
            if kind == "engine" and res.returncode != 0:
                continue
            rc, outs, log = run_edgeinfer(args.edgeinfer, model, feeds, os.path.join(args.work, name + "_" + kind))
            if rc != 0:
                problems.append(f"edgeinfer run {kind} exit {rc}: {log.strip()[-400:]}")
                continue
            for o, w in want.items():
                got = outs.get(re.sub(r"[^A-Za-z0-9._-]", "_", o))
                if got is None or got.shape != w.shape:
                    problems.append(f"{kind} output {o}: {None if got is None else got.shape}, ORT {w.shape}")
                    continue
                rel = float(np.max(np.abs(got.astype(np.float64) - w)) / max(float(np.max(np.abs(w))), 1e-30))
                worst = max(worst, rel)
                if not rel <= RTOL:
                    problems.append(f"{kind} output {o}: max |d| / max |ORT| = {rel:.3g} > {RTOL}")
        rewrites, concats, text = info(args.edgeinfer, path)
        if rewrites is None:
            problems.append(f"edgeinfer info failed: {text.strip()[-300:]}")
        elif (rewrites, concats) != (want_rewrites, want_concats):
            problems.append(f"{rewrites} rewrite(s) and {concats} Concat node(s), expected {want_rewrites} and "
                            f"{want_concats}")
        status = "ok" if not problems else "FAIL"
        print(f"{name:22s} rewrites {rewrites}  Concat {concats}  max |d|/max|ORT| {worst:.2e}  {status}")
        for p in problems:
            print(f"    {p}")
        failures += bool(problems)
    print("PASS" if not failures else f"FAIL: {failures} case(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
