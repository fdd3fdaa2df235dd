#!/usr/bin/env python3
"""SegFormer's CPU kernels against ONNX Runtime, one-node models on odd and large shapes:

- Softmax / LogSoftmax over the last axis (src/cpu/vmath.c ei_vec_softmax: exp polynomial with a
  relative error <= 3e-7): rows of 1, 7, 8, 9, 255, 257 and 16384 x 256, values in [-1e4, 1e4],
  -inf entries, rows where one element dominates, NaN; a strided (axis 1) case for the other path.
  Tolerance: |d| <= 2e-6 * |ORT| + 1e-7 (softmax), 5e-5 absolute (log-softmax of values up to
  2e4: one ulp of the input).
- Gelu (opset 20, approximate none and tanh) and the Div/Erf/Add/Mul/Mul pattern that the passes
  turn into Gelu (ei_vec_gelu: erf within 5e-7): |d| <= 1e-6 * max(1, |x|).
- Transpose of float32 (the 8x8 AVX2 block kernel: [N, C, HW] <-> [N, HW, C], 2-D, NCHW <-> NHWC,
  K^T of attention) and of other element sizes / permutations (generic copy): exact.
- LayerNormalization (opset 17, last axis and two axes, with and without B, Mean/InvStdDev):
  |d| <= 1e-5 * |ORT| + 2e-6.
- Resize linear (bilinear, NCHW) in half_pixel, pytorch_half_pixel, align_corners and asymmetric
  modes, upsampling (the cached-row kernel) and downsampling: |d| <= 2e-6 * (1 + |ORT|).

    test_seg_ops.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
           np.dtype(np.int32): TensorProto.INT32,
           np.dtype(np.int8): TensorProto.INT8, np.dtype(np.float16): TensorProto.FLOAT16}


def save(path, nodes, inputs, outputs, opset, inits=()):
    ins = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], list(a.shape)) for n, a in inputs]
    outs = [helper.make_tensor_value_info(n, NP2ONNX[np.dtype(t)], None) for n, t in outputs]
    g = helper.make_graph(nodes, "g", ins, outs, initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)


class Checker:
    def __init__(self, cli, work, verbose):
        self.cli, self.work, self.verbose = cli, work, verbose
        self.failures, self.checked = [], 0

    def run(self, name, nodes, inputs, outputs, opset, tol, inits=()):
        """tol(name_of_output, got, want) -> None or a failure text."""
        path = os.path.join(self.work, name + ".onnx")
        save(path, nodes, inputs, outputs, opset, inits)
        feeds = dict(inputs)
        want = ort_run(path, feeds)
        rc, outs, log = run_edgeinfer(self.cli, path, feeds, os.path.join(self.work, name))
        if rc != 0:
            self.failures.append(f"{name}: edgeinfer exit {rc}: {log.strip()[-400:]}")
            return
        for o, _ in outputs:
            if o not in outs:
                self.failures.append(f"{name}: output {o} missing")
                continue
            got, w = outs[o], want[o]
            if got.shape != w.shape or got.dtype != w.dtype:
                self.failures.append(f"{name}/{o}: {got.dtype}{got.shape}, ONNX Runtime {w.dtype}{w.shape}")
                continue
            if got.dtype.kind == "f" and not np.array_equal(np.isnan(got), np.isnan(w)):
                self.failures.append(f"{name}/{o}: NaN positions differ")
                continue
            if self.verbose and got.dtype.kind == "f":
                d, a, _m = finite_diff(got, w)
                print(f"{name}/{o}: max |d| {d.max() if d.size else 0:.3g}, max |d|/|ORT| "
                      f"{(d / np.maximum(a, 1e-30)).max() if d.size else 0:.3g}")
            msg = tol(o, got, w)
            if msg:
                self.failures.append(f"{name}/{o}: {msg}")
        self.checked += 1


def finite_diff(got, want):
    m = ~np.isnan(want)
    both_inf = np.isinf(want) & (got == want)
    m &= ~both_inf
    return np.abs(got[m].astype(np.float64) - want[m].astype(np.float64)), np.abs(want[m].astype(np.float64)), m


def tol_rel(rtol, atol):
    def f(_, got, want):
        d, a, _m = finite_diff(got, want)
        bad = d > rtol * a + atol
        if bad.any():
            i = np.argmax(d - rtol * a - atol)
            return f"{bad.sum()} elements over {rtol:g}*|ORT|+{atol:g}, worst |d| {d[i]:.3g} at |ORT| {a[i]:.3g}"
        return None
    return f


def tol_exact(_, got, want):
    if not np.array_equal(got, want):
        return "differs from ONNX Runtime (a copy must be exact)"
    return None


def softmax_cases(ck, rng):
    lengths = [1, 7, 8, 9, 16, 255, 257]
    for n in lengths:
        x = rng.uniform(-1e4, 1e4, (5, n)).astype(np.float32)
        if n > 1:
            x[1, rng.integers(0, n, max(1, n // 3))] = -np.inf  # some -inf entries
            x[2] = rng.standard_normal(n).astype(np.float32)  # moderate values: every term counts
            x[3, :] = -50.0
            x[3, n // 2] = 60.0  # one dominant element: the others underflow
        for op in ("Softmax", "LogSoftmax"):
            tol = tol_rel(2e-6, 1e-7) if op == "Softmax" else tol_rel(1e-6, 5e-5)
            ck.run(f"{op.lower()}_{n}", [helper.make_node(op, ["x"], ["y"], axis=-1)], [("x", x)],
                   [("y", np.float32)], 13, tol)
    x = rng.standard_normal((1, 2, 4096, 256)).astype(np.float32) * 4
    ck.run("softmax_segformer_stage1", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)], [("x", x)],
           [("y", np.float32)], 13, tol_rel(2e-6, 1e-7))
    x = rng.standard_normal((2, 3, 5, 33)).astype(np.float32) * 10
    ck.run("softmax_nan", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
           [("x", np.where(rng.random(x.shape) < 0.01, np.float32(np.nan), x).astype(np.float32))],
           [("y", np.float32)], 13, tol_rel(2e-6, 1e-7))
    # Rows of -inf only and with +inf: NaN throughout, as ONNX Runtime; -inf entries: exactly 0 / -inf.
    x = np.array([[-np.inf] * 11, [np.inf] + list(range(10)), [-np.inf, 0, -np.inf] + list(range(8))], np.float32)
    for op in ("Softmax", "LogSoftmax"):
        ck.run(f"{op.lower()}_inf_rows", [helper.make_node(op, ["x"], ["y"], axis=-1)], [("x", x)],
               [("y", np.float32)], 13, tol_rel(2e-6, 1e-7))
    x = rng.standard_normal((2, 9, 7, 5)).astype(np.float32) * 10
    ck.run("softmax_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [("x", x)], [("y", np.float32)], 13,
           tol_rel(2e-6, 1e-7))


def gelu_tol(x):
    def f(_, got, want):
        with np.errstate(invalid="ignore"):
            d = np.abs(got.astype(np.float64) - want.astype(np.float64))
        lim = 1e-6 * np.maximum(1.0, np.abs(x.astype(np.float64)))
        ok = (d <= lim) | (np.isnan(got) & np.isnan(want)) | (got == want)
        if not ok.all():
            i = np.argmax(np.where(ok, -np.inf, d - lim))
            return f"{(~ok).sum()} elements over 1e-6*max(1,|x|), worst |d| {d.flat[i]:.3g} at x = {x.flat[i]:.6g}"
        return None
    return f


def gelu_cases(ck, rng):
    sweep = np.linspace(-12, 12, 24001).astype(np.float32)
    special = np.array([0.0, -0.0, 1e-30, -1e-30, 3e38, -3e38, np.inf, -np.inf, np.nan], np.float32)
    xs = [("1", rng.standard_normal((1,))), ("7", rng.standard_normal((7,)) * 3), ("8", rng.standard_normal((8,))),
          ("9", rng.standard_normal((3, 9)) * 5), ("255", rng.standard_normal((255,)) * 2),
          ("257", rng.standard_normal((2, 257))), ("sweep", sweep), ("special", special),
          ("segformer", rng.standard_normal((1, 16384, 128)) * 2)]
    for name, x in xs:
        x = np.asarray(x, np.float32)
        ck.run(f"gelu_{name}", [helper.make_node("Gelu", ["x"], ["y"])], [("x", x)], [("y", np.float32)], 20,
               gelu_tol(x))
    x = np.concatenate([sweep[::7], rng.standard_normal(1001).astype(np.float32)])
    ck.run("gelu_tanh", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [("x", x)], [("y", np.float32)],
           20, gelu_tol(x))
    # The erf pattern as PyTorch exports it (opset 17): x * 0.5 * (1 + erf(x / sqrt(2))).
    x = (rng.standard_normal((1, 4099, 13)) * 3).astype(np.float32)
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    inits = [("sqrt2", np.array(1.4142135381698608, np.float32)), ("one", np.array(1.0, np.float32)),
             ("half", np.array(0.5, np.float32))]
    ck.run("gelu_erf_pattern", nodes, [("x", x)], [("y", np.float32)], 17, gelu_tol(x), inits)


def transpose_cases(ck, rng):
    cases = [((1, 256, 16384), (0, 2, 1)), ((1, 16384, 128), (0, 2, 1)), ((1, 1024, 160), (0, 2, 1)),
             ((7, 9), (1, 0)), ((1, 1), (1, 0)), ((8, 8), (1, 0)), ((9, 257), (1, 0)), ((255, 17), (1, 0)),
             ((3, 65, 300), (0, 2, 1)), ((1, 5, 1024, 32), (0, 1, 3, 2)), ((2, 13, 11, 9), (0, 2, 3, 1)),
             ((2, 13, 11, 9), (0, 3, 1, 2)), ((1, 1024, 5, 32), (0, 2, 1, 3)), ((4, 1, 7, 1, 9), (2, 1, 4, 3, 0)),
             ((3, 4, 5), (2, 1, 0)), ((1, 8, 1, 1), (0, 2, 3, 1)), ((6, 1, 5), (2, 1, 0))]
    for shape, perm in cases:
        x = rng.standard_normal(shape).astype(np.float32)
        name = "transpose_" + "x".join(map(str, shape)) + "_" + "".join(map(str, perm))
        ck.run(name, [helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))], [("x", x)], [("y", np.float32)],
               13, tol_exact)
    # int32 takes the 4-byte block kernel; NaN payloads in float32 must survive bit for bit.
    x = rng.integers(-2**31, 2**31 - 1, (2, 19, 67), dtype=np.int64).astype(np.int32)
    ck.run("transpose_int32", [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])], [("x", x)],
           [("y", np.int32)], 13, tol_exact)
    bits = rng.integers(0, 2**32 - 1, (33, 41), dtype=np.uint64).astype(np.uint32)
    bits[::3] = (bits[::3] & 0x007FFFFF) | 0x7F800001  # NaNs with payloads, signalling ones included
    x = bits.view(np.float32)
    ck.run("transpose_nan_payloads", [helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])], [("x", x)],
           [("y", np.float32)], 13, lambda _o, got, want: None if np.array_equal(got.view(np.uint32), want.view(
               np.uint32)) else "bits differ")
    for dt in (np.int64, np.int8, np.float16):
        x = (rng.standard_normal((3, 37, 29)) * 50).astype(dt)
        ck.run(f"transpose_{np.dtype(dt).name}", [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])],
               [("x", x)], [("y", dt)], 13, tol_exact)


def layernorm_cases(ck, rng):
    for n in (1, 7, 8, 9, 32, 255, 257):
        x = (rng.standard_normal((11, n)) * 2 + 1).astype(np.float32)
        s = rng.standard_normal(n).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv"], axis=-1, epsilon=1e-6)
        ck.run(f"layernorm_{n}", [node], [("x", x), ("s", s), ("b", b)],
               [("y", np.float32), ("mean", np.float32), ("inv", np.float32)], 17, tol_rel(1e-5, 2e-6))
    x = (rng.standard_normal((1, 16384, 32)) * 3).astype(np.float32)
    s = rng.standard_normal(32).astype(np.float32)
    ck.run("layernorm_nobias_segformer", [helper.make_node("LayerNormalization", ["x", "s"], ["y"], axis=-1)],
           [("x", x), ("s", s)], [("y", np.float32)], 17, tol_rel(1e-5, 2e-6))
    x = rng.standard_normal((3, 5, 13)).astype(np.float32)
    s = rng.standard_normal((5, 13)).astype(np.float32)
    b = rng.standard_normal((5, 13)).astype(np.float32)
    ck.run("layernorm_two_axes", [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=1)],
           [("x", x), ("s", s), ("b", b)], [("y", np.float32)], 17, tol_rel(1e-5, 2e-6))


def resize_cases(ck, rng):
    cases = [((1, 3, 7, 9), (15, 20)), ((1, 256, 16, 16), (128, 128)), ((1, 64, 32, 32), (128, 128)),
             ((2, 5, 1, 1), (3, 3)), ((1, 1, 9, 257), (18, 255)), ((1, 2, 20, 30), (7, 11)), ((1, 1, 1, 8), (1, 9)),
             ((3, 2, 5, 4), (5, 4)), ((1, 4, 2, 300), (9, 301)),
             ((2, 7, 13, 250), (50, 333))]  # 49-row chunks: cached rows restart mid-image
    modes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]
    for i, (shape, hw) in enumerate(cases):
        x = rng.standard_normal(shape).astype(np.float32)
        sizes = np.array([shape[0], shape[1], hw[0], hw[1]], np.int64)
        for mode in (modes if i not in (1, 2) else ["half_pixel", "align_corners"]):
            node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                                    coordinate_transformation_mode=mode)
            name = f"resize_{'x'.join(map(str, shape))}_to_{hw[0]}x{hw[1]}_{mode}"
            ck.run(name, [node], [("x", x)], [("y", np.float32)], 13, tol_rel(2e-6, 2e-6), [("sizes", sizes)])
    # tf_crop_and_resize: positions outside the input take extrapolation_value after the blend.
    x = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=7.5)
    ck.run("resize_tf_crop_and_resize", [node], [("x", x)], [("y", np.float32)], 13, tol_rel(2e-6, 2e-6),
           [("roi", np.array([0, 0, -0.1, -0.2, 1, 1, 1.1, 1.3], np.float32)),
            ("sizes", np.array([1, 3, 17, 19], np.int64))])
    # Scales instead of sizes (SegFormer's decoder exports sizes; older exports use scales).
    x = rng.standard_normal((1, 8, 12, 10)).astype(np.float32)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear", coordinate_transformation_mode="half_pixel")
    ck.run("resize_scales_x4", [node], [("x", x)], [("y", np.float32)], 13, tol_rel(2e-6, 2e-6),
           [("scales", np.array([1, 1, 4, 4], np.float32))])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--verbose", action="store_true", help="print the largest differences")
    ap.add_argument("--only", default="", help="run one family: softmax, gelu, transpose, layernorm, resize")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(7)
    ck = Checker(args.edgeinfer, args.work, args.verbose)
    for fam, fn in (("softmax", softmax_cases), ("gelu", gelu_cases), ("transpose", transpose_cases),
                    ("layernorm", layernorm_cases), ("resize", resize_cases)):
        if not args.only or args.only == fam:
            fn(ck, rng)
    for f in ck.failures:
        print("FAIL", f)
    print(f"{ck.checked} models compared with ONNX Runtime, {len(ck.failures)} failures")
    return 1 if ck.failures or ck.checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
