"""Helpers of the QDQ tests: run the edgeinfer CLI on a model and read its outputs back."""
import os
import re
import subprocess

import numpy as np


def sanitize(name):
    """Output file name rule of `edgeinfer run --output-dir`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def run_edgeinfer(cli, model, feeds, work, extra=()):
    """Runs `edgeinfer run MODEL --input NAME=FILE.npy ... --output-dir DIR`; returns
    (returncode, {output name: array}, stderr+stdout text)."""
    os.makedirs(work, exist_ok=True)
    cmd = [cli, "run", model]
    for name, arr in feeds.items():
        p = os.path.join(work, sanitize(name) + ".in.npy")
        np.save(p, arr)
        cmd += ["--input", f"{name}={p}"]
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    cmd += ["--output-dir", out_dir, *extra]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    outs = {}
    if res.returncode == 0:
        for f in os.listdir(out_dir):
            if f.endswith(".npy"):
                outs[f[:-4]] = np.load(os.path.join(out_dir, f))
    return res.returncode, outs, res.stdout + res.stderr


def ort_run(model_path, feeds, optimized=False):
    import onnxruntime as ort
    so = ort.SessionOptions()
    if not optimized:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model_path, sess_options=so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def check_vs_ort(cli, model, feeds, work, exact=False, rtol=1e-6, atol=1e-6, out="y"):
    """Runs model on feeds in ONNX Runtime and in edgeinfer; returns None when output `out` matches
    (bit for bit when exact, else np.allclose(rtol, atol)), or a message saying how it differs."""
    want = ort_run(model, feeds)[out]
    rc, outs, log = run_edgeinfer(cli, model, feeds, work)
    if rc != 0 or out not in outs:
        return f"edgeinfer exit {rc}: {log.strip()[-400:]}"
    got = outs[out]
    if got.shape != want.shape:
        return f"shape {got.shape}, ONNX Runtime {want.shape}"
    if exact and not np.array_equal(got, want):
        return f"differs from ONNX Runtime (max |d| {np.abs(got - want).max()})"
    if not exact and not np.allclose(got, want, rtol=rtol, atol=atol):
        return f"max |d| {np.abs(got - want).max():.3g} over {atol}"
    return None
