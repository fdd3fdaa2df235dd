#!/usr/bin/env python3
"""The first-layer direct kernel of ei.ConvBlocked8 (src/cpu/stem.c) against ONNX Runtime.

Each model is X -> [Conv 1x1 (8 -> C)] -> Conv (C -> M, kernel, strides, pads, dilations, bias)
[-> Add R] [-> activation]. Without the 1x1 Conv, the Conv reads the graph input X of C channels:
plain [N, C, H, W] when C is not a multiple of 8 (the layout pass leaves an image plain), blocked
(through ei.ToBlocked8) when it is; with it (`blk`), a blocked input of C channels whatever C is.
The Add and the activation are fused into the Conv. Cases: the first layers of YOLOX-nano (6x6
stride 2 after the Focus fold, at full size), SSDLite320, SSD-MobileNet-v1 and SSD300, and C 1, 3,
4, 5, 8, 12, 16, 20; kernels 1x1, 3x3, 5x5, 6x6, 7x7, 3x5; strides 1, 2, 3 and (1, 2); dilation 2;
asymmetric pads; H/W 1 and odd; N 2; M 5, 13, 17, 21, 40; Relu, Clip, LeakyRelu, HardSigmoid,
HardSwish, Sigmoid, Silu (Sigmoid + Mul), residual.

edgeinfer runs with EI_CONV_STEM=1 (every Conv it can compute takes the kernel) and again with
EI_CONV_STEM=0 (oneDNN's kernel).

Tolerance: |edgeinfer - ORT| <= 1e-5 * S + 1e-6 at every output, S = sum |x| |w| over the output's
window (+ |bias| + |R|), computed by ONNX Runtime on the same model with |W| and |x|: float32
rounding of a sum of products is bounded relative to that sum, not to the (possibly tiny) result.
Measured: worst |d| / S about 1e-7 (printed per case); a wrong tap, pad or lane gives 1e-2 or more.
The run fails also when the two edgeinfer runs agree bit for bit on more than a quarter of the cases
(the kernel did not run: it sums in another order than oneDNN).

    test_stem.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
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

TOL = 1e-5


def case(name, n, c, m, h, w, k, s=(1, 1), pads=(0, 0, 0, 0), d=(1, 1), bias=True, res=False, act=None,
         blk=False):
    return dict(name=name, n=n, c=c, m=m, h=h, w=w, k=k, s=s, pads=list(pads), d=d, bias=bias, res=res, act=act,
                blk=blk)


def cases():
    # pads: [top, left, bottom, right]
    return [
        case("yolox_stem", 1, 3, 16, 416, 416, (6, 6), (2, 2), (2, 2, 2, 2), act=("Silu", {})),
        case("ssdlite_stem", 1, 3, 16, 320, 320, (3, 3), (2, 2), (1, 1, 1, 1), act=("HardSwish", {})),
        case("mbv1_stem", 1, 3, 32, 300, 300, (3, 3), (2, 2), (1, 1, 1, 1), act=("Relu", {})),
        case("vgg_stem", 1, 3, 64, 75, 77, (3, 3), (1, 1), (1, 1, 1, 1), act=("Relu", {})),
        case("c1_k5_n2", 2, 1, 8, 9, 11, (5, 5), (1, 1), (2, 2, 2, 2), bias=False),
        case("c3_k3s2_odd", 1, 3, 13, 33, 31, (3, 3), (2, 2), (1, 1, 1, 1), act=("Clip", {"min": 0.0, "max": 0.5})),
        case("c4_k7s2_n2", 2, 4, 13, 15, 16, (7, 7), (2, 2), (3, 3, 3, 3), act=("LeakyRelu", {"alpha": 0.1})),
        case("c5_k35_s12", 2, 5, 17, 9, 14, (3, 5), (1, 2), (1, 2, 1, 2), act=("Sigmoid", {})),
        case("c12_asym", 1, 12, 16, 21, 21, (3, 3), (1, 1), (0, 1, 2, 0), act=("HardSigmoid", {})),
        case("c16_s2_res", 1, 16, 24, 13, 9, (3, 3), (2, 2), (1, 1, 1, 1), res=True, act=("HardSwish", {})),
        case("c8_k1_m5", 1, 8, 5, 7, 6, (1, 1)),
        case("c3_blk_k5", 1, 3, 20, 11, 13, (5, 5), (2, 2), (2, 1, 1, 2), act=("Relu", {}), blk=True),
        case("c13_blk_res", 2, 13, 40, 10, 7, (3, 3), (1, 1), (1, 1, 1, 1), res=True, blk=True),
        case("c3_dil2", 1, 3, 8, 10, 12, (3, 3), (1, 1), (2, 2, 2, 2), d=(2, 2)),
        case("c3_s3_m21", 1, 3, 21, 17, 19, (3, 3), (3, 3), (0, 0, 0, 0)),
        case("c3_hw1", 1, 3, 16, 1, 1, (3, 3), (1, 1), (1, 1, 1, 1)),
        case("c3_k6_w2", 1, 3, 16, 2, 9, (6, 6), (2, 2), (2, 2, 2, 2)),
        case("c20_k3", 1, 20, 9, 7, 7, (3, 3), (1, 1), (1, 1, 1, 1), blk=True),
    ]


def build(path, cs, rng, absolute=False):
    """The test model; with `absolute`, the model of S (|x| into |W|, |bias| and |R| added, no
    activation), given the same feeds."""
    n, c, m, h, w = cs["n"], cs["c"], cs["m"], cs["h"], cs["w"]
    kh, kw = cs["k"]
    pads, (sh, sw), (dh, dw) = cs["pads"], cs["s"], cs["d"]
    c0 = 8 if cs["blk"] else c
    wk = rng.standard_normal((m, c, kh, kw)).astype(np.float32) * np.float32(1 / np.sqrt(kh * kw * c))
    b = rng.standard_normal(m).astype(np.float32) * np.float32(0.1)
    oh = (h + pads[0] + pads[2] - (dh * (kh - 1) + 1)) // sh + 1
    ow = (w + pads[1] + pads[3] - (dw * (kw - 1) + 1)) // sw + 1
    inits, nodes = [], []
    conv_in = "x"
    if cs["blk"]:
        w1 = rng.standard_normal((c, c0, 1, 1)).astype(np.float32) * np.float32(1 / np.sqrt(c0))
        inits.append(numpy_helper.from_array(w1, "w1"))
        nodes.append(helper.make_node("Conv", ["x", "w1"], ["t"]))
        conv_in = "t"
    if absolute:
        nodes.append(helper.make_node("Abs", [conv_in], ["xa"]))
        conv_in = "xa"
        wk, b = np.abs(wk), np.abs(b)
    inits.append(numpy_helper.from_array(wk, "wk"))
    ins = [conv_in, "wk"]
    if cs["bias"]:
        inits.append(numpy_helper.from_array(b, "b"))
        ins.append("b")
    nodes.append(helper.make_node("Conv", ins, ["y0"], kernel_shape=[kh, kw], pads=pads, strides=[sh, sw],
                                  dilations=[dh, dw]))
    last = "y0"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c0, h, w])]
    finish_model(path, nodes, inits, inputs, last, [n, m, oh, ow], cs["res"], cs["act"], absolute)
    return c0, oh, ow


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", help="comma-separated case names")
    args = ap.parse_args()
    if not cpu_has_avx2_fma():
        print("SKIP: this CPU has no AVX2+FMA, so the first-layer kernel is never chosen")
        return 77
    os.makedirs(args.work, exist_ok=True)
    failures, checked, same = [], 0, []
    only = set(args.only.split(",")) if args.only else None
    for cs in cases():
        name = cs["name"]
        if only and name not in only:
            continue
        path = os.path.join(args.work, name + ".onnx")
        path_s = os.path.join(args.work, name + ".abs.onnx")
        c0, oh, ow = build(path, cs, np.random.default_rng(7))
        build(path_s, cs, np.random.default_rng(7), absolute=True)
        rng = np.random.default_rng(3)
        feeds = {"x": rng.standard_normal((cs["n"], c0, cs["h"], cs["w"])).astype(np.float32)}
        if cs["res"]:
            feeds["r"] = rng.standard_normal((cs["n"], cs["m"], oh, ow)).astype(np.float32)
        want = ort_run(path, feeds)["y"]
        s = ort_run(path_s, {k: np.abs(v) for k, v in feeds.items()})["y"]
        got = {}
        for mode in ("1", "0"):
            os.environ["EI_CONV_STEM"] = mode
            rc, outs, log = run_edgeinfer(args.edgeinfer, path, feeds, os.path.join(args.work, name + "_" + mode))
            if rc != 0 or "y" not in outs:
                failures.append(f"{name} (EI_CONV_STEM={mode}): edgeinfer exit {rc}: {log.strip()[-400:]}")
                continue
            got[mode] = outs["y"]
        if len(got) < 2:
            continue
        checked += 1
        if np.array_equal(got["1"], got["0"]):
            same.append(name)
        for mode, y in got.items():
            check_bound(f"{name} EI_CONV_STEM={mode}", y, want, s, TOL, failures)
    if checked and len(same) * 4 > checked:
        failures.append(f"the first-layer kernel and oneDNN agree bit for bit on {len(same)} of {checked} cases "
                        f"({', '.join(same)}): the kernel did not run")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} cases within {TOL:g} * S of ONNX Runtime, {checked - len(same)} where the first-layer kernel "
          f"differs from oneDNN, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
