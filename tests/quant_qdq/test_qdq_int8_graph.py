#!/usr/bin/env python3
"""QDQ models made by onnxruntime.quantization.quantize_static run as int8 engines without float
leftovers on the convolution path (docs/precision.md, "QDQ models: the int8 graph").

A small YOLOX-like network (a space-to-depth stem of Slices and a Concat on a 0..255 image, Conv +
SiLU written as x * Sigmoid(x), a residual Add, a depthwise Conv, a box head and a Sigmoid score
head; odd channel counts 13 / 21 / 5 and odd sizes) is quantised twice with the same random
calibration images: uint8 asymmetric activations (ORT's default: every Sigmoid output and the image
get a uint8 pair with zero point 0) and int8 symmetric activations. For each QDQ model:

  1. `edgeinfer build QDQ.onnx` says "QDQ model:" and puts every convolution in int8;
  2. the engine's optimised graph (`edgeinfer info`) has no QuantizeLinear, no DequantizeLinear
     left to run (all of them weights, computed at load), no Clip, Sigmoid or Mul, no Slice or
     Concat: each SiLU is fused into its int8 convolution, the Clips standing for the image's and
     the Sigmoids' uint8 pairs are gone (a Sigmoid never writes a negative value; the stem's Clips
     move to the image, where the int8 convolution's own uint8 quantisation clamps to the same
     range), and the stem is folded into the first convolution;
  3. its outputs match ONNX Runtime running the same QDQ model (its int8 kernels, ORT_ENABLE_ALL,
     and the pairs as float operators, optimisations off) within cosine INT8_COSINE (0.99, the
     int8 tolerance of tests/qdq/test_qdq_model.py) on an input that was not a calibration image.

x * HardSigmoid(x) (HardSwish as exported, least value -0.375) before a uint8 pair with zero
point 0 and a float reader besides the int8 Conv: no Clip for scale 0.8 (the clamp would move no
value by more than half a step), a Clip for scale 0.5; the float reader's output within half a
step of ORT's run in both.

And the rule's other side: a uint8 pair with zero point 0 on a Conv output (of either sign; it
stands for the Relu the quantiser removed) keeps its clamp: a Clip that the activation fusion
folds into the Conv, so that no Clip or Relu node is left, with the next Conv in float
(--keep-fp32 conv2) and in int8; both within the same tolerance of ORT's QDQ run (without the
clamp conv2 would read the negative values: cosine 0.77 on such an input).

    test_qdq_int8_graph.py --edgeinfer CLI --work DIR
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer, sanitize  # noqa: E402

INT8_COSINE = 0.99
H, W = 38, 30  # the stem halves them: 19 x 15


def silu_net(rng):
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def conv(x, cin, cout, k, name, stride=1, group=1, act=True):
        w = rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * (1.0 / np.sqrt(cin // group * k * k))
        b = rng.standard_normal(cout).astype(np.float32) * 0.1
        nodes.append(helper.make_node("Conv", [x, const(name + "_w", w), const(name + "_b", b)], [name + "_y"],
                                      name=name, kernel_shape=[k, k], strides=[stride, stride], group=group,
                                      pads=[k // 2] * 4))
        if not act:
            return name + "_y"
        nodes.append(helper.make_node("Sigmoid", [name + "_y"], [name + "_s"], name=name + "_sigmoid"))
        nodes.append(helper.make_node("Mul", [name + "_y", name + "_s"], [name + "_a"], name=name + "_mul"))
        return name + "_a"

    # the space-to-depth stem of YOLOX: x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], ... concatenated
    parts = []
    for i, (h0, w0) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        st = const(f"st{i}", np.array([h0, w0], np.int64))
        nodes.append(helper.make_node("Slice", ["x", st, const(f"en{i}", np.array([H, W], np.int64)),
                                                const(f"ax{i}", np.array([2, 3], np.int64)),
                                                const(f"sp{i}", np.array([2, 2], np.int64))], [f"slice{i}"],
                                      name=f"slice{i}"))
        parts.append(f"slice{i}")
    nodes.append(helper.make_node("Concat", parts, ["stem"], name="stem_concat", axis=1))
    a1 = conv("stem", 12, 13, 3, "c1")
    a2 = conv(a1, 13, 21, 3, "c2", stride=2)
    a3 = conv(a2, 21, 21, 1, "c3")
    nodes.append(helper.make_node("Add", [a2, a3], ["res"], name="res_add"))
    a4 = conv("res", 21, 21, 3, "c4", group=21)
    box = conv(a4, 21, 8, 1, "c5", act=False)
    score = conv(a4, 21, 5, 1, "c6", act=False)
    nodes.append(helper.make_node("Identity", [box], ["box"], name="box_out"))
    nodes.append(helper.make_node("Sigmoid", [score], ["score"], name="score_sigmoid"))
    oh, ow = (H // 2 + 1) // 2, (W // 2 + 1) // 2
    g = helper.make_graph(nodes, "silu_net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
                          [helper.make_tensor_value_info("box", TensorProto.FLOAT, [1, 8, oh, ow]),
                           helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 5, oh, ow])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, 6


def relu_net(rng):
    """Conv -> Relu -> Conv: quantize_static drops the Relu before the uint8 pair (zero point 0)."""
    w1 = rng.standard_normal((11, 3, 3, 3)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((7, 11, 3, 3)).astype(np.float32) * 0.1
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1] * 4),
         helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "w2"], ["y"], name="conv2", pads=[1] * 4)],
        "relu_net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 17, 23])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7, 17, 23])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def hswish_pair(scale):
    """Conv -> x * HardSigmoid(x) (HardSwish as torch exports it, least value -0.375) -> uint8 pair
    with zero point 0 and the given scale -> a Conv (output y) and an Add (output z, a float
    reader). The pair's clamp at 0 moves values by up to 0.375: within half a step for scale 0.8
    (no Clip), more for scale 0.5 (the Clip stays for the Add)."""
    w1 = (RNG.standard_normal((6, 3, 3, 3)) * 0.5).astype(np.float32)
    w2 = (RNG.standard_normal((5, 6, 1, 1)) * 0.3).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1] * 4),
         helper.make_node("HardSigmoid", ["c1"], ["hs"], name="hsig", alpha=1.0 / 6.0, beta=0.5),
         helper.make_node("Mul", ["c1", "hs"], ["a"], name="hswish"),
         helper.make_node("QuantizeLinear", ["a", "s", "zp"], ["aq"], name="a_q"),
         helper.make_node("DequantizeLinear", ["aq", "s", "zp"], ["ad"], name="a_dq"),
         helper.make_node("Conv", ["ad", "w2"], ["y"], name="conv2"),
         helper.make_node("Add", ["ad", "one"], ["z"], name="add")],
        "hswish_pair", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 11])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 9, 11]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 6, 9, 11])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
         numpy_helper.from_array(np.array(scale, np.float32), "s"),
         numpy_helper.from_array(np.array(0, np.uint8), "zp"),
         numpy_helper.from_array(np.array(1.0, np.float32), "one")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


RNG = np.random.default_rng(11)


def quantize(src, dst, calib, symmetric):
    import logging

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": c} for c in calib])

        def get_next(self):
            return next(self.it, None)

    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    extra_options={"ActivationSymmetric": True} if symmetric else {})


def operators(cli, engine):
    """{operator: count} and the number of nodes computed at load time, from `edgeinfer info`."""
    res = subprocess.run([cli, "info", engine], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ops, folded, in_ops = {}, 0, False
    for line in res.stdout.splitlines():
        m = re.search(r"\((\d+) computed at load time\)", line)
        if line.startswith("nodes:") and m:
            folded = int(m.group(1))
        if line.startswith("operators:"):
            in_ops = True
            continue
        if in_ops:
            m = re.match(r"\s+(\S+)\s+(\d+)$", line)
            if not m:
                break
            ops[m.group(1)] = int(m.group(2))
    return res.returncode, ops, folded, res.stdout


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def build(cli, model, engine, extra=()):
    res = subprocess.run([cli, "build", model, "-o", engine, *extra], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return res.returncode, res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = []

    def check(cond, msg):
        if not cond:
            failures.append(msg)
            print("  FAIL: " + msg)

    rng = np.random.default_rng(7)
    fp32, n_convs = silu_net(rng)
    src = os.path.join(args.work, "silu_net.onnx")
    onnx.save(fp32, src)
    calib = [rng.integers(0, 256, (1, 3, H, W)).astype(np.float32) for _ in range(8)]
    x = rng.integers(0, 256, (1, 3, H, W)).astype(np.float32)
    for name, symmetric in (("silu_u8", False), ("silu_s8", True)):
        qdq = os.path.join(args.work, name + ".onnx")
        quantize(src, qdq, calib, symmetric)
        engine = os.path.join(args.work, name + ".engine")
        rc, log = build(args.edgeinfer, qdq, engine)
        report = " | ".join(log.strip().splitlines())
        print(f"{name}: build: {report}")
        m = re.search(r"(\d+) convolutions in int8", log)
        check(rc == 0 and "QDQ model:" in log, f"{name}: build exit {rc}: {log[-300:]}")
        if rc != 0:
            continue
        check(m is not None and int(m.group(1)) == n_convs,
              f"{name}: {m.group(1) if m else 0} convolutions in int8, expected {n_convs}")
        rc, ops, folded, text = operators(args.edgeinfer, engine)
        print(f"  operators: {ops} ({folded} computed at load time)")
        check(rc == 0, f"{name}: info exit {rc}: {text[-300:]}")
        check(ops.get("ei.ConvInt8", 0) == n_convs, f"{name}: {ops.get('ei.ConvInt8', 0)} ei.ConvInt8")
        check(ops.get("Conv", 0) == 0 and ops.get("ei.ConvBlocked8", 0) == 0, f"{name}: float convolutions left")
        check("QuantizeLinear" not in ops, f"{name}: {ops.get('QuantizeLinear')} QuantizeLinear left")
        check(ops.get("DequantizeLinear", 0) == folded,
              f"{name}: {ops.get('DequantizeLinear', 0)} DequantizeLinear, {folded} of them computed at load")
        # the stem's Slices and Concat folded into the first convolution (uint8: once its Clips
        # moved to the image)
        check("Slice" not in ops and "Concat" not in ops, f"{name}: the space-to-depth stem was not folded: {ops}")
        for op in ("Clip", "Sigmoid", "Mul"):
            # the score head's Sigmoid is fused into its convolution too
            check(op not in ops, f"{name}: {ops.get(op)} {op} left")
        rc, ours, log = run_edgeinfer(args.edgeinfer, engine, {"x": x}, os.path.join(args.work, name + "_run"))
        check(rc == 0, f"{name}: run exit {rc}: {log[-300:]}")
        for optimized in (True, False):
            ref = ort_run(qdq, {"x": x}, optimized=optimized)
            for o, r in ref.items():
                got = ours.get(sanitize(o))
                cos = cosine(got, r) if got is not None and got.shape == r.shape else 0.0
                print(f"  vs ORT ({'int8 kernels' if optimized else 'float pairs '}) {o:6s} cosine {cos:.6f} "
                      f"max_abs {float(np.max(np.abs(got - r))) if got is not None else float('nan'):.4g}")
                check(cos >= INT8_COSINE, f"{name}: {o}: cosine {cos} with ORT's QDQ run (optimized={optimized})")

    # a uint8 pair with zero point 0 on a Conv output before a float Conv stays a Clip
    relu_src = os.path.join(args.work, "relu_net.onnx")
    onnx.save(relu_net(rng), relu_src)
    rcalib = [rng.standard_normal((1, 3, 17, 23)).astype(np.float32) for _ in range(4)]
    quantize(relu_src, os.path.join(args.work, "relu_u8.onnx"), rcalib, False)
    xr = rng.standard_normal((1, 3, 17, 23)).astype(np.float32)
    for keep in ("conv2", ""):
        engine = os.path.join(args.work, f"relu_u8_{keep or 'all'}.engine")
        rc, log = build(args.edgeinfer, os.path.join(args.work, "relu_u8.onnx"), engine,
                        ["--keep-fp32", keep] if keep else [])
        print(f"relu_u8 keep-fp32 '{keep}': build: {' | '.join(log.strip().splitlines())}")
        check(rc == 0, f"relu_u8: build exit {rc}: {log[-300:]}")
        if rc != 0:
            continue
        rc, ops, folded, text = operators(args.edgeinfer, engine)
        # the Clip is fused into conv1 as its activation where conv2 is float; gone where conv2 is int8
        left = ops.get("Clip", 0) + ops.get("Relu", 0)
        print(f"  operators: {ops}")
        check(left == 0, f"relu_u8 keep '{keep}': {left} Clip / Relu nodes left (fused or dropped expected)")
        rc, ours, log = run_edgeinfer(args.edgeinfer, engine, {"x": xr}, os.path.join(args.work, "relu_run"))
        ref = ort_run(os.path.join(args.work, "relu_u8.onnx"), {"x": xr})["y"]
        got = ours.get("y")
        cos = cosine(got, ref) if got is not None else 0.0
        print(f"  vs ORT's QDQ run: cosine {cos:.6f}")
        check(cos >= INT8_COSINE, f"relu_u8 keep '{keep}': cosine {cos} with ORT's QDQ run")
    # x * HardSigmoid(x) before a uint8 pair with zero point 0: Clip kept only where the clamp moves
    # values by more than half a step; against ORT's run of the model (the pair as float operators):
    # the int8 Conv's y within cosine INT8_COSINE, the float Add's z within half a step (the pair's
    # rounding, which the engine leaves out, and the clamp where it is left out, move no value more)
    xh = RNG.standard_normal((1, 3, 9, 11)).astype(np.float32) * 2.0
    for scale, clips in ((0.8, 0), (0.5, 1)):
        path = os.path.join(args.work, f"hswish_{scale}.onnx")
        onnx.save(hswish_pair(scale), path)
        engine = path[:-5] + ".engine"
        rc, log = build(args.edgeinfer, path, engine)
        print(f"hswish scale {scale}: build: {' | '.join(log.strip().splitlines())}")
        check(rc == 0, f"hswish {scale}: build exit {rc}: {log[-300:]}")
        if rc != 0:
            continue
        rc, ops, folded, text = operators(args.edgeinfer, engine)
        print(f"  operators: {ops}")
        check(ops.get("Clip", 0) == clips, f"hswish {scale}: {ops.get('Clip', 0)} Clip, expected {clips}")
        check("Mul" not in ops and "HardSigmoid" not in ops, f"hswish {scale}: HardSwish not fused: {ops}")
        rc, ours, log = run_edgeinfer(args.edgeinfer, engine, {"x": xh}, path[:-5] + "_run")
        ref = ort_run(path, {"x": xh})
        cos = cosine(ours["y"], ref["y"]) if "y" in ours else 0.0
        diff = float(np.max(np.abs(ours["z"] - ref["z"]))) if "z" in ours else float("inf")
        print(f"  y vs ORT's QDQ run: cosine {cos:.6f}; z: max |diff| {diff:.4f} (half a step {scale / 2})")
        check(cos >= INT8_COSINE, f"hswish {scale}: y: cosine {cos} with ORT's QDQ run")
        check(diff <= scale / 2 * (1 + 1e-5) + 1e-5, f"hswish {scale}: z differs by {diff}, more than half a step")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall QDQ int8 graph checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
