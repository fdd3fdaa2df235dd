"""Sensitivity analysis (docs/precision.md, "Sensitivity: tensors kept in float") on a crafted model:
x -> Conv -> Relu (r1) -> Conv -> Relu (r2) -> Conv -> y. r1 has one channel a thousand times larger
than the others, and the second convolution reads only the small ones: quantised per tensor
(minmax), r1's small channels round to zero and the output collapses, while r2 quantises well. The
analysis must keep r1 (and only r1, with --calib-max-float 1) in float: its line is gone from the
cache and named in the cache's comments and in the build's output; the ranking lists r1 first and
the single-tensor cosines in ascending order (the three convolution inputs x, r1, r2); the all-int8 cosine improves; target 0 turns the
analysis off (every tensor listed, no comment, no "sensitivity:" line); the commented cache loads
back; and the usage errors of the new options."""
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


def make_model(path):
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    w1[0] *= 1000.0  # channel 0 of r1: huge
    w2 = rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32)
    w2[:, 0] = 0.0  # the second convolution ignores it
    w3 = rng.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(w3, "w3")]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["y"]),
    ]
    g = helper.make_graph(nodes, "sens", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 32, 32])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def read_cache(path):
    rows, comments = {}, []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#") and "\t" not in line:
            comments.append(line)
        elif "\t" in line:
            name, scale, sign = line.split("\t")[:3]
            rows[name] = (float(scale), sign)
    return rows, comments


def has(rows, name):
    return name in rows or name + ".b8" in rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgeinfer", required=True)
    args = ap.parse_args()
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.onnx")
        make_model(model)
        cfg = os.path.join(tmp, "m.ini")
        with open(cfg, "w") as f:
            f.write("[property]\nonnx-file=m.onnx\nnetwork-type=1\nbatch-size=1\ninfer-dims=3;32;32\n"
                    "model-color-format=0\nnet-scale-factor=0.0078125\noffsets=127;127;127\nscaling-filter=1\n")
        imgdir = os.path.join(tmp, "imgs")
        os.makedirs(imgdir)
        rng = np.random.default_rng(5)
        for i in range(4):
            cv2.imwrite(os.path.join(imgdir, f"im{i}.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))

        def build(name, *extra, expect=0):
            out = os.path.join(tmp, name + ".engine")
            cmd = [args.edgeinfer, "build", model, "-o", out, "--precision", "int8", "-c", cfg, "--calib-images",
                   imgdir, "--calib-method", "minmax", *extra]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != expect:
                fails.append(f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}: {r.stdout} {r.stderr}")
                return None, None, r.stdout + r.stderr
            if expect:
                return None, None, r.stdout + r.stderr
            rows, comments = read_cache(out + ".calib")
            return rows, comments, r.stdout + r.stderr

        # Off: every convolution input listed, no comment from the analysis.
        off, off_c, off_out = build("off", "--calib-target-cosine", "0")
        if off is not None:
            if not (has(off, "r1") and has(off, "r2")):
                fails.append(f"target 0: r1 / r2 missing from {sorted(off)}")
            if any("sensitivity" in c for c in off_c) or "sensitivity:" in off_out:
                fails.append("target 0 still ran the analysis")
        # One tensor at most: r1, the damaging one.
        one, one_c, one_out = build("one", "--calib-target-cosine", "0.999999", "--calib-max-float", "1",
                                    "--calib-sens-images", "3")
        if one is not None:
            if has(one, "r1") or not has(one, "r2"):
                fails.append(f"max-float 1: expected r1 removed and r2 kept, table {sorted(one)}")
            if not any(re.search(r"kept-float: r1(\.b8)? ", c) for c in one_c):
                fails.append(f"max-float 1: r1 not named in the comments {one_c}")
            m = re.search(r"sensitivity: 1 of 3 tensors kept in float \(all-int8 cosine ([0-9.]+) -> ([0-9.]+)", one_out)
            if not m:
                fails.append(f"max-float 1: no summary line in {one_out}")
            elif not float(m.group(2)) > float(m.group(1)):
                fails.append(f"max-float 1: the cosine did not improve: {m.group(0)}")
            elif not float(m.group(1)) < 0.9:
                fails.append(f"the crafted model should collapse with r1 quantised: {m.group(0)}")
            if "3 images" not in one_out:
                fails.append(f"--calib-sens-images 3 not used: {one_out}")
            # The commented cache loads back and builds the engine (r1's convolution stays float).
            r = subprocess.run([args.edgeinfer, "build", model, "-o", os.path.join(tmp, "again.engine"), "--precision",
                                "int8", "--calib-cache", os.path.join(tmp, "one.engine.calib")],
                               capture_output=True, text=True)
            if r.returncode != 0 or "calibration skipped" not in r.stdout:
                fails.append(f"the cache with comments did not load: {r.returncode} {r.stdout} {r.stderr}")
        # The whole ranking: ascending single-tensor cosines, r1 first.
        allk, all_c, _ = build("all", "--calib-target-cosine", "1", "--calib-max-float", "10")
        if allk is not None:
            ranked = [re.match(r"# kept-float: (\S+) \(([0-9.]+);", c) for c in all_c]
            ranked = [(m.group(1), float(m.group(2))) for m in ranked if m]
            if len(ranked) != 3 or ranked[0][0] not in ("r1", "r1.b8"):
                fails.append(f"ranking {ranked}: expected r1 first of the three convolution inputs (x, r1, r2)")
            elif any(a[1] > b[1] for a, b in zip(ranked, ranked[1:])):
                fails.append(f"ranking not ascending: {ranked}")
        # Usage errors.
        for extra, want in ((["--calib-target-cosine", "1.5"], "must be 0..1"),
                            (["--calib-max-float", "-1"], "--calib-max-float must be"),
                            (["--calib-sens-images", "0"], "--calib-sens-images must be")):
            _, _, out = build("bad", *extra, expect=2)
            if want not in out:
                fails.append(f"{extra}: expected '{want}' in {out}")
        r = subprocess.run([args.edgeinfer, "build", model, "-o", os.path.join(tmp, "x.engine"), "--calib-max-float",
                            "3"], capture_output=True, text=True)
        if r.returncode != 2 or "go with --precision int8" not in r.stderr + r.stdout:
            fails.append(f"--calib-max-float without int8: exit {r.returncode} {r.stderr}")
        r = subprocess.run([args.edgeinfer, "build", "--help"], capture_output=True, text=True)
        if "--keep-fp32" not in r.stdout or "--calib-target-cosine" not in r.stdout:
            fails.append("build --help does not describe the sensitivity options")
    for f in fails:
        print("FAIL:", f)
    print("quant_sensitivity:", "FAILED" if fails else "ok")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
