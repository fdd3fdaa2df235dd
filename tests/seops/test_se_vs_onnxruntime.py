#!/usr/bin/env python3
"""Squeeze-and-excitation operators against ONNX Runtime (src/ops/blocked8_kernels.c):

- the shapes the blocked layout hands the kernels directly: Mul of [N, C/8, H, W, 8] by
  [N, C/8, 1, 1, 8] in both operand orders, and AveragePool / MaxPool with the window
  [H, W, 1] (the layout pass's global pools), on 1 pixel, 1 block, batch 2, odd and large maps;
  shapes next to them that must keep the general paths (a per-channel operand of batch 1 over
  batch 2, a window that misses a row, pads);
- whole SE blocks as torchvision writes them (Conv, GlobalAveragePool, Conv, Relu, Conv,
  HardSigmoid, Mul(scale, x), Conv), with channel counts that are not multiples of 8 (20, 37),
  1 x 1, 3 x 5 and 40 x 40 maps, batch 1 and 2, where the layout pass makes them blocked.

Tolerance: Mul and max pools equal to ONNX Runtime; averages within 1e-6 (rtol and atol: the sum
runs in another order); whole blocks within 1e-4 (oneDNN's convolutions).

    test_se_vs_onnxruntime.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import check_vs_ort  # noqa: E402


def save(path, nodes, inputs, inits=(), opset=13):
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in inputs]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", ins, [out], initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)


def mul_cases(rng):
    def f(*s):
        return rng.standard_normal(s).astype(np.float32)

    return [  # (name, a, b)
        ("mul_scale_x", f(1, 9, 40, 40, 8), f(1, 9, 1, 1, 8)),
        ("mul_x_scale", f(1, 9, 1, 1, 8), f(1, 9, 40, 40, 8)),
        ("mul_one_pixel", f(1, 5, 1, 1, 8), f(1, 5, 1, 1, 8)),
        ("mul_one_block", f(1, 1, 3, 5, 8), f(1, 1, 1, 1, 8)),
        ("mul_batch2", f(2, 3, 7, 9, 8), f(2, 3, 1, 1, 8)),
        ("mul_large", f(1, 4, 96, 97, 8), f(1, 4, 1, 1, 8)),
        ("mul_scale_batch1_over_2", f(2, 3, 4, 5, 8), f(1, 3, 1, 1, 8)),  # general path
        ("mul_lanes_4", f(1, 3, 4, 5, 4), f(1, 3, 1, 1, 4)),  # general path
    ]


def pool_cases():
    return [  # (name, op, shape, kernel, attrs)
        ("avg_global_40", "AveragePool", (1, 9, 40, 40, 8), (40, 40), {}),
        ("avg_global_1x1", "AveragePool", (1, 84, 1, 1, 8), (1, 1), {}),
        ("avg_global_batch2", "AveragePool", (2, 3, 5, 7, 8), (5, 7), {}),
        ("avg_global_strided", "AveragePool", (1, 2, 6, 6, 8), (6, 6), dict(strides=[3, 2, 1])),
        ("avg_global_large", "AveragePool", (1, 2, 64, 65, 8), (64, 65), {}),
        ("max_global_20", "MaxPool", (1, 60, 20, 20, 8), (20, 20), {}),
        ("max_global_3x1", "MaxPool", (2, 1, 3, 1, 8), (3, 1), {}),
        ("avg_not_global", "AveragePool", (1, 2, 6, 6, 8), (5, 6), {}),  # general path
        ("avg_global_pads", "AveragePool", (1, 2, 6, 6, 8), (6, 6), dict(pads=[1, 0, 0, 0, 0, 0])),  # general
    ]


def se_block(path, rng, c, hidden, h, w, n):
    """x -> Conv 3x3 (c) -> GAP -> Conv 1x1 (hidden) -> Relu -> Conv 1x1 (c) -> HardSigmoid -> Mul(scale, a)
    -> Conv 1x1 (c + 3)."""
    def wgt(*s):
        return (rng.standard_normal(s) * 0.3).astype(np.float32)

    inits = [("w0", wgt(c, 3, 3, 3)), ("b0", wgt(c)), ("w1", wgt(hidden, c, 1, 1)), ("b1", wgt(hidden)),
             ("w2", wgt(c, hidden, 1, 1)), ("b2", wgt(c)), ("w3", wgt(c + 3, c, 1, 1)), ("b3", wgt(c + 3))]
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Conv", ["g", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Conv", ["hr", "w2", "b2"], ["s0"]),
        helper.make_node("HardSigmoid", ["s0"], ["s"], alpha=1.0 / 6, beta=0.5),
        helper.make_node("Mul", ["s", "a"], ["m"]),
        helper.make_node("Conv", ["m", "w3", "b3"], ["y"]),
    ]
    x = rng.standard_normal((n, 3, h, w)).astype(np.float32)
    save(path, nodes, [("x", x)], inits)
    return {"x": x}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(23)
    failures, checked = [], 0

    def compare(name, path, feeds, rtol, atol):
        nonlocal checked
        why = check_vs_ort(args.edgeinfer, path, feeds, os.path.join(args.work, name), exact=rtol == 0, rtol=rtol,
                           atol=atol)
        if why:
            failures.append(f"{name}: {why}")
            return
        checked += 1

    for name, a, b in mul_cases(rng):
        path = os.path.join(args.work, name + ".onnx")
        save(path, [helper.make_node("Mul", ["a", "b"], ["y"])], [("a", a), ("b", b)])
        compare(name, path, {"a": a, "b": b}, 0, 0)

    for name, op, shape, (kh, kw), attrs in pool_cases():
        x = rng.standard_normal(shape).astype(np.float32)
        path = os.path.join(args.work, name + ".onnx")
        save(path, [helper.make_node(op, ["x"], ["y"], kernel_shape=[kh, kw, 1], **attrs)], [("x", x)], opset=19)
        exact = op == "MaxPool"
        compare(name, path, {"x": x}, 0 if exact else 1e-6, 0 if exact else 1e-6)

    for c, hidden, h, w, n in [(20, 8, 3, 5, 1), (37, 16, 1, 1, 1), (72, 24, 40, 40, 1), (8, 8, 6, 4, 2),
                               (20, 8, 17, 9, 2)]:
        name = f"se_block_c{c}_{h}x{w}_n{n}"
        path = os.path.join(args.work, name + ".onnx")
        feeds = se_block(path, rng, c, hidden, h, w, n)
        compare(name, path, feeds, 1e-4, 1e-4)

    for f in failures:
        print("FAIL", f)
    print(f"{checked} cases equal to ONNX Runtime within tolerance, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
