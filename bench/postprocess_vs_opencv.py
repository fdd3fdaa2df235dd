"""Detection post-processing per frame, edgeinfer vs OpenCV, in the same run, alternating.

Data: SSDLite320-style outputs, 3234 priors x 91 classes (background 0), raw logits, made so that
most rows are confidently background and a few hundred (prior, class) pairs reach softmax >= 0.2;
regressions ~ N(0, 0.5). Fixed seed.
  edgeinfer (bench_postprocess, timed): softmax over 91 classes for every prior (rows that cannot
    reach the threshold are rejected without exp), threshold 0.2, SSD box decode of the survivors
    against torchvision SSDLite320 priors, class-wise greedy NMS IoU 0.45.
  OpenCV (timed): cv2.dnn.NMSBoxesBatched (class-wise NMS, score threshold 0.2, IoU 0.45) on the
    same candidates, already decoded and thresholded in numpy outside the timer (decoding is not
    OpenCV's job); the call's conversion of the numpy inputs is inside the timer.
Prints each side's median per frame and the ratio.
  python bench/postprocess_vs_opencv.py --bench build/bench/bench_postprocess [--rounds 7 --iters 200]"""
import argparse
import os
import subprocess
import tempfile
import time

import cv2
import numpy as np
import torch
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator


def make_outputs(rng, n=3234, c=91):
    logits = rng.normal(0.0, 1.0, (n, c)).astype(np.float32)
    logits[:, 0] += 9.0  # background dominates almost every prior
    hot = rng.choice(n, 260, replace=False)
    for i in hot:  # 1-2 classes of these priors come close to or above the background
        for k in rng.choice(np.arange(1, c), int(rng.integers(1, 3)), replace=False):
            logits[i, k] += 9.0 + rng.uniform(-1.0, 3.0)
    deltas = rng.normal(0.0, 0.5, (n, 4)).astype(np.float32)
    return deltas[None], logits[None]


def numpy_candidates(deltas, logits, thr):
    gen = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95)
    with torch.no_grad():
        pr = gen._grid_default_boxes([[g, g] for g in (20, 10, 5, 3, 2, 1)], [320, 320]).numpy()
    e = np.exp(logits[0] - logits[0].max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    d = deltas[0]
    cxcy = d[:, :2] * 0.1 * pr[:, 2:] + pr[:, :2]
    wh = np.exp(d[:, 2:] * 0.2) * pr[:, 2:]
    xywh = np.concatenate([cxcy - wh / 2, wh], 1) * 320
    rows, cols = np.nonzero(p[:, 1:] >= thr)
    cols = cols + 1
    return xywh[rows].astype(np.float32), p[rows, cols].astype(np.float32), cols.astype(np.int32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench_postprocess")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=200)
    a = ap.parse_args()
    thr, iou = 0.2, 0.45
    rng = np.random.default_rng(7)
    deltas, logits = make_outputs(rng)
    boxes, scores, classes = numpy_candidates(deltas, logits, thr)
    cv_boxes = [list(map(float, b)) for b in boxes]
    cv_scores = list(map(float, scores))
    cv_classes = list(map(int, classes))
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        bp, sp = os.path.join(tmp, "boxes.npy"), os.path.join(tmp, "scores.npy")
        np.save(bp, deltas)
        np.save(sp, logits)
        for _ in range(a.rounds):
            out = subprocess.run([a.bench, bp, sp, str(a.iters), str(thr), str(iou)], capture_output=True, text=True,
                                 check=True).stdout.split()
            ours.append(float(out[1]))
            cand, kept = int(out[3]), int(out[5])
            t = []
            for _ in range(a.iters):
                t0 = time.perf_counter()
                keep = cv2.dnn.NMSBoxesBatched(cv_boxes, cv_scores, cv_classes, thr, iou)
                t.append((time.perf_counter() - t0) * 1e6)
            theirs.append(float(np.median(t)))
    ref_kept = len(keep)
    print(f"candidates >= {thr}: edgeinfer {cand}, numpy {len(scores)}; kept after class-wise NMS {iou}: "
          f"edgeinfer {kept}, OpenCV {ref_kept}")
    m_ours, m_cv = float(np.median(ours)), float(np.median(theirs))
    print(f"edgeinfer decode+softmax+threshold+NMS: median {m_ours:.1f} us/frame  (rounds: "
          f"{', '.join(f'{x:.1f}' for x in ours)})")
    print(f"OpenCV NMSBoxesBatched only:            median {m_cv:.1f} us/frame  (rounds: "
          f"{', '.join(f'{x:.1f}' for x in theirs)})")
    print(f"ratio OpenCV / edgeinfer: {m_cv / m_ours:.2f}x")


if __name__ == "__main__":
    main()
