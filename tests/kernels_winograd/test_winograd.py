#!/usr/bin/env python3
"""The Winograd F(4x4, 3x3) and F(2x2, 3x3) kernels of ei.ConvBlocked8 (src/cpu/winograd.c) against
ONNX Runtime.

Each model is X -> Conv 1x1 (C0 -> C) -> Conv 3x3 (C -> M, pads, bias) [-> Add R] [-> activation]:
the 1x1 Conv hands the 3x3 one a blocked input of C channels whatever C is (the layout pass reads
an image-like input of C % 8 != 0 channels plain, which the Winograd kernel declines), the Add and
the activation are fused into it. Shapes: C 1, 3, 8, 13, 64, 130, 512; H/W 1, 2, 5, 7, 38, 75; pads
0, 1, 2 and asymmetric; N 1 and 2; bias, Relu, Clip, LeakyRelu, HardSwish, residual; and
SSD-MobileNet-v1's heads (512 -> 126 at 19x19, 1024 -> 24 at 10x10).

edgeinfer runs with EI_CONV_WINOGRAD=4 and =2 (every 3x3 stride-1 Conv of a blocked input takes
the kernel, whatever its size, with 4x4 and 2x2 output tiles) and again with EI_CONV_WINOGRAD=0
(oneDNN's direct kernel).

Tolerance: |edgeinfer - ORT| <= 1e-4 * S + 1e-6 at every output, S = sum |x| |w| over the output's
window (+ |bias| + |R|), computed by ONNX Runtime on the same model with |W| and |x|. Winograd's
rounding error is not relative to the output but to that sum: the transforms add and subtract
inputs scaled up to 5x (B^T) and outputs up to 8x (A^T), and the products of the 36 positions
cancel, so the error of one output grows with C and with the magnitude of the terms, not with the
(possibly tiny) result. Measured: worst |d| / S about 1e-6 (printed per case), the direct kernel
about 1e-7; a 1e-4 bound leaves a wide margin yet a wrong transform coefficient gives |d| / S of
0.01 or more. The run fails also when a Winograd run agrees bit for bit with the direct run on
every case, or the F(4x4) run with the F(2x2) one (that kernel or tile size did not run), and when
the automatic choice (EI_CONV_WINOGRAD unset) does not match F(2x2) bit for bit on a 10x10 map and
F(4x4) on a 19x19 one (ei_winograd_tile).

    test_winograd.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from conv_case_model import check_bound, cpu_has_avx2_fma, finish_model  # noqa: E402

TOL = 1e-4
# Cases also run with EI_CONV_WINOGRAD unset, and the forced mode whose output that must equal.
AUTO = {"c512_m126": "2", "c512_m126_19": "4"}


def cases():
    # name, N, C, M, H, W, pads [top, left, bottom, right], bias, residual, activation (op, attrs)
    return [
        ("c1", 1, 1, 8, 5, 7, [1, 1, 1, 1], False, False, None),
        ("c3_relu", 1, 3, 16, 7, 5, [1, 1, 1, 1], True, False, ("Relu", {})),
        ("c8_n2", 2, 8, 8, 38, 38, [1, 1, 1, 1], True, False, None),
        ("c13_pad0_clip", 1, 13, 21, 7, 7, [0, 0, 0, 0], True, False, ("Clip", {"min": 0.0, "max": 0.5})),
        ("c64_res_relu", 1, 64, 64, 38, 38, [1, 1, 1, 1], True, True, ("Relu", {})),
        ("c130_n2", 2, 130, 40, 5, 5, [1, 1, 1, 1], False, False, None),
        ("c64_75", 1, 64, 24, 75, 75, [1, 1, 1, 1], True, False, None),
        ("hw1", 1, 16, 16, 1, 1, [1, 1, 1, 1], True, False, None),
        ("hw2", 1, 24, 16, 2, 2, [1, 1, 1, 1], True, False, None),
        ("asym", 1, 32, 32, 9, 11, [0, 1, 2, 0], True, False, None),
        ("pad2_leaky", 1, 40, 13, 75, 3, [2, 2, 2, 2], True, False, ("LeakyRelu", {"alpha": 0.1})),
        ("m130_res_hswish", 2, 64, 130, 19, 19, [1, 1, 1, 1], True, True, ("HardSwish", {})),
        ("c512_m126", 1, 512, 126, 10, 10, [1, 1, 1, 1], True, False, None),
        ("c512_m126_19", 1, 512, 126, 19, 19, [1, 1, 1, 1], True, False, None),
        ("c1024_m24_10", 1, 1024, 24, 10, 10, [1, 1, 1, 1], True, False, None),
    ]


def build(path, n, c, m, h, w, pads, bias, res, act, rng, absolute=False):
    """The test model; with `absolute`, the model of S (|x| into |W|, |bias| and |R| added, no
    activation), given the same feeds."""
    c0 = 8
    w1 = rng.standard_normal((c, c0, 1, 1)).astype(np.float32) * np.float32(1 / np.sqrt(c0))
    w3 = rng.standard_normal((m, c, 3, 3)).astype(np.float32) * np.float32(1 / np.sqrt(9 * c))
    b3 = rng.standard_normal(m).astype(np.float32) * np.float32(0.1)
    oh, ow = h + pads[0] + pads[2] - 2, w + pads[1] + pads[3] - 2
    inits = [numpy_helper.from_array(w1, "w1")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["t"])]
    conv_in = "t"
    if absolute:
        nodes.append(helper.make_node("Abs", ["t"], ["ta"]))
        conv_in = "ta"
        w3, b3 = np.abs(w3), np.abs(b3)
    inits.append(numpy_helper.from_array(w3, "w3"))
    ins = [conv_in, "w3"]
    if bias:
        inits.append(numpy_helper.from_array(b3, "b3"))
        ins.append("b3")
    nodes.append(helper.make_node("Conv", ins, ["y0"], kernel_shape=[3, 3], pads=pads))
    last = "y0"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c0, h, w])]
    finish_model(path, nodes, inits, inputs, last, [n, m, oh, ow], res, act, absolute)
    return oh, ow


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    if not cpu_has_avx2_fma():
        print("SKIP: this CPU has no AVX2+FMA, so the Winograd kernel is never chosen")
        return 77
    os.makedirs(args.work, exist_ok=True)
    modes = ("4", "2", "0")
    failures, checked = [], 0
    differ = {"4": 0, "2": 0, "4/2": 0}
    for name, n, c, m, h, w, pads, bias, res, act in cases():
        path = os.path.join(args.work, name + ".onnx")
        path_s = os.path.join(args.work, name + ".abs.onnx")
        oh, ow = build(path, n, c, m, h, w, pads, bias, res, act, np.random.default_rng(7))
        build(path_s, n, c, m, h, w, pads, bias, res, act, np.random.default_rng(7), absolute=True)
        rng = np.random.default_rng(3)
        feeds = {"x": rng.standard_normal((n, 8, h, w)).astype(np.float32)}
        if res:
            feeds["r"] = rng.standard_normal((n, m, oh, ow)).astype(np.float32)
        want = ort_run(path, feeds)["y"]
        s = ort_run(path_s, {k: np.abs(v) for k, v in feeds.items()})["y"]
        got = {}
        for mode in modes + (("auto",) if name in AUTO else ()):
            if mode == "auto":
                os.environ.pop("EI_CONV_WINOGRAD", None)
            else:
                os.environ["EI_CONV_WINOGRAD"] = mode
            rc, outs, log = run_edgeinfer(args.edgeinfer, path, feeds, os.path.join(args.work, name + "_" + mode))
            if rc != 0 or "y" not in outs:
                failures.append(f"{name} (EI_CONV_WINOGRAD={mode}): edgeinfer exit {rc}: {log.strip()[-400:]}")
                continue
            got[mode] = outs["y"]
        if name in AUTO and "auto" in got and not np.array_equal(got.pop("auto"), got.get(AUTO[name])):
            failures.append(f"{name}: the automatic choice is not F({AUTO[name]}x{AUTO[name]}, 3x3)")
        if len(got) < len(modes):
            continue
        checked += 1
        differ["4"] += not np.array_equal(got["4"], got["0"])
        differ["2"] += not np.array_equal(got["2"], got["0"])
        differ["4/2"] += not np.array_equal(got["4"], got["2"])
        for mode, y in got.items():
            check_bound(f"{name} EI_CONV_WINOGRAD={mode}", y, want, s, TOL, failures)
    for k, what in (("4", "F(4x4) and direct"), ("2", "F(2x2) and direct"), ("4/2", "F(4x4) and F(2x2)")):
        if checked and not differ[k]:
            failures.append(f"{what} outputs are equal on every case: one of them did not run")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} cases within {TOL:g} * S of ONNX Runtime; F(4x4) differs from the direct kernel on "
          f"{differ['4']}, F(2x2) on {differ['2']}, F(4x4) from F(2x2) on {differ['4/2']}; {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
