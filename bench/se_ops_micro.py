#!/usr/bin/env python3
"""SSDLite320's squeeze-and-excitation operators on their own, as the blocked layout hands them to
our kernels: the 8 channel-scale Muls [1, C/8, H, W, 8] x [1, C/8, 1, 1, 8] and the 8 global
average pools over [1, C/8, H, W, 8] (AveragePool, kernel [H, W, 1]), one model each, timed with
`edgeinfer bench --json` (2 threads). Prints the minimum and median latency per model, which is
the kernels' time plus the session's per-run overhead (a few microseconds). A benchmark, not a
test; the machine is shared, so compare runs taken in the same minute and look at the minimum.

    python bench/se_ops_micro.py --edgeinfer build/tools/edgeinfer/edgeinfer [--iterations N]
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

# (channels, H, W) of SSDLite320-MobileNetV3-Large's SE blocks
SE_SHAPES = [(72, 40, 40), (120, 40, 40), (120, 40, 40), (480, 20, 20), (672, 20, 20), (672, 10, 10),
             (480, 10, 10), (480, 10, 10)]


def model(path, kind):
    nodes, ins, outs = [], [], []
    for i, (c, h, w) in enumerate(SE_SHAPES):
        cb = (c + 7) // 8
        x = f"x{i}"
        ins.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, cb, h, w, 8]))
        if kind == "mul":
            s = f"s{i}"
            ins.append(helper.make_tensor_value_info(s, TensorProto.FLOAT, [1, cb, 1, 1, 8]))
            nodes.append(helper.make_node("Mul", [s, x], [f"y{i}"]))
        else:
            nodes.append(helper.make_node("AveragePool", [x], [f"y{i}"], kernel_shape=[h, w, 1]))
        outs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None))
    g = helper.make_graph(nodes, kind, ins, outs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for kind in ("mul", "pool"):
            p = os.path.join(d, kind + ".onnx")
            model(p, kind)
            js = os.path.join(d, kind + ".json")
            subprocess.run([args.edgeinfer, "bench", p, "--threads", str(args.threads), "--iterations",
                            str(args.iterations), "--json", js], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            with open(js) as f:
                r = json.load(f)
            lat = None
            for b in r["results"]:
                for k in ("latencies_ms",):
                    if k in b and isinstance(b[k], list):
                        lat = np.array(b[k])
            if lat is None:
                raise SystemExit(f"no per-run latencies in {js}: keys {list(r)}")
            print(f"{kind:5s} (8 SE nodes): min {lat.min() * 1e3:7.1f} us  median {np.median(lat) * 1e3:7.1f} us")


if __name__ == "__main__":
    main()
