"""Calibration in batches (docs/precision.md, "INT8 calibration"): a small Conv/Relu/Sigmoid model
with a symbolic batch, 3 images, built with --batch 1 and --batch 2 (the last batch half full:
its free slot repeats the last image and is not observed). Both caches must list the same tensors
with the same signedness and thresholds within one histogram bin, the input's minmax threshold
must be the largest pre-processed value (computed here with numpy), and a list file with a
comment and relative paths must give the same table as the folder."""
import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_model(path):
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1")
    # One output channel: in the 8-channel blocked layout, 7 of every 8 values of s2.b8 are padding.
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (1, 8, 3, 3)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("GlobalAveragePool", ["s2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["y"]),
    ]
    g = helper.make_graph(nodes, "calib_batch",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
                           helper.make_tensor_value_info("s2", TensorProto.FLOAT, ["N", 1, 32, 32])], [w1, b1, w2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def read_cache(path):
    header, rows = {}, {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if "\t" in line:
            name, scale, sign = line.split("\t")[:3]
            rows[name] = (float(scale), sign)
        else:
            k, v = line.split(":", 1)
            header[k] = v.strip()
    return header, rows


def entry(table, name):
    """A tensor's entry under its name in the optimised graph: 'r1', or 'r1.b8' where the value was
    rewritten to the 8-channel blocked layout."""
    return table.get(name, table.get(name + ".b8", (0.0, "missing")))


def build(cli, model, out, cfg, images, *extra):
    cmd = [cli, "build", model, "-o", out, "--precision", "int8", "-c", cfg, "--calib-images", images, "--calib-target-cosine", "0", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 4) or (r.returncode == 4 and "fp32 engines only" not in r.stderr):
        print(" ".join(cmd), "exited", r.returncode, r.stdout, r.stderr)
        sys.exit(1)
    return read_cache(out + ".calib")


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
        rng = np.random.default_rng(11)
        imgs = []
        for i in range(3):
            img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            img[:, :, i] = 255 if i == 2 else img[:, :, i] // 2  # the third image holds the largest values
            cv2.imwrite(os.path.join(imgdir, f"im{i}.png"), img)
            imgs.append(img)
        h1, t1 = build(args.edgeinfer, model, os.path.join(tmp, "b1.engine"), cfg, imgdir, "--batch", "1")
        h2, t2 = build(args.edgeinfer, model, os.path.join(tmp, "b2.engine"), cfg, imgdir, "--batch", "2")
        if h1["images"] != "3" or h2["images"] != "3":
            fails.append(f"images {h1['images']} / {h2['images']}, expected 3")
        if set(t1) != set(t2):
            fails.append(f"tensors differ: {sorted(set(t1) ^ set(t2))}")
        for name in t1.keys() & t2.keys():
            (s1, u1), (s2, u2) = t1[name], t2[name]
            if u1 != u2:
                fails.append(f"{name}: {u1} with batch 1, {u2} with batch 2")
            # One bin of the histogram: amax / 2048, with amax <= 127 * the larger scale.
            if abs(s1 - s2) * 127 > max(s1, s2) * 127 / 2048 * 1.01:
                fails.append(f"{name}: scale {s1} with batch 1, {s2} with batch 2")
        for name, want in (("x", "signed"), ("r1", "unsigned"), ("s2", "unsigned"), ("y", "unsigned")):
            if entry(t1, name)[1] != want:
                fails.append(f"{name}: {entry(t1, name)}, expected {want}")
        # minmax: the input's threshold is max |(pixel - 127) / 128| over the images (RGB network).
        _, tm = build(args.edgeinfer, model, os.path.join(tmp, "mm.engine"), cfg, imgdir, "--batch", "2",
                      "--calib-method", "minmax")
        amax = max(float(np.max(np.abs((im.astype(np.float32) - 127) * np.float32(0.0078125)))) for im in imgs)
        if abs(tm["x"][0] * 127 - amax) > 1e-6 * amax:
            fails.append(f"minmax input threshold {tm['x'][0] * 127} vs numpy {amax}")
        # Blocked twins ("s2.b8" and the plain "s2" that the graph output reads) hold the same
        # activations: the padding lanes of the blocked one are not counted.
        _, tp = build(args.edgeinfer, model, os.path.join(tmp, "pc.engine"), cfg, imgdir, "--batch", "2",
                      "--calib-method", "percentile")
        twins = 0
        for method, table in (("entropy", t1), ("entropy batch 2", t2), ("minmax", tm), ("percentile", tp)):
            for name in table:
                if name.endswith(".b8") and name[:-3] in table:
                    twins += 1
                    if table[name] != table[name[:-3]]:
                        fails.append(f"{method}: {name} {table[name]} but {name[:-3]} {table[name[:-3]]}")
        # A list file (comment, blank line, relative paths) gives the folder's table.
        lst = os.path.join(tmp, "list.txt")
        with open(lst, "w") as f:
            f.write("# three images\n\n" + "".join(f"imgs/im{i}.png\n" for i in range(3)))
        _, tl = build(args.edgeinfer, model, os.path.join(tmp, "l.engine"), cfg, lst, "--batch", "1")
        if tl != t1:
            fails.append("list file and folder give different tables")
        print(f"{len(t1)} tensors; batch 1 vs 2: x {t1['x']} / {t2['x']}, r1 {entry(t1, 'r1')} / {entry(t2, 'r1')}; minmax x {tm['x']}; "
              f"{twins} blocked/plain twins compared")
    for f in fails:
        print("FAIL", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
