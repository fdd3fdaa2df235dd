#!/usr/bin/env python3
"""Fast paths of our own kernels against ONNX Runtime, on the shapes the blocked layout
(src/passes/layout_blocked8.c) hands them, plus odd ones:

- MaxPool / AveragePool over [N, C/8, H, W, 8] with a window of size 1 over the last axis
  (src/ops/pool.c, lanes_planes): kernels 1 to 13, strides, pads, dilations, ceil_mode,
  count_include_pad, global windows, sizes that are not multiples of anything.
- Broadcast arithmetic whose collapsed inner rows are short and one operand repeats a row
  (src/ops/eltwise.c, run_rows): [N, C/8, H, W, 8] op [N, C/8, 1, 1, 8] (squeeze-and-excitation),
  [.., W] rows with W <= 64, more rows than one kernel call takes, a scalar third operand (Where),
  both operand orders, int64.

Tolerance: max pools and exact arithmetic must be equal; averages and divisions within 1e-6
(the fast path sums in another order).

    test_fastpaths.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import check_vs_ort  # noqa: E402

NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
           np.dtype(np.bool_): TensorProto.BOOL}


def save(path, nodes, inputs, out_name, out_dtype, opset=13):
    ins = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], list(a.shape)) for n, a in inputs]
    out = helper.make_tensor_value_info(out_name, NP2ONNX[np.dtype(out_dtype)], None)
    g = helper.make_graph(nodes, "g", ins, [out])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)


def pool_cases():
    # (name, op, shape [N, Cb, H, W, 8], kernel (kh, kw), attrs)
    return [
        ("max_spp5", "MaxPool", (1, 3, 13, 13, 8), (5, 5), dict(pads=[2, 2, 0, 2, 2, 0])),
        ("max_spp9", "MaxPool", (1, 2, 13, 13, 8), (9, 9), dict(pads=[4, 4, 0, 4, 4, 0])),
        ("max_spp13", "MaxPool", (1, 2, 13, 13, 8), (13, 13), dict(pads=[6, 6, 0, 6, 6, 0])),
        ("max_3x3_s2", "MaxPool", (2, 3, 17, 11, 8), (3, 3), dict(strides=[2, 2, 1], pads=[1, 1, 0, 1, 1, 0])),
        ("max_2x2_s2_ceil", "MaxPool", (1, 1, 9, 7, 8), (2, 2), dict(strides=[2, 2, 1], ceil_mode=1)),
        ("max_dil", "MaxPool", (1, 2, 12, 10, 8), (3, 2), dict(dilations=[2, 3, 1], pads=[2, 1, 0, 2, 1, 0])),
        ("max_1x1", "MaxPool", (1, 1, 3, 5, 8), (1, 1), {}),
        ("avg_global", "AveragePool", (1, 5, 20, 20, 8), (20, 20), {}),
        ("avg_global_odd", "AveragePool", (2, 3, 7, 1, 8), (7, 1), {}),
        ("avg_3x3_pad", "AveragePool", (1, 2, 10, 9, 8), (3, 3), dict(pads=[1, 1, 0, 1, 1, 0])),
        ("avg_3x3_pad_incl", "AveragePool", (1, 2, 10, 9, 8), (3, 3),
         dict(pads=[1, 1, 0, 1, 1, 0], count_include_pad=1)),
        ("avg_2x3_s2_ceil", "AveragePool", (1, 1, 11, 13, 8), (2, 3), dict(strides=[2, 2, 1], ceil_mode=1)),
    ]


def binary_cases(rng):
    def f(*s):
        return rng.standard_normal(s).astype(np.float32)

    # (name, op, a, b): ONNX Runtime broadcasts by numpy rules
    return [
        ("se_mul", "Mul", f(1, 7, 20, 20, 8), f(1, 7, 1, 1, 8)),
        ("se_mul_swapped", "Mul", f(1, 7, 1, 1, 8), f(1, 7, 20, 20, 8)),
        ("se_mul_batch", "Mul", f(3, 2, 5, 3, 8), f(3, 2, 1, 1, 8)),
        ("bias_add_rows", "Add", f(2, 3, 33, 17), f(17)),
        ("sub_rows_64", "Sub", f(4, 9, 64), f(1, 1, 64)),
        ("div_rows_1x1", "Div", f(1, 4, 1, 1, 8), f(1, 4, 1, 1, 8) + 3.0),
        ("div_rows", "Div", f(2, 3, 9, 11, 8), f(2, 3, 1, 1, 8) + 3.0),
        ("add_long_rows", "Add", f(2, 3, 100), f(100)),  # rows over 64: the general loop
        ("mul_int64", "Mul", rng.integers(-50, 50, (2, 6, 5, 8)).astype(np.int64),
         rng.integers(-50, 50, (2, 6, 1, 8)).astype(np.int64)),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(11)
    failures, checked = [], 0

    def compare(name, path, feeds, exact):
        nonlocal checked
        why = check_vs_ort(args.edgeinfer, path, feeds, os.path.join(args.work, name), exact=exact)
        if why:
            failures.append(f"{name}: {why}")
            return
        checked += 1

    for name, op, shape, (kh, kw), attrs in pool_cases():
        x = rng.standard_normal(shape).astype(np.float32)
        path = os.path.join(args.work, name + ".onnx")
        node = helper.make_node(op, ["x"], ["y"], kernel_shape=[kh, kw, 1], **attrs)
        save(path, [node], [("x", x)], "y", np.float32, opset=19)
        compare(name, path, {"x": x}, exact=op == "MaxPool")

    for name, op, a, b in binary_cases(rng):
        path = os.path.join(args.work, name + ".onnx")
        save(path, [helper.make_node(op, ["a", "b"], ["y"])], [("a", a), ("b", b)], "y", a.dtype)
        compare(name, path, {"a": a, "b": b}, exact=a.dtype != np.float32 or op != "Div")

    # Where with a per-channel condition over blocked rows and a scalar: three operands, one of each kind.
    cond = rng.random((1, 3, 1, 1, 8)) > 0.5
    x = rng.standard_normal((1, 3, 6, 5, 8)).astype(np.float32)
    s = np.array(-2.5, np.float32)
    path = os.path.join(args.work, "where_rows.onnx")
    save(path, [helper.make_node("Where", ["c", "x", "s"], ["y"])], [("c", cond), ("x", x), ("s", s)], "y",
         np.float32)
    compare("where_rows", path, {"c": cond, "x": x, "s": s}, exact=True)

    for f in failures:
        print("FAIL", f)
    print(f"{checked} cases equal to ONNX Runtime, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
