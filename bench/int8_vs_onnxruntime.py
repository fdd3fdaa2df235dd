#!/usr/bin/env python3
"""INT8 against fp32 and against ONNX Runtime's statically quantised QDQ model, in one run.

    python bench/int8_vs_onnxruntime.py [--threads N] [--duration S] [--rounds R] [--only NAME[,NAME]]
        [--calib-frames N] [--save-qdq DIR] [--reuse-qdq] [--quantize-tail] [--activations s8|u8]
        [--ort-calib minmax|entropy|percentile] [--work DIR] [--edgeinfer PATH] [--assets DIR]
        [--exported DIR] [--out FILE.md]

For YOLOX-nano (shared assets), SSD300-VGG16 and SSDLite320-MobileNetV3 (random-weight exports of
models/export_all.py) it measures

  ort-fp32    ONNX Runtime on the float model (ORT_ENABLE_ALL)
  ort-int8    ONNX Runtime on the QDQ model that onnxruntime.quantization.quantize_static makes
              (QDQ format, per_channel=True, weights QInt8, activations QInt8 symmetric:
              extra_options ActivationSymmetric=True, MinMax calibration; the decoding tail after
              the last convolutions excluded, see tail_nodes); ORT_ENABLE_ALL turns the pairs into
              its int8 kernels (QLinearConv...)
  ei-fp32     edgeinfer's fp32 engine
  ei-int8     edgeinfer's int8 engine: `edgeinfer build --precision int8 -c CONFIG --calib-images DIR`
  ei-qdq      the same QDQ model through edgeinfer (`edgeinfer build QDQ.onnx`): int8 from the
              model's own scales where the build has int8 engines (it then says "QDQ model: N
              tensors quantised by the model's own scales"), otherwise float semantics (the pairs
              run as float operators), labelled so

Both calibrations use the SAME images: --calib-frames frames spread evenly over the sample videos
(ASSETS/videos, extracted with ffmpeg into WORK/calib/), pre-processed for ONNX Runtime as the
model's inference config says (configs/yolox_nano.ini: BGR, top-left letterbox, pad 114, raw
0..255; the SSD exports: RGB, bilinear resize, ImageNet mean/std, as tests/models/model_inputs.py
and the generated WORK/<model>.ini). Rows that the edgeinfer binary cannot build yet (no int8
engines) are skipped with the reason; the rest still runs.

Timing follows bench/vs_onnxruntime.py: R rounds, each engine runs S/R seconds per round, the
engine that goes first rotating from round to round so that all see the same machine load; the
same warm-up (3 runs and 200 ms) and the same input tensors (the generator of `edgeinfer bench`);
latencies of all rounds pooled; median and p90 (numpy.percentile). Printed per model: median/p90 of
each engine, int8 speed-up against our fp32, and ours against ORT's int8. A benchmark, not a test:
it never fails on slowness. The QDQ models are kept in --save-qdq DIR (default build/qdq_models)
for accuracy evaluation (`edgeinfer eval`).
"""
import argparse
import datetime
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))
import model_inputs as mi  # noqa: E402
from vs_onnxruntime import OrtRunner, cpu_name, git_commit, parse_shapes, run_edgeinfer  # noqa: E402

# name, where ("assets" / "exported"), relative path, config in configs/ (None: generated), recipe
MODELS = [
    ("yolox_nano_416", "assets", "coco_detection/yolox_nano_416.onnx", "yolox_nano.ini",
     mi.ASSET_SPECS["coco_detection/yolox_nano_416.onnx"]),
    ("ssd300_vgg16", "exported", "ssd300_vgg16.onnx", "ssd300_vgg16.ini", mi.EXPORTED_SPECS["ssd300_vgg16.onnx"]),
    ("ssdlite320_mobilenet_v3", "exported", "ssdlite320_mobilenet_v3_large.onnx", "ssdlite320.ini",
     mi.EXPORTED_SPECS["ssdlite320_mobilenet_v3_large.onnx"]),
]
ENGINES = ["ort-fp32", "ort-int8", "ei-fp32", "ei-int8", "ei-qdq"]


def extract_calib_frames(videos_dir, out_dir, n):
    """n frames spread evenly over the sample videos, as PNG files in out_dir (kept between runs)."""
    os.makedirs(out_dir, exist_ok=True)
    have = sorted(f for f in os.listdir(out_dir) if f.endswith(".png"))
    if len(have) >= n:
        return [os.path.join(out_dir, f) for f in have[:n]]
    if not shutil.which("ffmpeg"):
        raise RuntimeError("ffmpeg is not installed: it extracts the calibration frames (apt-get install ffmpeg)")
    videos = sorted(f for f in os.listdir(videos_dir) if f.endswith(".mp4"))
    if not videos:
        raise RuntimeError(f"no .mp4 in {videos_dir}")
    paths = []
    for k in range(n):
        video = os.path.join(videos_dir, videos[k % len(videos)])
        # frames 30, 90, 150, ... of each video in turn: different scenes, not the first frame
        index = 30 + 60 * (k // len(videos))
        png = os.path.join(out_dir, f"frame_{k:03d}_{os.path.splitext(videos[k % len(videos)])[0]}_{index}.png")
        paths.append(mi.extract_video_frame(video, index, png))
    return paths


def write_config(path, onnx_path, spec):
    """An inference config with the model's pre-processing, for models without one in configs/."""
    r = spec.recipe
    with open(path, "w") as f:
        f.write("# generated by bench/int8_vs_onnxruntime.py: the pre-processing of tests/models/model_inputs.py\n"
                f"[property]\nonnx-file={onnx_path}\nnetwork-type=100\nbatch-size=1\n"
                f"infer-dims=3;{r.height};{r.width}\nmodel-color-format={0 if r.colour == 'RGB' else 1}\n"
                "mean=0.485;0.456;0.406\nstd=0.229;0.224;0.225\nscaling-filter=1\nmaintain-aspect-ratio=0\n")
    return path


def opset13(src, work):
    """src, or a copy converted to opset 13 when older: per-channel DequantizeLinear (its axis
    attribute) needs opset 13, and quantize_static writes it whatever the model's opset (YOLOX-nano
    is opset 11)."""
    import onnx
    m = onnx.load(src)
    version = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 13)
    if version >= 13:
        return src
    from onnx import version_converter
    dst = os.path.join(work, os.path.splitext(os.path.basename(src))[0] + "_opset13.onnx")
    onnx.save(version_converter.convert_version(m, 13), dst)
    return dst


def tail_nodes(path):
    """Names of the nodes after the last convolutions: no Conv/MatMul/Gemm reads anything they
    compute (the decoding tail: sigmoids, grid offsets, the final Concat). quantize_static would
    quantise them too; YOLOX-nano's output Concat, for one, mixes boxes in pixels with scores in
    0..1 under one scale (steps of about 3, so every score rounds to 0 or 3.3)."""
    import onnx
    m = onnx.load(path)
    readers = {}
    for n in m.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    heavy = {"Conv", "MatMul", "Gemm", "ConvTranspose"}
    memo = {}

    def feeds_heavy(n):
        if n.name in memo:
            return memo[n.name]
        memo[n.name] = False
        r = any(c.op_type in heavy or feeds_heavy(c) for o in n.output for c in readers.get(o, []))
        memo[n.name] = r
        return r

    sys.setrecursionlimit(100000)
    return [n.name for n in m.graph.node if n.name and n.op_type not in heavy and not feeds_heavy(n)]


def quantize_qdq(src, dst, input_name, tensors, exclude, activations="s8", method="minmax"):
    """ORT static quantisation to QDQ: per-channel int8 weights; activations symmetric int8 (s8)
    or asymmetric uint8 (u8: ORT's default, its fast path on x86 without VNNI)."""
    import logging

    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{input_name: t} for t in tensors])

        def get_next(self):
            return next(self.it, None)

    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8 if activations == "s8" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    calibrate_method={"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                                      "percentile": CalibrationMethod.Percentile}[method],
                    nodes_to_exclude=exclude, extra_options={"ActivationSymmetric": activations == "s8"})


def build_engine(exe, args_list, engine):
    """Runs `edgeinfer build ... -o engine`; (ok, stdout+stderr)."""
    p = subprocess.run([exe, "build", *args_list, "-o", engine], capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def first_error_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    err = [l for l in lines if l.startswith("error")]
    return (err or lines or ["?"])[-1][:200]


def stats(lat):
    return (float(np.percentile(lat, 50)), float(np.percentile(lat, 90)), len(lat)) if lat else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgeinfer", default=os.path.join(ROOT, "build/tools/edgeinfer/edgeinfer"))
    ap.add_argument("--assets", default=os.environ.get("EI_ASSETS_DIR", os.path.join(ROOT, "../shared/assets")))
    ap.add_argument("--exported", default=os.path.join(ROOT, "build/exported_models"),
                    help="models/export_all.py --out DIR")
    ap.add_argument("--work", default=os.path.join(ROOT, "build/int8_bench"),
                    help="calibration frames, generated configs and engines")
    ap.add_argument("--save-qdq", default=os.path.join(ROOT, "build/qdq_models"),
                    help="where the ORT QDQ models are written (kept for accuracy evaluation)")
    ap.add_argument("--calib-frames", type=int, default=16)
    ap.add_argument("--activations", choices=["s8", "u8"], default="s8",
                    help="activations of ORT's QDQ model: s8 symmetric QInt8 (default, what edgeinfer's int8 "
                         "uses) or u8 asymmetric QUInt8 (ORT's default and its faster kernels on AVX2 without VNNI; "
                         "file *_qdq_u8.onnx)")
    ap.add_argument("--ort-calib", choices=["minmax", "entropy", "percentile"], default="minmax",
                    help="quantize_static's calibrate_method (default minmax, ORT's default; the file name "
                         "gets _entropy / _percentile)")
    ap.add_argument("--reuse-qdq", action="store_true",
                    help="use the QDQ models already in --save-qdq DIR instead of quantising again")
    ap.add_argument("--quantize-tail", action="store_true",
                    help="let quantize_static quantise the decoding tail after the last convolutions too "
                         "(default: nodes_to_exclude; see tail_nodes)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per model per engine")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--out", help="also write the table as markdown to this file")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    only = {s for s in args.only.split(",") if s}
    todo = [m for m in MODELS if not only or m[0] in only]
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.save_qdq, exist_ok=True)
    calib_dir = os.path.join(args.work, "calib")
    frames = extract_calib_frames(os.path.join(args.assets, "videos"), calib_dir, args.calib_frames)
    print(f"calibration: {len(frames)} video frames in {os.path.relpath(calib_dir, os.getcwd())}", file=sys.stderr)

    results, notes = [], []
    per_round = args.duration / args.rounds
    for name, where, rel, cfg_name, spec in todo:
        src = os.path.join(args.assets, "models", rel) if where == "assets" else os.path.join(args.exported, rel)
        if not os.path.exists(src):
            print(f"skip {name}: {src} is missing", file=sys.stderr)
            results.append({"name": name, "error": f"missing {src}"})
            continue
        print(f"{name}: {os.path.relpath(src, os.getcwd())}", file=sys.stderr, flush=True)
        cfg = os.path.join(ROOT, "configs", cfg_name)
        if not os.path.exists(cfg):
            cfg = write_config(os.path.join(args.work, cfg_name), os.path.abspath(src), spec)

        # (b) the ORT QDQ model, calibrated on the frames pre-processed as the config says
        qdq = os.path.join(args.save_qdq, f"{name}_qdq{'' if args.activations == 's8' else '_u8'}"
                                          f"{'' if args.ort_calib == 'minmax' else '_' + args.ort_calib}.onnx")
        t0 = time.perf_counter()
        tensors = [spec.recipe.apply(mi.load_image_rgb(f)) for f in frames]
        src13 = opset13(src, args.work)
        exclude = [] if args.quantize_tail else tail_nodes(src13)
        if args.reuse_qdq and os.path.exists(qdq):
            print(f"  reusing {qdq} (--reuse-qdq)", file=sys.stderr)
        else:
            quantize_qdq(src13, qdq, spec.input_name, tensors, exclude, args.activations, args.ort_calib)
        if exclude:
            notes.append(f"{name}: {len(exclude)} decoding-tail nodes left in float in the QDQ model "
                         "(--quantize-tail quantises them too)")
        print(f"  ORT QDQ model {os.path.relpath(qdq, os.getcwd())} ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr, flush=True)

        # (c), (d): engines
        paths, labels, skipped = {}, {}, {}
        paths["ei-fp32"] = os.path.join(args.work, f"{name}_fp32.engine")
        ok, log = build_engine(args.edgeinfer, [src], paths["ei-fp32"])
        if not ok:
            skipped["ei-fp32"] = first_error_line(log)
        paths["ei-int8"] = os.path.join(args.work, f"{name}_int8.engine")
        ok, log = build_engine(args.edgeinfer, [src, "--precision", "int8", "-c", cfg, "--calib-images", calib_dir],
                               paths["ei-int8"])
        if not ok:
            skipped["ei-int8"] = "this edgeinfer cannot build int8 engines yet: " + first_error_line(log)
        paths["ei-qdq"] = os.path.join(args.work, f"{name}_qdq.engine")
        ok, log = build_engine(args.edgeinfer, [qdq], paths["ei-qdq"])
        if not ok:
            skipped["ei-qdq"] = first_error_line(log)
        else:
            qline = next((l for l in log.splitlines() if "QDQ model:" in l), "")
            labels["ei-qdq"] = "ei-qdq (int8)" if "quantised by the model's own scales" in qline else \
                "ei-qdq (float semantics)"
            notes.append(f"{name}: edgeinfer build of the QDQ model: {qline.strip() or log.splitlines()[-1]}")
        for k, why in skipped.items():
            print(f"  skip {k}: {why}", file=sys.stderr)
            notes.append(f"{name}: {k} skipped: {why}")

        # timing, rotating the order of the engines from round to round
        engines = [e for e in ENGINES if e not in skipped]
        lat = {e: [] for e in engines}
        ort_runners = {}
        shapes = None
        try:
            for r in range(args.rounds):
                order = engines[r % len(engines):] + engines[:r % len(engines)]
                for e in order:
                    if e.startswith("ei-"):
                        res = run_edgeinfer(args.edgeinfer, paths[e], 1, args.threads, per_round)
                        shapes = shapes or parse_shapes(res["input_shapes"])
                        lat[e] += res["latencies_ms"]
                    else:
                        if e not in ort_runners:
                            if shapes is None:
                                res = run_edgeinfer(args.edgeinfer, paths.get("ei-fp32", src), 1, args.threads, 0.05)
                                shapes = parse_shapes(res["input_shapes"])
                            ort_runners[e] = OrtRunner(src if e == "ort-fp32" else qdq, args.threads, shapes)
                        lat[e] += ort_runners[e].run(per_round)
        except Exception as ex:  # report and go on with the other models
            err = f"{type(ex).__name__}: {str(ex).splitlines()[0] if str(ex) else ''}"
            print(f"  FAILED: {err}", file=sys.stderr)
            results.append({"name": name, "error": err})
            continue
        row = {"name": name, "stats": {e: stats(lat[e]) for e in engines}, "labels": labels, "skipped": skipped}
        results.append(row)
        s = row["stats"]
        print("  " + ", ".join(f"{labels.get(e, e)} {s[e][0]:.2f} ms" for e in engines), file=sys.stderr, flush=True)

    lines = ["| model | engine | median ms | p90 ms | runs | vs ei-fp32 | vs ort-int8 |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['error']} | | | | | |")
            continue
        s = r["stats"]
        base, ort8 = s.get("ei-fp32"), s.get("ort-int8")
        for e in ENGINES:
            if e in r["skipped"]:
                lines.append(f"| {r['name']} | {e} | skipped | | | | |")
                continue
            med, p90, n = s[e]
            speed = f"{base[0] / med:.2f}x" if base else ""
            vs_ort = f"{ort8[0] / med:.2f}x" if ort8 and e.startswith("ei-") else ""
            lines.append(f"| {r['name']} | {r['labels'].get(e, e)} | {med:.2f} | {p90:.2f} | {n} | {speed} | {vs_ort} |")
    now = datetime.datetime.now()
    header = [
        f"# edgeinfer INT8 vs fp32 vs ONNX Runtime int8, {now:%Y-%m-%d %H:%M}",
        "",
        f"- CPU: {cpu_name()}, {os.cpu_count()} online cores; threads: {args.threads}",
        f"- edgeinfer {git_commit()}, ONNX Runtime {ort.__version__} (ORT_ENABLE_ALL, intra_op_num_threads="
        f"{args.threads})",
        f"- calibration: {len(frames)} frames of the sample videos, the same for ORT's quantize_static "
        f"({args.ort_calib}, per-channel QInt8 weights, "
        f"{'symmetric QInt8' if args.activations == 's8' else 'asymmetric QUInt8'} activations) and edgeinfer's "
        "--calib-images",
        f"- {args.rounds} rotating rounds, {args.duration:g} s per model per engine in all; warm-up: at least "
        "3 runs and 200 ms; same input tensors (docs/bench.md generator)",
        "- vs ei-fp32 = ei-fp32 median / this median (the int8 speed-up for ei-int8 and ei-qdq); "
        "vs ort-int8 = ort-int8 median / this median (> 1: edgeinfer faster)",
        "",
    ]
    table = "\n".join(header + lines + [""] + [f"- {n}" for n in notes]) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
        print(f"written {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
