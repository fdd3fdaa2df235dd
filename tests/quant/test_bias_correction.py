"""Bias correction and the weight-aware sensitivity analysis (docs/precision.md, "Bias correction"
and "Sensitivity: tensors kept in float") on crafted models, through `edgeinfer build` and
`edgeinfer run` (label cli).

1. Bias correction. x -> Conv 3x3 (no padding) -> y, minmax calibration on 4 random images. Every
   output channel has one large weight and 26 small ones that 7-bit per-channel quantisation
   rounds up by about 28 % each (q = round(0.0124 * 63 / 1.0) = 1): the int8 output is shifted by
   about +0.046 on average. Checked:
   - with `--calib-bias-correction on` (the default) the cache is format 2 and the input's line
     carries `mean:` and `mean-q:` fields whose values equal numpy's per-channel means of the
     pre-processed images, float and fake-quantised exactly as ei.ConvInt8 quantises (uint8,
     round half to even), within 1e-5;
   - the int8 engine's mean output error per channel (over the calibration images) is at most a
     fifth of the uncorrected engine's, which is above 0.03 (so the case can fail);
   - with `off`: format 1, no means, and the shift is there;
   - usage errors of the option.
2. Weight-aware sensitivity. x -> Conv -> Relu (r1) -> Conv -> Relu (r2) -> Conv -> y. r1's channel
   0 is always 0 (its weights and bias are negative), and the second convolution gives that dead
   channel weights a thousand times its others: in float they cost nothing, but per-channel
   7-bit weights round all the useful ones to 0. Activation quantisation alone is harmless
   everywhere. With `--calib-sens-weights on` (the default) the analysis must find r1 (the input
   of that convolution) first, with a single-tensor similarity below 0.5; with `off` it cannot
   see the damage (every single-tensor similarity it lists above 0.9)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save_model(path, nodes, inits, in_shape, out_shape):
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def bias_model(path):
    rng = np.random.default_rng(11)
    w = np.full((8, 3, 3, 3), 0.0124, np.float32)
    w[:, 0, 1, 1] = rng.choice([-1.0, 1.0], 8).astype(np.float32)  # the large weight: scale 1 / 63
    w *= rng.uniform(0.999, 1.001, w.shape).astype(np.float32)
    b = rng.normal(0, 0.1, 8).astype(np.float32)
    save_model(path, [helper.make_node("Conv", ["x", "w", "b"], ["y"])], {"w": w, "b": b}, [1, 3, 32, 32],
               [1, 8, 30, 30])


def sens_model(path):
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    w1[0] = -np.abs(w1[0])  # r1 channel 0: always 0 after the Relu (inputs are >= 0)
    b1 = np.zeros(8, np.float32)
    b1[0] = -1.0
    w2 = rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32)
    w2[:, 0] = 300.0  # weights on the dead channel: harmless in float, fatal in 7 bits
    w3 = rng.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["y"]),
    ]
    save_model(path, nodes, {"w1": w1, "b1": b1, "w2": w2, "w3": w3}, [1, 3, 32, 32], [1, 4, 32, 32])


def read_cache(path):
    rows, comments, fmt = {}, [], None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#") and "\t" not in line:
            comments.append(line)
        elif "\t" in line:
            f = line.split("\t")
            means = {}
            for extra in f[3:]:
                key, _, vals = extra.partition(":")
                means[key] = np.array([float(v) for v in vals.split(",")])
            rows[f[0]] = (float(f[1]), f[2], means)
        elif line.startswith("format:"):
            fmt = int(line.split(":")[1])
    return rows, comments, fmt


def entry(rows, name):
    return rows.get(name) or rows.get(name + ".b8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgeinfer", required=True)
    args = ap.parse_args()
    ei = args.edgeinfer
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        imgdir = os.path.join(tmp, "imgs")
        os.makedirs(imgdir)
        rng = np.random.default_rng(5)
        xs = []
        for i in range(4):
            img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            cv2.imwrite(os.path.join(imgdir, f"im{i}.png"), img)
            # The config's pre-processing: RGB (cv2 wrote BGR), x / 255.
            x = (img[:, :, ::-1].astype(np.float32) * np.float32(1.0 / 255.0)).transpose(2, 0, 1)[None]
            xs.append(np.ascontiguousarray(x, dtype=np.float32))
        def build(model, name, *extra, expect=0):
            cfg = model + ".ini"
            with open(cfg, "w") as f:
                f.write(f"[property]\nonnx-file={os.path.basename(model)}\nnetwork-type=1\nbatch-size=1\n"
                        "infer-dims=3;32;32\nmodel-color-format=0\nnet-scale-factor=0.00392156862745098\n"
                        "offsets=0;0;0\nscaling-filter=1\n")
            out = os.path.join(tmp, name + ".engine")
            cmd = [ei, "build", model, "-o", out, "--precision", "int8", "-c", cfg, "--calib-images", imgdir,
                   "--calib-method", "minmax", *extra]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != expect:
                fails.append(f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}: {r.stdout} {r.stderr}")
                return None, r.stdout + r.stderr
            return out, r.stdout + r.stderr

        def run(engine, x, tag):
            xin = os.path.join(tmp, "x.npy")
            np.save(xin, x)
            odir = os.path.join(tmp, "out_" + tag)
            r = subprocess.run([ei, "run", engine, "--input", "x=" + xin, "--output-dir", odir], capture_output=True,
                               text=True)
            if r.returncode != 0:
                fails.append(f"run {engine}: exit {r.returncode} {r.stderr}")
                return None
            return np.load(os.path.join(odir, "y.npy"))

        # ---- 1. bias correction ----
        bm = os.path.join(tmp, "bias.onnx")
        bias_model(bm)
        on, on_out = build(bm, "bias_on", "--calib-target-cosine", "0")
        off, _ = build(bm, "bias_off", "--calib-target-cosine", "0", "--calib-bias-correction", "off")
        if on and off:
            rows, _, fmt = read_cache(on + ".calib")
            e = entry(rows, "x")
            if fmt != 2 or not e or set(e[2]) != {"mean", "mean-q"}:
                fails.append(f"bias correction on: expected format 2 and mean / mean-q on x's line, got format {fmt}, "
                             f"{e}")
            else:
                scale, sign, means = e
                allx = np.concatenate(xs)
                want = allx.mean(axis=(0, 2, 3), dtype=np.float64)
                xs_ = np.float32(scale * 127.0 / 255.0) if sign == "unsigned" else np.float32(scale)
                hi = 255 if sign == "unsigned" else 127
                q = np.clip(np.round(allx * np.float32(1.0 / xs_)), 0 if sign == "unsigned" else -127, hi)
                want_q = (q.astype(np.float64) * float(xs_)).mean(axis=(0, 2, 3))
                if sign != "unsigned":
                    fails.append(f"x (images / 255) should be unsigned, the cache says {sign}")
                if len(means["mean"]) != 3 or np.abs(means["mean"] - want).max() > 1e-5:
                    fails.append(f"channel means {means['mean']}, numpy {want}")
                if len(means["mean-q"]) != 3 or np.abs(means["mean-q"] - want_q).max() > 1e-5:
                    fails.append(f"quantised channel means {means['mean-q']}, numpy {want_q}")
            if "channel means of 1 convolution inputs" not in on_out:
                fails.append(f"the build did not report the channel means: {on_out}")
            rows_off, _, fmt_off = read_cache(off + ".calib")
            if fmt_off != 1 or any(r[2] for r in rows_off.values()):
                fails.append(f"bias correction off: expected format 1 without means, got format {fmt_off}")
            fp32 = os.path.join(tmp, "bias32.engine")
            r = subprocess.run([ei, "build", bm, "-o", fp32], capture_output=True, text=True)
            if r.returncode != 0:
                fails.append(f"fp32 build: {r.stderr}")
            else:
                err = {"on": [], "off": []}
                for i, x in enumerate(xs):
                    ref = run(fp32, x, f"f{i}")
                    for tag, eng in (("on", on), ("off", off)):
                        y = run(eng, x, f"{tag}{i}")
                        if ref is not None and y is not None:
                            err[tag].append((y - ref).astype(np.float64))
                if len(err["on"]) == len(xs) and len(err["off"]) == len(xs):
                    m_on = np.abs(np.concatenate(err["on"]).mean(axis=(0, 2, 3))).max()
                    m_off = np.abs(np.concatenate(err["off"]).mean(axis=(0, 2, 3))).max()
                    print(f"bias correction: worst channel's mean int8 - fp32 error {m_off:.5f} off, {m_on:.5f} on")
                    if not m_off > 0.03:
                        fails.append(f"the crafted model should shift the int8 output without correction: {m_off}")
                    if not m_on <= 0.2 * m_off:
                        fails.append(f"bias correction left a mean error of {m_on} (uncorrected {m_off})")
        _, out = build(bm, "bad", "--calib-bias-correction", "maybe", expect=2)
        if "--calib-bias-correction: expected on or off" not in out:
            fails.append(f"--calib-bias-correction maybe: {out}")
        r = subprocess.run([ei, "build", bm, "-o", os.path.join(tmp, "z.engine"), "--precision", "int8",
                            "--calib-cache", on + ".calib" if on else "x", "--calib-sens-weights", "off"],
                           capture_output=True, text=True)
        if r.returncode != 2 or "need --calib-images" not in r.stderr + r.stdout:
            fails.append(f"--calib-sens-weights with a cache and no images: exit {r.returncode} {r.stderr}")
        if on:  # the format-2 cache loads back and builds
            r = subprocess.run([ei, "build", bm, "-o", os.path.join(tmp, "again.engine"), "--precision", "int8",
                                "--calib-cache", on + ".calib"], capture_output=True, text=True)
            if r.returncode != 0 or "calibration skipped" not in r.stdout:
                fails.append(f"the format-2 cache did not load: {r.returncode} {r.stdout} {r.stderr}")

        # ---- 2. weight-aware sensitivity ----
        sm = os.path.join(tmp, "sens.onnx")
        sens_model(sm)
        ranks = {}
        for mode in ("on", "off"):
            eng, out = build(sm, "sens_" + mode, "--calib-target-cosine", "1", "--calib-max-float", "10",
                             "--calib-sens-weights", mode, "--calib-bias-correction", "off", "--calib-sens-images", "3")
            if not eng:
                continue
            _, comments, _ = read_cache(eng + ".calib")
            ranked = [re.match(r"# kept-float: (\S+) \(([0-9.]+);", c) for c in comments]
            ranks[mode] = [(m.group(1), float(m.group(2))) for m in ranked if m]
            print(f"sens-weights {mode}: {ranks[mode]}")
        if "on" in ranks:
            r = ranks["on"]
            if len(r) != 3 or r[0][0] not in ("r1", "r1.b8") or not r[0][1] < 0.5:
                fails.append(f"weights on: expected r1 first with a similarity < 0.5 of 3 tensors, got {r}")
        if "off" in ranks:
            r = ranks["off"]
            if not r or not all(c > 0.9 for _, c in r):
                fails.append(f"weights off: expected similarities above 0.9 only (activations), got {r}")
    for f in fails:
        print("FAIL:", f)
    print("quant_bias_correction:", "FAILED" if fails else "ok")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
