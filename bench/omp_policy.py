#!/usr/bin/env python3
"""OpenMP wait policy for the oneDNN build: idle and with one busy core, against the reference build
and ONNX Runtime, in the same run.

    python bench/omp_policy.py --dnnl PATH --ref PATH [--threads 2] [--duration 1] [--rounds 3]
        [--only NAME[,NAME]] [--loads idle,busy1] [--policies P[,P]] [--out FILE.md]

For each load condition (idle: nothing added; busy1: one `yes > /dev/null` started here), each
model and each round, every engine runs `--duration` seconds, in an order rotated from round to
round: the reference build (EI_WITH_ONEDNN=OFF), the oneDNN build under each libgomp setting, and
ONNX Runtime (its own thread pool; no OpenMP). Latencies of all rounds are pooled; the median is printed with the load
average seen during the condition. A benchmark, not a test.
"""
import argparse
import datetime
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vs_onnxruntime as vs  # noqa: E402

# libgomp's built-in default is GOMP_SPINCOUNT=300000 with OMP_WAIT_POLICY unset (libgomp/env.c;
# the throttled count stays 100 as without the variable), so "default" sets it explicitly: the CLI
# then keeps it and does not re-execute. "cli" sets nothing: the CLI's own choice.
POLICIES = [
    ("cli", {}),
    ("default", {"GOMP_SPINCOUNT": "300000"}),
    ("passive", {"OMP_WAIT_POLICY": "passive"}),
    ("spin1k", {"GOMP_SPINCOUNT": "1000"}),
    ("spin10k", {"GOMP_SPINCOUNT": "10000"}),
    ("spin100k", {"GOMP_SPINCOUNT": "100000"}),
]
OMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "EI_OMP_POLICY", "EI_OMP_POLICY_APPLIED")


def run_with_env(exe, path, batch, threads, duration, extra):
    saved = {k: os.environ.get(k) for k in OMP_VARS}
    try:
        for k in OMP_VARS:
            os.environ.pop(k, None)
        os.environ.update(extra)
        r = vs.run_edgeinfer(exe, path, batch, threads, duration)
        return list(r["latencies_ms"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dnnl", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="ssdlite320_mobilenet_v3,ssd300_vgg16,yolox_nano_416,ulfd_rfb_320")
    ap.add_argument("--loads", default="idle,busy1")
    ap.add_argument("--policies", default=",".join(p for p, _ in POLICIES))
    ap.add_argument("--assets", default=os.path.join(os.environ.get("EI_ASSETS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "assets")), "models"))
    ap.add_argument("--exported", default=os.path.join(vs.ROOT, "build/exported_models"))
    ap.add_argument("--out")
    args = ap.parse_args()
    only = set(args.only.split(","))
    pols = [p for p in POLICIES if p[0] in args.policies.split(",")]
    models = [m for m in vs.MODELS if m[0] in only and m[3] == 1]
    engines = [("ref", None)] + [("dnnl-" + n, e) for n, e in pols] + [("ort", None)]
    lines = []
    for load in args.loads.split(","):
        bg = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) if load == "busy1" else None
        try:
            la = []
            for name, where, rel, batch in models:
                path = os.path.join(args.assets if where == "assets" else args.exported, rel)
                lat = {e: [] for e, _ in engines}
                ort = None
                for r in range(args.rounds):
                    la.append(os.getloadavg()[0])
                    order = engines[r % len(engines):] + engines[:r % len(engines)]
                    for e, env in order:
                        if e == "ort":
                            if ort is None:
                                shp = vs.parse_shapes(vs.run_edgeinfer(args.ref, path, batch, args.threads, 0.05)["input_shapes"])
                                ort = vs.OrtRunner(path, args.threads, shp)
                            lat[e] += ort.run(args.duration)
                        elif e == "ref":
                            lat[e] += run_with_env(args.ref, path, batch, args.threads, args.duration, {})
                        else:
                            lat[e] += run_with_env(args.dnnl, path, batch, args.threads, args.duration, env)
                row = " | ".join(f"{np.median(lat[e]):.1f}" for e, _ in engines)
                line = f"| {load} | {name} | {row} |"
                print(line, flush=True)
                lines.append(line)
            print(f"load {load}: 1-min load average {min(la):.2f} to {max(la):.2f}", flush=True)
            lines.append(f"| {load} | load avg {min(la):.2f}-{max(la):.2f} |" + " |" * len(engines))
        finally:
            if bg is not None:
                bg.terminate()
                bg.wait()
    head = "| load | model | " + " | ".join(e for e, _ in engines) + " |\n|---|---|" + "---:|" * len(engines)
    text = f"median ms, {args.threads} threads, {args.rounds} x {args.duration:g} s per engine, " \
           f"{datetime.datetime.now():%Y-%m-%d %H:%M}\n\n{head}\n" + "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
