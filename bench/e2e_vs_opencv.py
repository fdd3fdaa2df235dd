#!/usr/bin/env python3
"""End-to-end video throughput: `edgeinfer run APP.ini` against a Python/OpenCV loop, same run.

    python bench/e2e_vs_opencv.py [--video FILE] [--models yolox_nano,ssdlite320] [--rounds R]
        [--threads N] [--sources 4] [--edgeinfer PATH] [--out FILE.md] [--no-peer] [--no-batching]
        [--codec mpeg4|h264] [--bitrate BITS_PER_S] [--decoder-threads N]

Both sides do the same job on every frame of the video: decode -> pre-process -> inference ->
post-process (decode + NMS) -> draw boxes and captions -> encode to an MP4 file.
  edgeinfer: the streaming app with a generated APP.ini (URI source, [streammux] batch 1,
    [primary-gie] with configs/<model>.ini, [osd], [sink0] type=3 MP4, sync=0; --codec mpeg4, the
    default: codec=3, MPEG-4 part 2 by avenc_mpeg4, the codec the peer writes; --codec h264:
    codec=1, x264 ultrafast), its figures from `--perf-json` (frames / wall time, per-stage
    medians), and the CPU time of each of its threads (sampled from /proc/PID/task/*/stat while it runs): where the
    non-inference time goes, in CPU seconds, which load on a shared machine disturbs far less than
    wall-clock stage times. Threads started by a library inherit their creator's name: x264's
    threads are named after the queue thread in front of the encoder, libav's decoding threads after
    the demuxer's thread. The report names the codec.
  Python: cv2.VideoCapture, the letterbox/resize + cv2.dnn.blobFromImage, ONNX Runtime
    (intra_op_num_threads = N, ORT_ENABLE_ALL), numpy decoding + cv2.dnn.NMSBoxes,
    cv2.rectangle/putText, cv2.VideoWriter (mp4v, MPEG-4 part 2: the pip OpenCV has no H.264
    encoder; on car-detection.mp4 it writes ~0.38 Mbit/s at PSNR 45 dB, edgeinfer's avenc_mpeg4
    with its constant quantizer 4 ~0.34 Mbit/s at 48 dB unless --bitrate says otherwise).
Each round runs both, the one going first alternating, so they see the same machine load; the
medians over rounds are printed with the ratio. Then the batching check: N copies of the video as
N sources at batch-size N, fake sinks, against one source with a fake sink: aggregate FPS and
per-source FPS. A benchmark, not a test: it never fails on slowness.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# model: (inference config, ONNX path for the peer relative to ROOT or assets, peer recipe)
MODELS = {
    "yolox_nano": ("configs/yolox_nano.ini", "assets:models/coco_detection/yolox_nano_416.onnx", "yolox"),
    "ssdlite320": ("bench/ssdlite320.ini", "build/exported_models/ssdlite320_mobilenet_v3_large.onnx", "ssdlite"),
}


def assets_dir(arg):
    return arg or os.environ.get("EI_ASSETS_DIR") or os.path.join(ROOT, "..", "shared", "assets")


def model_path(rel, assets, exported):
    """A model path of MODELS: "assets:X" in the assets folder, "build/exported_models/X" in exported."""
    if rel.startswith("assets:"):
        return os.path.join(assets, rel[7:])
    if rel.startswith("build/exported_models/") and exported:
        return os.path.join(exported, rel[len("build/exported_models/"):])
    return os.path.join(ROOT, rel)


def infer_config(cfg, assets, exported, tmp):
    """configs/<model>.ini with its file paths made absolute, in tmp. Paths that do not exist from the
    config's folder (a git worktree has neither ../shared/assets nor build/exported_models beside it)
    are looked up in the assets folder ('.../shared/assets/X') and in exported ('.../exported_models/X')."""
    src = os.path.join(ROOT, cfg)
    out = []
    for line in open(src):
        key, eq, val = line.partition("=")
        v = val.strip()
        if eq and key.strip().endswith(("-file", "-path")) and v and not os.path.isabs(v):
            p = os.path.normpath(os.path.join(os.path.dirname(src), v))
            if not os.path.exists(p) and "shared/assets/" in v:
                p = os.path.join(assets, v.split("shared/assets/", 1)[1])
            elif not os.path.exists(p) and "exported_models/" in v and exported:
                p = os.path.join(exported, v.split("exported_models/", 1)[1])
            line = f"{key}={p}\n"
        out.append(line)
    path = os.path.join(tmp, "infer_" + os.path.basename(cfg))
    with open(path, "w") as f:
        f.writelines(out)
    return path


# --codec: deepstream-app's [sinkN] codec numbers
CODECS = {"h264": 1, "mpeg4": 3}
CODEC_NAMES = {"h264": "H.264 (x264enc ultrafast)", "mpeg4": "MPEG-4 part 2 (avenc_mpeg4)"}


def app_ini(path, video, infer_cfg, sink, n_sources, out_mp4=None, codec="mpeg4", bitrate=0, decoder_threads=None):
    """A deepstream-app style config for the run (docs/app-config.md)."""
    lines = ["[application]", "enable-perf-measurement=1", "perf-measurement-interval-sec=100", ""]
    for i in range(n_sources):
        lines += [f"[source{i}]", "enable=1", "type=2", f"uri=file://{os.path.abspath(video)}"] + (
            [f"decoder-threads={decoder_threads}"] if decoder_threads is not None else []) + [""]
    lines += ["[streammux]", f"batch-size={n_sources}", "batched-push-timeout=-1", "",
              "[primary-gie]", "enable=1", f"config-file={os.path.abspath(infer_cfg)}",
              # The asset models fix batch 1 in their graphs: edgeinfer runs a batch of N frames
              # from the muxer one frame at a time through them.
              "batch-size=1", "",
              "[osd]", "enable=1", ""]
    if n_sources > 1:
        lines += ["[tiled-display]", "enable=0", ""]
    if sink == "file":
        lines += ["[sink0]", "enable=1", "type=3", "container=1", f"codec={CODECS[codec]}", "sync=0",
                  f"output-file={out_mp4}"] + ([f"bitrate={bitrate}"] if bitrate else []) + [""]
    else:
        for i in range(n_sources):
            lines += [f"[sink{i}]", "enable=1", "type=1", "sync=0", f"source-id={i}", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def thread_cpu(pid):
    """{tid: (name, cpu seconds)} of a running process (Linux /proc; {} elsewhere)."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / tick)  # utime + stime
    return out


def run_edgeinfer(ei, ini, perf_json, threads):
    """Runs the app; returns its --perf-json, the wall time and the CPU seconds per thread name."""
    env = dict(os.environ)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        p = subprocess.Popen([ei, "run", ini, "--quiet", "--perf-json", perf_json], stdout=log, stderr=log, env=env,
                             text=True)
        seen = {}
        while p.poll() is None:
            seen.update(thread_cpu(p.pid))  # the latest value of each thread (ended ones keep theirs)
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            log.seek(0)
            sys.exit(f"edgeinfer run failed ({p.returncode}):\n{log.read()}")
    cpu = {}
    for name, sec in seen.values():
        cpu[name] = cpu.get(name, 0.0) + sec
    with open(perf_json) as f:
        perf = json.load(f)
    return perf, wall, cpu


def cpu_summary(cpu, perf):
    """CPU seconds by thread name, largest first, and the share outside inference: the inference
    threads (edgeinfer's task 'infer:src' and its model copies 'eiinfer-copy') less the pre-,
    post-processing and OSD time they record (median x frames), against the whole process."""
    total = sum(cpu.values()) or 1.0
    infer_threads = sum(v for k, v in cpu.items() if k in ("infer:src", "eiinfer-copy"))
    st = perf.get("stages", {})
    # medians: the means of wall-clock stage times carry the preemptions of a loaded machine
    side = sum((st.get(k, {}).get("median_ms") or 0) * (st.get(k, {}).get("frames") or 0)
               for k in ("preprocess", "postprocess", "osd")) / 1e3
    inference = max(0.0, infer_threads - side)
    top = sorted(cpu.items(), key=lambda kv: -kv[1])
    return 1 - inference / total, total, top


class Peer:
    """The Python/OpenCV/ONNX Runtime loop."""

    def __init__(self, onnx_path, recipe, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name
        self.recipe = recipe
        if recipe == "yolox":
            self.size, self.thr, self.iou = 416, 0.3, 0.45
            grids, strides = [], []
            for s in (8, 16, 32):
                g = self.size // s
                yy, xx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
                grids.append(np.stack([xx, yy], -1).reshape(-1, 2))
                strides.append(np.full((g * g, 1), s))
            self.grids, self.strides = np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(
                np.float32)
        else:
            import torch
            from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
            self.size, self.thr, self.iou = 320, 0.8, 0.45
            gen = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95)
            with torch.no_grad():
                p = gen._grid_default_boxes([[g, g] for g in (20, 10, 5, 3, 2, 1)], [320, 320]).numpy()
            self.priors = np.clip(p, 0, 1).astype(np.float32)  # cx, cy, w, h in [0, 1]

    def infer(self, frame):
        """Returns ([x, y, w, h], scores, classes) in frame pixels and the per-stage times."""
        import cv2
        t0 = time.perf_counter()
        h, w = frame.shape[:2]
        if self.recipe == "yolox":
            r = min(self.size / h, self.size / w)
            canvas = np.full((self.size, self.size, 3), 114, dtype=np.uint8)
            rs = cv2.resize(frame, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
            canvas[:rs.shape[0], :rs.shape[1]] = rs
            blob = cv2.dnn.blobFromImage(canvas)  # BGR, 0..255, NCHW
        else:
            blob = cv2.dnn.blobFromImage(frame, 1.0 / 255, (self.size, self.size), swapRB=True)
            blob = (blob - np.array([0.485, 0.456, 0.406], np.float32)[None, :, None, None]) / np.array(
                [0.229, 0.224, 0.225], np.float32)[None, :, None, None]
        t1 = time.perf_counter()
        outs = self.sess.run(None, {self.input: blob})
        t2 = time.perf_counter()
        if self.recipe == "yolox":
            out = outs[0][0]
            cxy = (out[:, :2] + self.grids) * self.strides
            wh = np.exp(out[:, 2:4]) * self.strides
            cls = out[:, 5:] * out[:, 4:5]
            best = cls.argmax(1)
            score = cls[np.arange(len(cls)), best]
            keep = score >= self.thr
            xy = (cxy - wh / 2)[keep] / r
            boxes = np.concatenate([xy, wh[keep] / r], 1)
            scores, classes = score[keep], best[keep]
            idx = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.thr, self.iou)  # class-agnostic
        else:
            deltas, logits = outs[0][0], outs[1][0]
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            prob[:, 0] = 0  # background
            best = prob.argmax(1)
            score = prob[np.arange(len(prob)), best]
            keep = score >= self.thr
            pr, d = self.priors[keep], deltas[keep]
            cxcy = pr[:, :2] + d[:, :2] * 0.1 * pr[:, 2:]
            wh = pr[:, 2:] * np.exp(d[:, 2:] * 0.2)
            boxes = np.concatenate([cxcy - wh / 2, wh], 1) * np.array([w, h, w, h], np.float32)
            scores, classes = score[keep], best[keep]
            idx = cv2.dnn.NMSBoxesBatched(boxes.tolist(), scores.tolist(), classes.tolist(), self.thr,
                                          self.iou) if len(boxes) else []
        idx = np.array(idx, dtype=np.int64).reshape(-1)
        t3 = time.perf_counter()
        return boxes[idx], scores[idx], classes[idx], (t1 - t0, t2 - t1, t3 - t2)

    def run(self, video, out_mp4):
        import cv2
        cap = cv2.VideoCapture(video)
        if not cap.isOpened():
            sys.exit(f"OpenCV cannot open {video}")
        fps = cap.get(cv2.CAP_PROP_FPS) or 25
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        writer = cv2.VideoWriter(out_mp4, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        stages = {k: [] for k in ("decode", "preprocess", "infer", "postprocess", "osd", "encode")}
        n = 0
        t_start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                break
            t1 = time.perf_counter()
            boxes, scores, classes, (tp, ti, tq) = self.infer(frame)
            t2 = time.perf_counter()
            for (x, y, bw, bh), s, c in zip(boxes, scores, classes):
                p1, p2 = (int(x), int(y)), (int(x + bw), int(y + bh))
                cv2.rectangle(frame, p1, p2, (0, 255, 0), 2)
                cv2.putText(frame, f"{int(c)} {s:.2f}", (p1[0], max(p1[1] - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                            (0, 255, 0), 1)
            t3 = time.perf_counter()
            writer.write(frame)
            t4 = time.perf_counter()
            for k, v in zip(stages, (t1 - t0, tp, ti, tq, t3 - t2, t4 - t3)):
                stages[k].append(v * 1e3)
            n += 1
        writer.release()
        wall = time.perf_counter() - t_start
        return {"frames": n, "wall_s": wall, "fps": n / wall, "stages_ms": {k: float(np.median(v)) for k, v in
                                                                             stages.items() if v}}


def perf_stage_medians(perf):
    """Per-stage medians from edgeinfer's --perf-json (docs/app-run.md)."""
    out = {}
    for name, st in perf.get("stages", {}).items():
        if isinstance(st, dict) and "median_ms" in st:
            out[name] = st["median_ms"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets")
    ap.add_argument("--video")
    ap.add_argument("--models", default="yolox_nano,ssdlite320")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--edgeinfer", default=os.path.join(ROOT, "build", "tools", "edgeinfer", "edgeinfer"))
    ap.add_argument("--out")
    ap.add_argument("--exported", help="folder of the exported models (default: build/exported_models of this "
                                       "checkout, else of the main checkout when this is a git worktree)")
    ap.add_argument("--no-peer", action="store_true", help="edgeinfer only (no OpenCV loop)")
    ap.add_argument("--no-batching", action="store_true", help="skip the N-sources batching check")
    ap.add_argument("--codec", choices=sorted(CODECS), default="mpeg4",
                    help="edgeinfer's encoder: mpeg4 (MPEG-4 part 2, avenc_mpeg4: what the peer's cv2 mp4v writes; "
                         "default) or h264 (x264 ultrafast)")
    ap.add_argument("--bitrate", type=int, default=0,
                    help="edgeinfer's bitrate key in bits/s (0: the app's default; for mpeg4 a constant quantizer)")
    ap.add_argument("--decoder-threads", type=int,
                    help="[source0] decoder-threads for edgeinfer's file runs (default: unset, the app's choice: 1 "
                         "when inference takes every core; 0: libav's frame threads)")
    a = ap.parse_args()
    assets = assets_dir(a.assets)
    exported = a.exported or os.path.join(ROOT, "build", "exported_models")
    if not a.exported and not os.path.isdir(exported):
        # a git worktree: the main checkout's (git's common folder is <main>/.git)
        try:
            common = subprocess.run(["git", "-C", ROOT, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                    capture_output=True, text=True, check=True).stdout.strip()
            main_exported = os.path.join(os.path.dirname(common), "build", "exported_models")
            if os.path.isdir(main_exported):
                exported = main_exported
        except (OSError, subprocess.CalledProcessError):
            pass
    video = a.video or os.path.join(assets, "videos", "car-detection.mp4")
    if not os.path.exists(video):
        sys.exit(f"no video at {video} (set --video or EI_ASSETS_DIR)")
    report = [f"# End-to-end video throughput, {datetime.date.today()} ({platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, {a.threads} threads)", "",
              f"Video: {os.path.basename(video)}; decode -> infer -> draw -> encode MP4; medians of {a.rounds} rounds.",
              "",
              f"Encoders: edgeinfer {CODEC_NAMES[a.codec]} ([sink0] codec={CODECS[a.codec]}"
              f"{f', bitrate={a.bitrate}' if a.bitrate else ''}); the peer MPEG-4 part 2 (cv2.VideoWriter mp4v). "
              f"edgeinfer's decoder threads: "
              f"{'the app default' if a.decoder_threads is None else f'decoder-threads={a.decoder_threads}'}.",
              "", "| model | edgeinfer FPS | OpenCV+ORT FPS | ratio | edgeinfer outside inference | peer stages (ms) |",
              "|---|---|---|---|---|---|"]
    cpu_notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            cfg, onnx_rel, recipe = MODELS[name]
            onnx_path = model_path(onnx_rel, assets, exported)
            if not os.path.exists(onnx_path):
                if recipe == "ssdlite":
                    subprocess.run([sys.executable, os.path.join(ROOT, "models", "export_all.py"), "--out",
                                    os.path.dirname(onnx_path), "--only", "ssdlite320_mobilenet_v3_large"], check=True)
                else:
                    sys.exit(f"missing {onnx_path}")
            ini = os.path.join(tmp, f"{name}.ini")
            app_ini(ini, video, infer_config(cfg, assets, exported, tmp), "file", 1, os.path.join(tmp, f"{name}_ei.mp4"),
                    a.codec, a.bitrate, a.decoder_threads)
            peer = None if a.no_peer else Peer(onnx_path, recipe, a.threads)
            ours, theirs, outside, cpu_rounds = [], [], [], []
            peer_stages = None
            for r in range(a.rounds):
                for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                    if side == 0:
                        perf, _, cpu = run_edgeinfer(a.edgeinfer, ini, os.path.join(tmp, "perf.json"), a.threads)
                        ours.append(perf["fps"])
                        cpu_out, cpu_total, cpu_top = cpu_summary(cpu, perf)
                        cpu_rounds.append((cpu_out, cpu_total, cpu_top, perf["frames"]))
                        st = perf_stage_medians(perf)
                        frame_ms = 1e3 / perf["fps"]
                        # The app runs min(cores, 4) model copies side by side (docs/app-run.md): the
                        # inference stage delivers a frame every inference/copies ms; the rest of the
                        # frame time is spent outside inference.
                        copies = min(os.cpu_count() or 1, 4)
                        if "inference" in st:
                            outside.append(max(0.0, 1 - st["inference"] / copies / frame_ms))
                        print(f"{name} round {r}: edgeinfer {perf['fps']:.1f} FPS, stages {st}", flush=True)
                    elif not a.no_peer:
                        res = peer.run(video, os.path.join(tmp, f"{name}_cv.mp4"))
                        theirs.append(res["fps"])
                        peer_stages = res["stages_ms"]
                        print(f"{name} round {r}: OpenCV+ORT {res['fps']:.1f} FPS, stages {peer_stages}", flush=True)
            mo = float(np.median(ours))
            mt = float(np.median(theirs)) if theirs else float("nan")
            out_s = f"{100 * float(np.median(outside)):.0f}%" if outside else "n/a"
            ps = ", ".join(f"{k} {v:.1f}" for k, v in (peer_stages or {}).items())
            report.append(f"| {name} | {mo:.1f} | {mt:.1f} | {mo / mt:.2f}x | {out_s} | {ps} |")
            print(report[-1], flush=True)
            # CPU time by thread, the round with the median outside-inference share
            c_out, c_total, c_top, c_frames = sorted(cpu_rounds, key=lambda x: x[0])[len(cpu_rounds) // 2]
            cpu_notes.append(f"- {name}: CPU outside inference {100 * c_out:.0f}% of {c_total:.1f} CPU s "
                             f"({1e3 * c_total / max(c_frames, 1):.1f} CPU ms a frame); by thread: " +
                             ", ".join(f"{k} {v:.2f} s" for k, v in c_top[:8]))
            print(cpu_notes[-1], flush=True)

        report += ["", "CPU time of edgeinfer's threads (the median round; inference = the inference threads less "
                   "their pre-/post-processing and OSD time):", ""] + cpu_notes
        # Batching must not cost: N sources at batch N against one source, fake sinks.
        name = a.models.split(",")[0]
        cfg = os.path.join(ROOT, MODELS[name][0])
        one, many = os.path.join(tmp, "one.ini"), os.path.join(tmp, "many.ini")
        app_ini(one, video, cfg, "fake", 1)
        app_ini(many, video, cfg, "fake", a.sources)
        single, agg, per_src, cpu_ms, rounds = [], [], [], {0: [], 1: []}, []
        for r in range(0 if a.no_batching else a.rounds):
            fps = {}
            for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                perf, _, cpu = run_edgeinfer(a.edgeinfer, one if side == 0 else many, os.path.join(tmp, "p.json"),
                                             a.threads)
                fps[side] = perf["fps"]
                # CPU per frame (every thread): the wall-clock FPS of a shared machine moves with its load,
                # the CPU a frame costs far less.
                cpu_ms[side].append(1e3 * sum(cpu.values()) / max(perf["frames"], 1))
                if side == 0:
                    single.append(perf["fps"])
                else:
                    agg.append(perf["fps"])
                    per_src.append([s["fps"] for s in perf.get("sources", [])])
            rounds.append(f"{fps[0]:.1f} / {fps[1]:.1f} ({fps[1] / fps[0]:.2f}x)")
            print(f"batching round {r}: 1 source {fps[0]:.1f} FPS, {a.sources} sources {fps[1]:.1f} FPS aggregate "
                  f"({fps[1] / fps[0]:.2f}x), CPU ms a frame {cpu_ms[0][-1]:.1f} / {cpu_ms[1][-1]:.1f}", flush=True)
        if not a.no_batching:
            report += ["", f"Batching ({name}, fake sinks): 1 source {np.median(single):.1f} FPS; {a.sources} sources at "
                       f"batch-size {a.sources}: {np.median(agg):.1f} FPS aggregate "
                       f"({np.median(agg) / np.median(single):.2f}x), per source {', '.join(f'{x:.1f}' for x in np.median(np.array(per_src), 0))} FPS; "
                       f"CPU ms a frame (all threads) {np.median(cpu_ms[0]):.1f} / {np.median(cpu_ms[1]):.1f}; "
                       f"each round (1 source / {a.sources} sources): {'; '.join(rounds)}"]
            print(report[-1])
    text = "\n".join(report) + "\n"
    out = a.out or os.path.join(HERE, "results", f"{datetime.date.today()}-e2e.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(f"written {out}")


if __name__ == "__main__":
    main()
