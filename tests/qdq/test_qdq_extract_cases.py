#!/usr/bin/env python3
"""The QDQ extraction (src/quant/qdq.h) on hand-made graphs, one rule each: what it removes, what it
keeps, the table entry (name, scale, signed/unsigned), and that the model still runs like ONNX
Runtime's run of it (float semantics, exact up to float32 rounding: these pairs sit on tensors that
no convolution sums differently), and that the float graph the extraction leaves is within cosine
0.999 of that run (the difference is the removed quantisation noise).

    test_qdq_extract_cases.py --edgeinfer CLI --extract-tool TOOL --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

RNG = np.random.default_rng(3)
W = numpy_helper.from_array((RNG.standard_normal((4, 3, 3, 3)) * 0.2).astype(np.float32), "w")


def c(name, v, dt):
    return numpy_helper.from_array(np.asarray(v, dt), name)


def model(nodes, inits, out="y", out_shape=(1, 4, 8, 8)):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_shape))], [W] + inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def conv(inp, out="y", name="conv"):
    return helper.make_node("Conv", [inp, "w"], [out], name=name, pads=[1, 1, 1, 1])


def q(inp, out, s, z=None, name=None, **kw):
    return helper.make_node("QuantizeLinear", [inp, s] + ([z] if z else []), [out], name=name or out, **kw)


def dq(inp, out, s, z=None, name=None, **kw):
    return helper.make_node("DequantizeLinear", [inp, s] + ([z] if z else []), [out], name=name or out, **kw)


# name, model, expected stats {pairs, tensors, asymmetric, kept}, expected table {name: (scale, unsigned)}
CASES = [
    ("symmetric_int8",
     model([q("x", "xq", "s", "z"), dq("xq", "xd", "s", "z"), conv("xd")],
           [c("s", 0.05, np.float32), c("z", 0, np.int8)]),
     dict(pairs=1, tensors=1, asymmetric=0, kept=0), {"x": (0.05, False)}),
    ("uint8_zero_point_omitted_on_q",  # Q without zero point = uint8 0; never negative -> Clip(0, 255 s)
     model([q("x", "xq", "s"), dq("xq", "xd", "s", "zu"), conv("xd")],
           [c("s", 0.01, np.float32), c("zu", 0, np.uint8)]),
     dict(pairs=1, tensors=1, asymmetric=0, kept=0), {"xd": (255 * 0.01 / 127, True)}),
    ("asymmetric_int8",  # range [(-128-10) s, (127-10) s]: threshold 138 s
     model([q("x", "xq", "s", "z"), dq("xq", "xd", "s", "z"), conv("xd")],
           [c("s", 0.05, np.float32), c("z", 10, np.int8)]),
     dict(pairs=1, tensors=1, asymmetric=1, kept=0), {"x": (138 * 0.05 / 127, False)}),
    ("asymmetric_uint8",  # range [-128 s, 127 s] with zero point 128: threshold 128 s
     model([q("x", "xq", "s", "z"), dq("xq", "xd", "s", "z"), conv("xd")],
           [c("s", 0.02, np.float32), c("z", 128, np.uint8)]),
     dict(pairs=1, tensors=1, asymmetric=1, kept=0), {"x": (128 * 0.02 / 127, False)}),
    ("shared_quantize_two_dequantize",  # one Q read by two DQs: both removed, one entry
     model([q("x", "xq", "s", "z"), dq("xq", "xd1", "s", "z"), dq("xq", "xd2", "s", "z"),
            conv("xd1", "c1", "conv1"), conv("xd2", "c2", "conv2"), helper.make_node("Add", ["c1", "c2"], ["y"])],
           [c("s", 0.05, np.float32), c("z", 0, np.int8)]),
     dict(pairs=2, tensors=1, asymmetric=0, kept=0), {"x": (0.05, False)}),
    ("per_axis_activation_kept",
     model([q("x", "xq", "s", "z", axis=1), dq("xq", "xd", "s", "z", axis=1), conv("xd")],
           [c("s", [0.05, 0.1, 0.2], np.float32), c("z", [0, 0, 0], np.int8)]),
     dict(pairs=0, tensors=0, asymmetric=0, kept=2), {}),
    ("different_scales_kept",
     model([q("x", "xq", "s", "z"), dq("xq", "xd", "s2", "z"), conv("xd")],
           [c("s", 0.05, np.float32), c("s2", 0.1, np.float32), c("z", 0, np.int8)]),
     dict(pairs=0, tensors=0, asymmetric=0, kept=2), {}),
    ("pair_before_graph_output",  # the output keeps its name; the entry is under it
     model([conv("x", "c"), q("c", "cq", "s", "z"), dq("cq", "y", "s", "z")],
           [c("s", 0.05, np.float32), c("z", 0, np.int8)]),
     dict(pairs=1, tensors=1, asymmetric=0, kept=0), {"y": (0.05, False)}),
]


def read_table(path):
    t = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or "\t" not in line:
                continue
            name, scale, kind = line.rstrip("\n").split("\t")
            t[name] = (float(scale), kind == "unsigned")
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--extract-tool", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = []
    x = RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)
    for name, m, want_stats, want_table in CASES:
        path = os.path.join(args.work, name + ".onnx")
        onnx.checker.check_model(m)
        onnx.save(m, path)
        tpath, epath = os.path.join(args.work, name + ".table"), os.path.join(args.work, name + ".engine")
        res = subprocess.run([args.extract_tool, path, tpath, epath], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        errs = []
        if res.returncode != 0:
            errs.append(f"extract tool exit {res.returncode}: {res.stdout[-300:]}")
        else:
            words = res.stdout.split()
            stats = {k: int(v) for k, v in zip(words[0:10:2], words[1:10:2])}
            for k, v in want_stats.items():
                if stats.get(k) != v:
                    errs.append(f"{k} {stats.get(k)}, expected {v}")
            got = {k: v for k, v in read_table(tpath).items() if not k.endswith(".b8")}
            if set(got) != set(want_table):
                errs.append(f"table names {sorted(got)}, expected {sorted(want_table)}")
            for k, (s, u) in want_table.items():
                if k in got and (abs(got[k][0] - s) > 1e-6 * s or got[k][1] != u):
                    errs.append(f"{k}: {got[k]}, expected ({s:.9g}, {u})")
        ref = ort_run(path, {"x": x})
        rc, ours, log = run_edgeinfer(args.edgeinfer, path, {"x": x}, os.path.join(args.work, name))
        out = list(ref)[0]
        if rc != 0 or out not in ours:
            errs.append(f"edgeinfer run exit {rc}: {log[-300:]}")
        else:
            diff = float(np.max(np.abs(ours[out] - ref[out])))
            if diff > 1e-4 * max(float(np.max(np.abs(ref[out]))), 1e-6):
                errs.append(f"run differs from ORT by {diff:g}")
        # the float graph left by the extraction: the QDQ run up to the quantisation noise
        rc, flo, log = run_edgeinfer(args.edgeinfer, epath, {"x": x}, os.path.join(args.work, name + "_float"))
        if rc != 0 or out not in flo:
            errs.append(f"run of the extracted float graph: exit {rc}: {log[-300:]}")
        else:
            a, b = flo[out].ravel().astype(np.float64), ref[out].ravel().astype(np.float64)
            cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
            if cos < 0.999:
                errs.append(f"extracted float graph vs ORT's QDQ run: cosine {cos}")
        print(f"{name:34s} {res.stdout.splitlines()[0] if res.stdout else ''}  {'ok' if not errs else 'FAIL'}")
        failures += [f"{name}: {e}" for e in errs]
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nall {len(CASES)} extraction cases as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
