#!/usr/bin/env python3
"""Blocked 1x1 convolutions through our pointwise kernel (src/cpu/pw1x1.h) and through oneDNN
against ONNX Runtime, through `edgeinfer run`: a 3x3 Conv first, so the
1x1 reads the blocked layout, then the 1x1 with its bias, folded BatchNormalization, activation
(Relu, Clip, HardSwish, Sigmoid) or residual Add (+ Relu). Odd channel counts (67 -> 75), one
pixel, 3x5, two images, the 1024 -> 1024 at 10x10 of SSD-MobileNet-v1, and sizes EI_PW1X1=1
declines (a large image, few channels). Each case runs three times: EI_PW1X1=0 (oneDNN, the
default), EI_PW1X1=1 (ours for weight-heavy layers: the 1024 -> 1024 case) and EI_PW1X1=all (ours
for every blocked 1x1); all must match ONNX Runtime within 1e-4 * (1 + max |y|) (float32 sums of up
to 1024 products in another order).

    test_pwconv.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402


def conv_model(path, rng, n, c0, ic, oc, h, w, act=None, bn=False, residual=False):
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32), name))
        return name

    def f(*s, scale=1.0):
        return rng.standard_normal(s).astype(np.float32) * scale

    nodes.append(helper.make_node("Conv", ["x", const("w0", f(ic, c0, 3, 3, scale=0.3)), const("b0", f(ic))],
                                  ["c0"], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c0"], ["a0"]))
    nodes.append(helper.make_node("Conv", ["a0", const("w1", f(oc, ic, 1, 1, scale=1 / np.sqrt(ic))),
                                           const("b1", f(oc, scale=0.1))], ["c1"]))
    cur = "c1"
    if bn:
        nodes.append(helper.make_node("BatchNormalization",
                                      [cur, const("g", 1 + f(oc, scale=0.1)), const("be", f(oc, scale=0.1)),
                                       const("m", f(oc, scale=0.1)), const("v", 1 + np.abs(f(oc, scale=0.1)))],
                                      ["bn"]))
        cur = "bn"
    if residual:
        nodes.append(helper.make_node("Conv", ["x", const("wr", f(oc, c0, 3, 3, scale=0.3))], ["r"],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Add", [cur, "r"], ["sum"]))
        cur = "sum"
    if act == "Clip":
        nodes.append(helper.make_node("Clip", [cur, const("lo", 0.0), const("hi", 6.0)], ["y"]))
    elif act:
        nodes.append(helper.make_node(act, [cur], ["y"]))
    else:
        nodes.append(helper.make_node("Identity", [cur], ["y"]))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c0, h, w])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.save(m, path)


CASES = [
    # name, N, C0, IC, OC, H, W, act, bn, residual
    ("odd_2x67to75_3x5_relu", 2, 5, 67, 75, 3, 5, "Relu", False, False),
    ("one_pixel_64to64", 1, 3, 64, 64, 1, 1, None, False, False),
    ("mnv1_1024to1024_10x10", 1, 3, 1024, 1024, 10, 10, "Relu", True, False),
    ("relu6_96to200_20x20", 1, 4, 96, 200, 20, 20, "Clip", True, False),
    ("residual_80to72_7x11", 1, 6, 80, 72, 7, 11, "Relu", False, True),
    ("residual_noact_2x72to72_4x4", 2, 3, 72, 72, 4, 4, None, True, True),
    ("hswish_160to960_5x5", 1, 3, 160, 960, 5, 5, "HardSwish", True, False),
    ("sigmoid_65to129_6x6", 1, 3, 65, 129, 6, 6, "Sigmoid", False, False),
    ("declined_large_64to96_38x38", 1, 3, 64, 96, 38, 38, "Relu", False, False),
    ("declined_narrow_24to200_9x9", 1, 3, 24, 200, 9, 9, "Relu", False, False),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(7)
    failures, checked = [], 0
    for name, n, c0, ic, oc, h, w, act, bn, res in CASES:
        path = os.path.join(args.work, name + ".onnx")
        conv_model(path, rng, n, c0, ic, oc, h, w, act, bn, res)
        x = rng.standard_normal((n, c0, h, w)).astype(np.float32)
        want = ort_run(path, {"x": x})["y"]
        for env in ("0", "1", "all"):
            label = f"{name} (EI_PW1X1={env})"
            os.environ["EI_PW1X1"] = env
            rc, outs, log = run_edgeinfer(args.edgeinfer, path, {"x": x}, os.path.join(args.work, name))
            if rc != 0 or "y" not in outs:
                failures.append(f"{label}: edgeinfer exit {rc}: {log.strip()[-400:]}")
                continue
            got = outs["y"]
            tol = 1e-4 * (1 + float(np.abs(want).max()))
            if got.shape != want.shape:
                failures.append(f"{label}: shape {got.shape}, ONNX Runtime {want.shape}")
            elif not np.all(np.abs(got - want) <= tol):
                failures.append(f"{label}: max |d| {np.abs(got - want).max():.3g} over {tol:.3g}")
            checked += 1
    os.environ.pop("EI_PW1X1", None)
    for f in failures:
        print("FAIL", f)
    print(f"{checked} runs within tolerance of ONNX Runtime, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
