#!/usr/bin/env python3
"""QuantizeLinear and DequantizeLinear against ONNX Runtime (CPU, graph optimisations off): per
tensor and per axis, int8 and uint8 zero points, opsets 10, 13 and 19, values exactly half way
between two steps (round half to even), values far out of range (saturation), int32 inputs of
DequantizeLinear (QDQ biases). Quantised outputs must be equal; dequantised ones equal to the bit
(both compute (x - zp) * scale in float32). NaN quantises to the zero point (ours; ONNX leaves it
undefined). Bad scales and zero points are refused with a message
naming the node.

    test_qdq_ops.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

NP2ONNX = {np.float32: TensorProto.FLOAT, np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
           np.int32: TensorProto.INT32}


def make_model(op, x_dtype, y_dtype, shape, scale, zp, axis, opset, path):
    inits = [numpy_helper.from_array(np.asarray(scale, np.float32), "scale")]
    ins = ["x", "scale"]
    if zp is not None:
        inits.append(numpy_helper.from_array(zp, "zp"))
        ins.append("zp")
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node(op, ins, ["y"], name=f"{op}_under_test", **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", NP2ONNX[x_dtype], shape)],
                          [helper.make_tensor_value_info("y", NP2ONNX[y_dtype], shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)


def float_input(rng, shape, scale, zp_max):
    """Values from well inside the range, exact ties (k + 0.5) * scale, and far outside it."""
    s = np.asarray(scale, np.float32).reshape(-1)
    x = (rng.standard_normal(shape) * 100.0 * float(s.max())).astype(np.float32)
    flat = x.reshape(-1)
    n = flat.size
    k = rng.integers(-140, 140, size=n // 3)
    flat[: n // 3] = ((k + 0.5) * float(s[0])).astype(np.float32)  # ties (exact for power-of-2 scales)
    extremes = [1e9, -1e9, 300.0 * float(s.max()) + zp_max, -300.0 * float(s.max())]
    flat[-4:] = extremes  # the scalar tail of a row
    flat[n // 3: n // 3 + 4] = extremes  # the vector body
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(6)
    shape = [2, 5, 4, 8]  # rows of 32 along axis 1: vector body and scalar tail
    cases = []
    # (name, op, x dtype, y dtype, scale, zero point, axis, opset)
    for opset in (10, 13, 19):
        cases += [
            (f"q_u8_tensor_op{opset}", "QuantizeLinear", np.float32, np.uint8, np.float32(0.0625), np.uint8(128), None, opset),
            (f"q_i8_tensor_op{opset}", "QuantizeLinear", np.float32, np.int8, np.float32(0.125), np.int8(-3), None, opset),
            (f"q_nozp_op{opset}", "QuantizeLinear", np.float32, np.uint8, np.float32(0.5), None, None, opset),
            (f"dq_u8_tensor_op{opset}", "DequantizeLinear", np.uint8, np.float32, np.float32(0.037), np.uint8(121), None, opset),
            (f"dq_i8_tensor_op{opset}", "DequantizeLinear", np.int8, np.float32, np.float32(0.0173), np.int8(5), None, opset),
            (f"dq_i32_op{opset}", "DequantizeLinear", np.int32, np.float32, np.float32(0.00071), np.int32(0), None, opset),
        ]
    for opset in (13, 19):
        ch_scale = np.array([0.0625, 0.25, 0.5, 0.125, 0.03125], np.float32)
        cases += [
            (f"q_i8_axis1_op{opset}", "QuantizeLinear", np.float32, np.int8, ch_scale,
             np.array([0, -1, 2, 0, 7], np.int8), 1, opset),
            (f"q_u8_axis1_op{opset}", "QuantizeLinear", np.float32, np.uint8, ch_scale,
             np.array([128, 0, 255, 3, 17], np.uint8), 1, opset),
            (f"q_i8_axis_neg_op{opset}", "QuantizeLinear", np.float32, np.int8,
             np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], np.float32), np.zeros(8, np.int8), -1, opset),
            (f"dq_i8_axis0_op{opset}", "DequantizeLinear", np.int8, np.float32, np.array([0.011, 0.7], np.float32),
             np.array([3, -4], np.int8), 0, opset),
            (f"dq_u8_axis2_op{opset}", "DequantizeLinear", np.uint8, np.float32,
             np.array([0.011, 0.7, 0.3, 1e-3], np.float32), np.array([3, 0, 255, 128], np.uint8), 2, opset),
            (f"dq_i32_axis1_op{opset}", "DequantizeLinear", np.int32, np.float32, ch_scale * 1e-3, None, 1, opset),
        ]
    failures = []
    print(f"{'case':26s} {'out':6s} {'mismatches':>10s} {'max_abs':>10s}")
    for name, op, xdt, ydt, scale, zp, axis, opset in cases:
        path = os.path.join(args.work, name + ".onnx")
        make_model(op, xdt, ydt, shape, scale, zp, axis, opset, path)
        if xdt == np.float32:
            x = float_input(rng, shape, scale, 0 if zp is None else int(np.max(zp)))
        elif xdt == np.int32:
            x = rng.integers(-(2**20), 2**20, size=shape).astype(np.int32)
            x.reshape(-1)[:2] = [2**31 - 1, -(2**31)]
        else:
            info = np.iinfo(xdt)
            x = rng.integers(info.min, info.max + 1, size=shape).astype(xdt)
        ref = ort_run(path, {"x": x})["y"]
        rc, outs, log = run_edgeinfer(args.edgeinfer, path, {"x": x}, os.path.join(args.work, name))
        if rc != 0:
            failures.append(f"{name}: edgeinfer exit {rc}: {log.strip()[-400:]}")
            print(f"{name:26s} FAIL (exit {rc})")
            continue
        ours = outs.get("y")
        if ours is None or ours.shape != ref.shape or ours.dtype != ref.dtype:
            failures.append(f"{name}: output {None if ours is None else (ours.shape, ours.dtype)} "
                            f"vs ORT {(ref.shape, ref.dtype)}")
            continue
        if ydt == np.float32:
            bad = int(np.sum(ours.view(np.uint32) != ref.view(np.uint32)))
        else:
            bad = int(np.sum(ours != ref))
        diff = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64))))
        print(f"{name:26s} {str(ours.dtype):6s} {bad:10d} {diff:10.3e}")
        if bad:
            failures.append(f"{name}: {bad} elements differ from ONNX Runtime (max abs {diff:g})")

    # NaN quantises to the zero point (ONNX leaves it undefined: no ORT comparison), in the vector
    # body and in the scalar tail of a row.
    for dt, zp in ((np.int8, np.int8(-7)), (np.uint8, np.uint8(9))):
        name = f"q_nan_{np.dtype(dt).name}"
        path = os.path.join(args.work, name + ".onnx")
        make_model("QuantizeLinear", np.float32, dt, shape, np.float32(0.5), zp, None, 13, path)
        x = np.ones(shape, np.float32)
        x.reshape(-1)[[0, 5, 17, x.size - 1]] = np.nan
        rc, outs, log = run_edgeinfer(args.edgeinfer, path, {"x": x}, os.path.join(args.work, name))
        y = outs.get("y")
        ok = rc == 0 and y is not None and np.all(y.reshape(-1)[[0, 5, 17, x.size - 1]] == zp) and \
            np.all(np.delete(y.reshape(-1), [0, 5, 17, x.size - 1]) == int(zp) + 2)
        print(f"{name:26s} {'NaN -> zero point' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{name}: NaN does not quantise to the zero point (exit {rc})")

    # Bad input: refused when the model loads, with the node's name.
    bad_cases = [
        ("bad_zero_scale", "QuantizeLinear", np.float32, np.uint8, np.float32(0.0), np.uint8(0), None, 13,
         "not a positive finite number"),
        ("bad_negative_scale", "DequantizeLinear", np.int8, np.float32,
         np.array([0.1, -0.2, 0.3, 0.1, 0.1], np.float32), np.zeros(5, np.int8), 1, 13, "not a positive finite"),
        ("bad_nan_scale", "QuantizeLinear", np.float32, np.int8, np.float32(np.nan), np.int8(0), None, 13,
         "not a positive finite number"),
        ("bad_inf_scale", "DequantizeLinear", np.uint8, np.float32, np.float32(np.inf), np.uint8(0), None, 13,
         "not a positive finite number"),
        ("bad_zp_shape", "QuantizeLinear", np.float32, np.int8, np.array([0.1] * 5, np.float32),
         np.zeros(3, np.int8), 1, 13, "must have the same shape"),
        ("bad_zp_dtype", "DequantizeLinear", np.int8, np.float32, np.float32(0.1), np.uint8(0), None, 13,
         "it must be int8"),
        ("bad_scale_len", "QuantizeLinear", np.float32, np.int8, np.array([0.1] * 4, np.float32),
         np.zeros(4, np.int8), 1, 13, "along axis 1"),
    ]
    for name, op, xdt, ydt, scale, zp, axis, opset, expect in bad_cases:
        path = os.path.join(args.work, name + ".onnx")
        make_model(op, xdt, ydt, shape, scale, zp, axis, opset, path)
        x = np.zeros(shape, xdt)
        rc, _, log = run_edgeinfer(args.edgeinfer, path, {"x": x}, os.path.join(args.work, name))
        ok = rc == 3 and f"{op}_under_test" in log and expect in log
        print(f"{name:26s} exit {rc}: {log.strip().splitlines()[-1] if log.strip() else ''}")
        if not ok:
            failures.append(f"{name}: expected exit 3 and a message naming '{op}_under_test' with '{expect}', "
                            f"got exit {rc}: {log.strip()[-300:]}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nall {len(cases)} cases equal ONNX Runtime; {len(bad_cases)} bad models refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
