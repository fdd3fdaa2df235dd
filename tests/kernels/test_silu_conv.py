#!/usr/bin/env python3
"""Convolutions followed by SiLU (Sigmoid + Mul, YOLOX's activation) against ONNX Runtime.

With oneDNN, the SiLU fused into a convolution does not run as oneDNN 2.6's swish post-op but as our
pass over the primitive's output (src/cpu/dnnl/dnnl_prim.c, src/cpu/vmath.c), split over the
session's threads. Cases: 1x1 (blocked input through a first 1x1), depthwise 3x3, dense 3x3 stride 2,
a residual Add before the SiLU (oneDNN's sum post-op, then our pass), odd channel counts (padded
lanes), batch 2, and inputs scaled so that pre-activations reach +-100 (the saturated ends: -x
clamped in exp). Each model runs with --threads 1 and 2.

Tolerance: |edgeinfer - ORT| <= 1e-5 * S + 1e-6, S the output of the same model on |x| and |W|
without the activation (SiLU's slope is at most 1.1). With --onednn, every convolution primitive
that oneDNN's verbose log shows must have no swish post-op (the pass ran instead).

    test_silu_conv.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR [--onednn]
"""
import argparse
import os
import re
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from conv_case_model import check_bound, finish_model  # noqa: E402

TOL = 1e-5


def cases():
    # name, n, c, m, h, w, kernel, stride, group, residual, input scale
    return [
        ("pw_64_80", 1, 64, 80, 26, 26, 1, 1, 1, False, 1.0),
        ("pw_20_13_n2", 2, 20, 13, 9, 11, 1, 1, 1, False, 1.0),
        ("dw_48", 1, 48, 48, 17, 15, 3, 1, 48, False, 1.0),
        ("dw_32_s2", 1, 32, 32, 20, 20, 3, 2, 32, False, 1.0),
        ("k3_16_24_s2", 1, 16, 24, 21, 19, 3, 2, 1, False, 1.0),
        ("pw_res_32", 1, 32, 32, 13, 13, 1, 1, 1, True, 1.0),
        ("pw_saturate", 1, 24, 24, 8, 8, 1, 1, 1, False, 60.0),
    ]


def build(path, cs, absolute=False, act=("Silu", {})):
    name, n, c, m, h, w, k, s, g, res, _ = cs
    rng = np.random.default_rng(11)
    w1 = rng.standard_normal((c, c, 1, 1)).astype(np.float32) * np.float32(1 / np.sqrt(c))
    wk = rng.standard_normal((m, c // g, k, k)).astype(np.float32) * np.float32(1 / np.sqrt(k * k * c // g))
    b = rng.standard_normal(m).astype(np.float32) * np.float32(0.1)
    nodes, inits = [], []
    # A first 1x1 Conv (no activation) makes the input of the tested Conv blocked, as inside a network.
    x = "x"
    if absolute:
        nodes.append(helper.make_node("Abs", ["x"], ["xa"]))
        x = "xa"
        w1, wk, b = np.abs(w1), np.abs(wk), np.abs(b)
    inits += [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(wk, "wk"), numpy_helper.from_array(b, "b")]
    nodes.append(helper.make_node("Conv", [x, "w1"], ["t"]))
    p = k // 2
    nodes.append(helper.make_node("Conv", ["t", "wk", "b"], ["y0"], kernel_shape=[k, k], pads=[p] * 4,
                                  strides=[s, s], group=g))
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])]
    finish_model(path, nodes, inits, inputs, "y0", [n, m, oh, ow], res, act, absolute)
    return oh, ow


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--onednn", action="store_true", help="the build has oneDNN: check its verbose log too")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures, runs = [], 0
    if args.onednn:
        os.environ["ONEDNN_VERBOSE"] = "1"
    for cs in cases():
        name, n, c, m, h, w = cs[:6]
        path, path_s = os.path.join(args.work, name + ".onnx"), os.path.join(args.work, name + ".abs.onnx")
        oh, ow = build(path, cs)
        build(path_s, cs, absolute=True)
        rng = np.random.default_rng(5)
        feeds = {"x": (rng.standard_normal((n, c, h, w)) * cs[10]).astype(np.float32)}
        if cs[9]:
            feeds["r"] = rng.standard_normal((n, m, oh, ow)).astype(np.float32)
        want = ort_run(path, feeds)["y"]
        s = ort_run(path_s, {k: np.abs(v) for k, v in feeds.items()})["y"]
        if name == "pw_saturate":
            pre_path = os.path.join(args.work, name + ".pre.onnx")
            build(pre_path, cs, act=None)
            pre = ort_run(pre_path, feeds)["y"]
            if not (pre.min() < -50 and pre.max() > 50):
                failures.append(f"{name}: the pre-activations do not reach the saturated ends "
                                f"({pre.min():.1f} .. {pre.max():.1f})")
        for threads in (1, 2):
            label = f"{name} threads {threads}"
            rc, outs, log = run_edgeinfer(args.edgeinfer, path, feeds, os.path.join(args.work, f"{name}_{threads}"),
                                          extra=["--threads", str(threads)])
            if rc != 0 or "y" not in outs:
                failures.append(f"{label}: edgeinfer exit {rc}: {log.strip()[-400:]}")
                continue
            check_bound(label, outs["y"], want.astype(np.float64), s.astype(np.float64), TOL, failures)
            runs += 1
            if args.onednn:
                convs = [ln for ln in log.splitlines() if ln.startswith("onednn_verbose,exec") and ",convolution," in ln]
                if len(convs) < 2:
                    failures.append(f"{label}: oneDNN's verbose log shows {len(convs)} convolutions, expected 2")
                swish = [ln for ln in convs if re.search(r"eltwise_swish", ln)]
                if swish:
                    failures.append(f"{label}: a convolution ran with oneDNN's swish post-op: {swish[0][:200]}")
    for f in failures:
        print("FAIL:", f)
    print(f"test_silu_conv: {runs} runs,", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
