#!/usr/bin/env python3
"""edgeinfer against ONNX Runtime on the reference networks: same inputs, same threads, alternating.

    python bench/vs_onnxruntime.py [--threads N] [--duration S] [--rounds R] [--only NAME[,NAME]]
        [--edgeinfer PATH] [--fma-peak PATH] [--assets DIR] [--exported DIR]
        [--exported-dynamic DIR] [--out FILE.md]

For each model and batch size, R rounds; in each round `edgeinfer bench --json` runs for S/R
seconds and ONNX Runtime (intra_op_num_threads = N, ORT_ENABLE_ALL) for as long, the engine that
goes first alternating from round to round, so that both see the same machine load. Both warm up
the same way (at least 3 runs and 200 ms) and get the same tensors (the generator of
`edgeinfer bench`, docs/bench.md). The latencies of all rounds are pooled; median and p90 are
numpy.percentile's (linear interpolation), as in `edgeinfer bench`. GFLOP/s = 2 * MACs (from
`edgeinfer bench`) / median latency, against the FP32 FMA peak that bench/fma_peak measures for N
threads before and after the models (the higher of the two). The table is printed and written as markdown to
bench/results/<date>-<cpu>.md (or --out). A benchmark, not a test: it never fails on slowness.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WARMUP_RUNS, WARMUP_MIN_S = 3, 0.2

# name, where ("assets" or "exported"), relative path, batch. Batch > 1 uses the file exported
# with a symbolic batch dimension (models/export_all.py --dynamic-batch).
MODELS = [
    ("ssdlite320_mobilenet_v3", "exported", "ssdlite320_mobilenet_v3_large.onnx", 1),
    ("ssdlite320_mobilenet_v3", "exported", "ssdlite320_mobilenet_v3_large.onnx", 8),
    ("ssd_mobilenet_v1", "exported", "ssd_mobilenet_v1_voc.onnx", 1),
    ("ssd_mobilenet_v1", "exported", "ssd_mobilenet_v1_voc.onnx", 8),
    ("ssd300_vgg16", "exported", "ssd300_vgg16.onnx", 1),
    ("segformer_b0_512", "exported", "segformer_b0_512_opset17.onnx", 1),
    ("yolox_nano_416", "assets", "coco_detection/yolox_nano_416.onnx", 1),
    ("ulfd_rfb_320", "assets", "face_detection/ulfd-version-RFB-320.onnx", 1),
]


def lowbias32_inputs(shapes, dtypes):
    """The tensors `edgeinfer bench` feeds: element i of input k is lowbias32(i + k*0x9E3779B9)>>8
    scaled to [0, 1) (integers: x4 truncated; bool: lowest bit of the hash)."""
    out = []
    for k, (shape, dt) in enumerate(zip(shapes, dtypes)):
        n = int(np.prod(shape)) if shape else 1
        x = (np.arange(n, dtype=np.uint64) + np.uint64((k * 0x9E3779B9) & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)
        x = x.astype(np.uint32)
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
        h = x >> np.uint32(8)
        f = h.astype(np.float32) * np.float32(1.0 / 16777216.0)
        if dt == np.bool_:
            v = (h & np.uint32(1)).astype(np.bool_)
        elif np.issubdtype(dt, np.integer):
            v = (f * np.float32(4)).astype(dt)
        else:
            v = f.astype(dt)
        out.append(v.reshape(shape))
    return out


ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}


def parse_shapes(spec):
    """'a:1x3x4,b:2' -> {'a': [1, 3, 4], 'b': [2]} (the input_shapes string of the JSON)."""
    shapes = {}
    for item in filter(None, spec.split(",")):
        name, dims = item.rsplit(":", 1)
        shapes[name] = [int(d) for d in dims.split("x")]
    return shapes


def run_edgeinfer(exe, path, batch, threads, duration):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        jpath = f.name
    try:
        cmd = [exe, "bench", path, "--threads", str(threads), "--duration", f"{duration:g}",
               "--batch", str(batch), "--json", jpath]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"edgeinfer bench failed ({p.returncode}): {p.stderr.strip()[-500:]}")
        with open(jpath) as f:
            return json.load(f)["results"][0]
    finally:
        os.unlink(jpath)


class OrtRunner:
    def __init__(self, path, threads, shapes):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        t0 = time.perf_counter()
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.load_ms = (time.perf_counter() - t0) * 1e3
        ins = self.sess.get_inputs()
        dts = [ORT_TYPES.get(i.type, np.float32) for i in ins]
        arrays = lowbias32_inputs([shapes[i.name] for i in ins], dts)
        self.feeds = {i.name: a for i, a in zip(ins, arrays)}
        self.warm = False

    def run(self, duration):
        if not self.warm:  # the same rule as edgeinfer bench's default warm-up
            t0, n = time.perf_counter(), 0
            while n < WARMUP_RUNS or time.perf_counter() - t0 < WARMUP_MIN_S:
                self.sess.run(None, self.feeds)
                n += 1
            self.warm = True
        lat, start = [], time.perf_counter()
        while not lat or time.perf_counter() - start < duration:
            t0 = time.perf_counter()
            self.sess.run(None, self.feeds)
            lat.append((time.perf_counter() - t0) * 1e3)
        return lat


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgeinfer", default=os.path.join(ROOT, "build/tools/edgeinfer/edgeinfer"))
    ap.add_argument("--fma-peak", default=os.path.join(ROOT, "build/bench/fma_peak"))
    ap.add_argument("--assets", default=os.path.join(os.environ.get("EI_ASSETS_DIR", os.path.join(ROOT, "../shared/assets")), "models"),
                    help="the shared asset models (default $EI_ASSETS_DIR/models or ../shared/assets/models)")
    ap.add_argument("--exported", default=os.path.join(ROOT, "build/exported_models"),
                    help="models/export_all.py --out DIR")
    ap.add_argument("--exported-dynamic", default=os.path.join(ROOT, "build/exported_models_dynbatch"),
                    help="models/export_all.py --dynamic-batch --out DIR (for batch > 1)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per model per engine")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--out", help="markdown file (default bench/results/<date>-<cpu>.md)")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    only = {s for s in args.only.split(",") if s}
    todo = [m for m in MODELS if not only or m[0] in only]
    def measure_peak():
        return json.loads(subprocess.run([args.fma_peak, "--threads", str(args.threads), "--trials", "10",
                                          "--ms", "100", "--json"],
                                         capture_output=True, text=True, check=True).stdout)

    # Measured before and after the models; the higher one is the peak (on a shared machine a
    # lower one means the microbenchmark was disturbed, not that the cores got slower).
    peak = measure_peak()
    print(f"FP32 FMA peak, {args.threads} threads: {peak['gflops']:.1f} GFLOP/s ({peak['isa']})",
          file=sys.stderr)

    rows = []
    per_round = args.duration / args.rounds
    for name, where, rel, batch in todo:
        if where == "assets":
            path = os.path.join(args.assets, rel)
        else:
            path = os.path.join(args.exported if batch == 1 else args.exported_dynamic, rel)
        label = f"{name} b{batch}"
        if not os.path.exists(path):
            print(f"skip {label}: {path} is missing", file=sys.stderr)
            rows.append({"name": name, "batch": batch, "error": f"missing {os.path.relpath(path, ROOT)}"})
            continue
        print(f"{label}: {os.path.relpath(path, ROOT)}", file=sys.stderr, flush=True)
        ei_lat, ort_lat, ei_first, ortr, err = [], [], None, None, None
        try:
            for r in range(args.rounds):
                order = ("ei", "ort") if r % 2 == 0 else ("ort", "ei")
                for eng in order:
                    if eng == "ei":
                        res = run_edgeinfer(args.edgeinfer, path, batch, args.threads, per_round)
                        ei_first = ei_first or res
                        ei_lat += res["latencies_ms"]
                    else:
                        if ortr is None:
                            ortr = OrtRunner(path, args.threads, parse_shapes(ei_first["input_shapes"]))
                        ort_lat += ortr.run(per_round)
        except Exception as e:  # report and go on with the other models
            err = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            print(f"  FAILED: {err}", file=sys.stderr)
        if err or not ei_lat or not ort_lat:
            rows.append({"name": name, "batch": batch, "error": err or "no runs"})
            continue
        macs = ei_first["macs"]
        row = {"name": name, "batch": batch, "macs": macs,
               "ei_median": float(np.percentile(ei_lat, 50)), "ei_p90": float(np.percentile(ei_lat, 90)),
               "ort_median": float(np.percentile(ort_lat, 50)), "ort_p90": float(np.percentile(ort_lat, 90)),
               "ei_runs": len(ei_lat), "ort_runs": len(ort_lat),
               "ei_load_ms": ei_first["load_ms"] + ei_first["build_ms"], "ort_load_ms": ortr.load_ms,
               "ei_mem_mib": ei_first["session_memory_bytes"] / 2**20}
        row["ratio"] = row["ort_median"] / row["ei_median"]
        row["ei_gflops"] = 2 * macs / (row["ei_median"] * 1e6)
        row["ort_gflops"] = 2 * macs / (row["ort_median"] * 1e6)
        rows.append(row)
        print(f"  edgeinfer {row['ei_median']:.2f} ms, ORT {row['ort_median']:.2f} ms, "
              f"ratio {row['ratio']:.2f}", file=sys.stderr, flush=True)

    peak_end = measure_peak()
    peaks = (peak["gflops"], peak_end["gflops"])
    if peak_end["gflops"] > peak["gflops"]:
        peak = peak_end
    pk = peak["gflops"]
    lines = [
        "| model | batch | GMAC/img | edgeinfer median ms | p90 | ORT median ms | p90 | ORT/edgeinfer | "
        "edgeinfer GFLOP/s (% peak) | ORT GFLOP/s (% peak) | runs ei/ORT | start-up ms ei/ORT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['batch']} | | | | | | {r['error']} | | | | |")
            continue
        lines.append(
            f"| {r['name']} | {r['batch']} | {r['macs'] / r['batch'] / 1e9:.2f} | {r['ei_median']:.2f} | "
            f"{r['ei_p90']:.2f} | {r['ort_median']:.2f} | {r['ort_p90']:.2f} | **{r['ratio']:.2f}** | "
            f"{r['ei_gflops']:.1f} ({100 * r['ei_gflops'] / pk:.0f}%) | "
            f"{r['ort_gflops']:.1f} ({100 * r['ort_gflops'] / pk:.0f}%) | {r['ei_runs']}/{r['ort_runs']} | "
            f"{r['ei_load_ms']:.0f}/{r['ort_load_ms']:.0f} |")
    cpu = cpu_name()
    now = datetime.datetime.now()
    header = [
        f"# edgeinfer vs ONNX Runtime, {now:%Y-%m-%d %H:%M}",
        "",
        f"- CPU: {cpu}, {os.cpu_count()} online cores; threads: {args.threads}",
        f"- FP32 FMA peak ({peak['isa']}, bench/fma_peak): {pk:.1f} GFLOP/s for {args.threads} threads, "
        f"{peak['gflops_1_thread']:.1f} for one (the higher of {peaks[0]:.1f} before and {peaks[1]:.1f} "
        "after the models)",
        "- start-up: edgeinfer's engine load + session creation (what a deployment pays; the engine "
        "is built once, ahead of time) against ORT's InferenceSession from the ONNX file",
        f"- edgeinfer {git_commit()}, ONNX Runtime {ort.__version__} (ORT_ENABLE_ALL, "
        f"intra_op_num_threads={args.threads}), numpy {np.__version__}",
        f"- {args.rounds} alternating rounds, {args.duration:g} s per model per engine in all; "
        "warm-up: at least 3 runs and 200 ms",
        "- ORT/edgeinfer > 1 means edgeinfer is faster; GFLOP/s = 2 x MACs / median latency",
        "",
    ]
    table = "\n".join(header + lines) + "\n"
    print(table)
    out = args.out
    if not out:
        slug = re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-") or "cpu"
        out = os.path.join(HERE, "results", f"{now:%Y-%m-%d}-{slug}-t{args.threads}.md")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(table)
    print(f"written {os.path.relpath(out, os.getcwd())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
