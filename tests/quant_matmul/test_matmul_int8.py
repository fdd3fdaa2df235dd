#!/usr/bin/env python3
"""INT8 MatMul end to end: a small transformer-like ONNX model (linear layers = MatMul with a
constant [K, N] weight, a bias Add, Relu, an attention-style MatMul of two activations, a rank-2
input) gets a hand-written calibration cache; `edgeinfer build --precision int8 --calib-cache`
must rewrite exactly the MatMuls with constant weights (the report says how many), and `edgeinfer
run` of the engine must equal a numpy oracle of ei.MatMulInt8's arithmetic (A per tensor, u8 for a
never-negative A, B 7-bit symmetric per column, int32 sums, one float multiply) within 2e-6 of
the output's range, and stay close to ONNX Runtime's float results (cosine > 0.999). A MatMul named
in --keep-fp32 stays float; a cache scale of 0 for a MatMul input is refused naming the tensor.

    test_matmul_int8.py --edgeinfer build/tools/edgeinfer/edgeinfer --work DIR
"""
import argparse
import hashlib
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qdq"))
from qdq_common import ort_run, run_edgeinfer  # noqa: E402

W_MAX = 63  # EI_INT8_WEIGHT_MAX


def make_model(path, rng):
    d, h, o = 48, 72, 40
    inits = {
        "W1": (rng.standard_normal((d, h)) * 0.2).astype(np.float32),
        "b1": (rng.standard_normal(h) * 0.1).astype(np.float32),
        "W2": (rng.standard_normal((h, o)) * 0.2).astype(np.float32),
        "W3": (rng.standard_normal((d, 24)) * 0.3).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h1"], name="fc1"),
        helper.make_node("Add", ["h1", "b1"], ["h2"], name="fc1_bias"),
        helper.make_node("Relu", ["h2"], ["h3"], name="act"),
        helper.make_node("MatMul", ["h3", "W2"], ["y"], name="fc2"),
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1], name="xt"),
        helper.make_node("MatMul", ["x", "xt"], ["attn"], name="attn"),  # two activations: stays float
        helper.make_node("MatMul", ["v", "W3"], ["z"], name="fc3"),
    ]
    g = helper.make_graph(
        nodes, "mm8",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 37, d]),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [5, d])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "attn", "z")],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)
    return inits


def write_cache(path, model_path, entries):
    sha = hashlib.sha256(open(model_path, "rb").read()).hexdigest()
    with open(path, "w") as f:
        f.write(f"format: 1\nmodel-sha256: {sha}\nmethod: minmax\nimages: 1\n")
        for name, scale, unsigned in entries:
            f.write(f"{name}\t{scale:.9g}\t{'unsigned' if unsigned else 'signed'}\n")


def quant_a(a, table_scale, unsigned):
    step = np.float32(table_scale * 127.0 / 255.0) if unsigned else np.float32(table_scale)
    q = np.rint(a.astype(np.float32) * (np.float32(1.0) / step))  # round half to even, as the kernels
    return np.clip(q, 0, 255) if unsigned else np.clip(q, -127, 127), step


def quant_b(w):
    s = np.abs(w).max(axis=0) / np.float32(W_MAX)
    s = np.where(s > 0, s, np.float32(1.0)).astype(np.float32)
    return np.clip(np.rint(w / s), -W_MAX, W_MAX), s


def oracle(a, w, table_scale, unsigned):
    qa, step = quant_a(a, table_scale, unsigned)
    qb, bs = quant_b(w)
    acc = (qa.astype(np.int64) @ qb.astype(np.int64)).astype(np.float32)
    return acc * (step * bs).astype(np.float32)


def build(cli, model, engine, cache, extra=()):
    """Builds the int8 engine; returns the exit code and the build's output plus `edgeinfer info`'s."""
    r = subprocess.run([cli, "build", model, "-o", engine, "--precision", "int8", "--calib-cache", cache, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    if r.returncode != 0:
        return r.returncode, r.stdout
    i = subprocess.run([cli, "info", engine], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return r.returncode, r.stdout + i.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(5)
    model = os.path.join(args.work, "mm8.onnx")
    w = make_model(model, rng)
    x = rng.standard_normal((1, 37, 48)).astype(np.float32)
    v = rng.standard_normal((5, 48)).astype(np.float32)
    feeds = {"x": x, "v": v}
    ref = ort_run(model, feeds)
    h3 = np.maximum(x @ w["W1"] + w["b1"], 0)
    sx, sh, sv = float(np.abs(x).max()) / 127, float(h3.max()) / 127, float(np.abs(v).max()) / 127 * 0.8
    cache = os.path.join(args.work, "mm8.calib")
    write_cache(cache, model, [("x", sx, False), ("h3", sh, True), ("v", sv, False)])
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    engine = os.path.join(args.work, "mm8.engine")
    rc, log = build(args.edgeinfer, model, engine, cache)
    check(rc == 0 and "3 of 3 MatMuls in int8" in log, f"build: 3 of 3 MatMuls in int8 (exit {rc}: {log.strip()[-300:]})")
    rc, outs, log = run_edgeinfer(args.edgeinfer, engine, feeds, os.path.join(args.work, "run"))
    check(rc == 0 and {"y", "attn", "z"} <= set(outs), f"run the int8 engine (exit {rc}: {log.strip()[-300:]})")
    if rc == 0:
        # fc2 reads h3 = relu(fc1 + b1), which is itself computed in int8: the oracle follows the chain.
        h1 = oracle(x.reshape(37, 48), w["W1"], sx, False)
        h3q = np.maximum(h1 + w["b1"], 0)
        want_y = oracle(h3q, w["W2"], sh, True).reshape(1, 37, 40)
        want_z = oracle(v, w["W3"], sv, False)
        for name, want in (("y", want_y), ("z", want_z)):
            got = outs[name]
            err = float(np.abs(got - want).max()) / float(np.abs(want).max())
            check(got.shape == want.shape and err < 2e-6, f"{name} equals the int8 oracle (relative max error {err:.2e})")
            cos = float((got * ref[name]).sum() / np.linalg.norm(got) / np.linalg.norm(ref[name]))
            check(cos > 0.999, f"{name} close to ONNX Runtime's float result (cosine {cos:.6f})")
        check(np.allclose(outs["attn"], ref["attn"], rtol=1e-5, atol=1e-5), "attention MatMul of two activations stays float")

    rc, log = build(args.edgeinfer, model, os.path.join(args.work, "keep.engine"), cache, ["--keep-fp32", "fc2"])
    check(rc == 0 and "2 of 3 MatMuls in int8" in log, f"--keep-fp32 fc2 keeps it float ({log.strip()[-200:]})")

    bad = os.path.join(args.work, "bad.calib")
    write_cache(bad, model, [("x", sx, False), ("h3", 0.0, True), ("v", sv, False)])
    rc, log = build(args.edgeinfer, model, os.path.join(args.work, "bad.engine"), bad)
    check(rc in (2, 3) and "h3" in log and not os.path.exists(os.path.join(args.work, "bad.engine")),
          f"a zero scale is refused naming the tensor (exit {rc}: {log.strip()[-200:]})")

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
