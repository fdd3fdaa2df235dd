"""Detection post-processing per frame, edgeinfer vs OpenCV, in the same run, alternating.

Data (fixed seed): SSDLite320-style outputs, 3234 priors (torchvision SSDLite320 priors) x 91
classes (background 0), raw logits and box regressions:
  - every prior: logits N(0, 1) with background +9 (confident background), regressions N(0, 0.5);
  - 8 objects (random class, centre in [40, 280] px, size in [30, 170] px; objects 0 and 1 share a
    class and overlap): every prior with IoU >= 0.4 with an object regresses to the object's box
    jittered by N(0, 4 px) per corner, and its class logit gets 9 + 2 + 4 IoU + N(0, 1); a third of
    them also get the object's confusable class (class id + 1) at +9 - 0.5 + N(0, 1) -> clusters of overlapping
    candidates that class-wise NMS reduces to about one box per object and class;
  - 20 isolated false positives: a random prior and class at +9 + N(0, 1).
Both sides get the raw outputs and produce final boxes (score threshold 0.2, class-wise NMS 0.45):
  edgeinfer (bench_postprocess, C): softmax over the 91 classes of every prior (rows that cannot
    reach the threshold are rejected before exp), threshold, SSD box decode of the survivors
    against the priors, class-wise greedy NMS (ei_nms).
  OpenCV peer (Python, what an OpenCV user writes): numpy softmax over classes, threshold
    (np.nonzero), numpy box decode of the candidate rows against the same priors, then
    cv2.dnn.NMSBoxesBatched (class-wise), timed as a whole (numpy arrays passed directly).
The kept boxes of both sides are compared (same count, class, score 1e-4, corners 1e-3); the
bench fails if they differ. A second line times the NMS call alone on each side (edgeinfer: the
ei_nms call inside the frame; OpenCV: NMSBoxesBatched on the pre-computed candidates).
Each round runs edgeinfer's ITERS frames and the peer's ITERS frames back to back (order
alternating between rounds); a side's figure is the median of its round medians.
  python bench/postprocess_vs_opencv.py --bench build/bench/bench_postprocess [--rounds 7 --iters 300]"""
import argparse
import os
import subprocess
import tempfile
import time

import cv2
import numpy as np
import torch
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

NET = 320
CV, SV = 0.1, 0.2  # centre / size variances (torchvision box coder weights 10, 10, 5, 5)


def ssdlite_priors():
    gen = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95)
    with torch.no_grad():
        return gen._grid_default_boxes([[g, g] for g in (20, 10, 5, 3, 2, 1)], [NET, NET]).numpy()


def iou_one(boxes, b):
    """IoU of corner boxes [N,4] with one corner box."""
    lt = np.maximum(boxes[:, :2], b[:2])
    rb = np.minimum(boxes[:, 2:], b[2:])
    inter = np.prod(np.clip(rb - lt, 0, None), 1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], 1)
    return inter / (area + np.prod(b[2:] - b[:2]) - inter)


def make_outputs(rng, pr, c=91, n_objects=8, n_false=20):
    n = pr.shape[0]
    logits = rng.normal(0.0, 1.0, (n, c)).astype(np.float32)
    logits[:, 0] += 9.0
    deltas = rng.normal(0.0, 0.5, (n, 4)).astype(np.float32)
    prior_xyxy = np.concatenate([pr[:, :2] - pr[:, 2:] / 2, pr[:, :2] + pr[:, 2:] / 2], 1) * NET
    classes = rng.choice(np.arange(1, c), n_objects, replace=False)
    objs = []
    for k in range(n_objects):
        if k == 1:  # same class as object 0, overlapping it
            classes[1] = classes[0]
            cx, cy = objs[0][0] + rng.uniform(20, 40), objs[0][1] + rng.uniform(-15, 15)
        else:
            cx, cy = rng.uniform(40, 280, 2)
        w, h = rng.uniform(30, 170, 2)
        objs.append((cx, cy, w, h))
    confusable = [(int(k) % (c - 1)) + 1 for k in classes + 1]  # the next class id
    members, taken = 0, np.zeros(n, bool)
    for k, (cx, cy, w, h) in enumerate(objs):
        gt = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        ious = iou_one(prior_xyxy, gt)
        for i in np.nonzero((ious >= 0.4) & ~taken)[0]:  # a prior regresses to one object
            taken[i] = True
            members += 1
            b = gt + rng.normal(0.0, 4.0, 4)
            bc, bs = (b[:2] + b[2:]) / 2 / NET, np.maximum(b[2:] - b[:2], 4.0) / NET
            deltas[i, :2] = (bc - pr[i, :2]) / (pr[i, 2:] * CV)
            deltas[i, 2:] = np.log(bs / pr[i, 2:]) / SV
            logits[i, classes[k]] += 9.0 + 2.0 + 4.0 * ious[i] + rng.normal()
            if rng.uniform() < 1 / 3:
                logits[i, confusable[k]] += 9.0 - 0.5 + rng.normal()
    for i in rng.choice(n, n_false, replace=False):
        logits[i, rng.integers(1, c)] += 9.0 + rng.normal()
    return deltas[None], logits[None], objs, classes, members


def opencv_peer(deltas, logits, pr, thr, iou):
    """From raw outputs to final boxes as an OpenCV user writes it (the timed unit)."""
    x = logits[0]
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    rows, cols = np.nonzero(p[:, 1:] >= thr)
    cols += 1
    d, q = deltas[0][rows], pr[rows]
    cxcy = d[:, :2] * CV * q[:, 2:] + q[:, :2]
    wh = np.exp(d[:, 2:] * SV) * q[:, 2:]
    xywh = np.concatenate([cxcy - wh / 2, wh], 1) * NET
    scores = p[rows, cols]
    keep = cv2.dnn.NMSBoxesBatched(xywh, scores, cols.astype(np.int32), thr, iou)
    return xywh, scores, cols, keep


def same_boxes(ours, xywh, scores, cols, keep):
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    theirs = np.concatenate([xywh[keep, :2], xywh[keep, :2] + xywh[keep, 2:], scores[keep, None], cols[keep, None]], 1)
    if ours.shape != theirs.shape:
        return False
    key = lambda a: a[np.lexsort((a[:, 0], -a[:, 4], a[:, 5]))]  # noqa: E731
    a, b = key(ours), key(theirs)
    return bool(np.array_equal(a[:, 5], b[:, 5]) and np.abs(a[:, 4] - b[:, 4]).max(initial=0) <= 1e-4
                and np.abs(a[:, :4] - b[:, :4]).max(initial=0) <= 1e-3)


def median_us(fn, iters):
    t = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e6)
    return float(np.median(t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/bench_postprocess")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=300)
    a = ap.parse_args()
    thr, iou = 0.2, 0.45
    pr = ssdlite_priors()
    deltas, logits, objs, classes, members = make_outputs(np.random.default_rng(7), pr)
    xywh, scores, cols, keep = opencv_peer(deltas, logits, pr, thr, iou)
    ours, theirs, ours_nms, theirs_nms = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        bp, sp, kp = (os.path.join(tmp, f) for f in ("boxes.npy", "scores.npy", "kept.txt"))
        np.save(bp, deltas)
        np.save(sp, logits)
        for r in range(a.rounds):
            for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                if side == 0:
                    out = subprocess.run([a.bench, bp, sp, str(a.iters), str(thr), str(iou), kp], capture_output=True,
                                         text=True, check=True).stdout.split()
                    ours.append(float(out[1]))
                    cand, kept, ours_nms_r = int(out[3]), int(out[5]), float(out[7])
                    ours_nms.append(ours_nms_r)
                else:
                    theirs.append(median_us(lambda: opencv_peer(deltas, logits, pr, thr, iou), a.iters))
                    cls32 = cols.astype(np.int32)
                    theirs_nms.append(median_us(lambda: cv2.dnn.NMSBoxesBatched(xywh, scores, cls32, thr, iou), a.iters))
        kept_ours = np.loadtxt(kp, ndmin=2).reshape(-1, 6)
    same = same_boxes(kept_ours, xywh, scores, cols, keep)
    print(f"data: 3234 priors x 91 classes; {len(objs)} objects (classes {', '.join(map(str, classes))}), "
          f"{members} priors with IoU >= 0.4 regressing to them, 20 isolated false positives")
    print(f"candidates >= {thr}: edgeinfer {cand}, OpenCV peer {len(scores)}; kept after class-wise NMS {iou}: "
          f"edgeinfer {kept}, OpenCV {len(keep)}; same kept boxes: {'yes' if same else 'NO'}")
    m_ours, m_cv = float(np.median(ours)), float(np.median(theirs))
    n_ours, n_cv = float(np.median(ours_nms)), float(np.median(theirs_nms))
    rounds = lambda v: ", ".join(f"{x:.1f}" for x in v)  # noqa: E731
    print(f"raw outputs -> final boxes   edgeinfer (C): median {m_ours:.1f} us/frame  (rounds: {rounds(ours)})")
    print(f"raw outputs -> final boxes   OpenCV peer (numpy softmax/threshold/decode + NMSBoxesBatched): "
          f"median {m_cv:.1f} us/frame  (rounds: {rounds(theirs)})")
    print(f"ratio OpenCV peer / edgeinfer: {m_cv / m_ours:.2f}x")
    print(f"NMS call only (transparency) edgeinfer ei_nms: median {n_ours:.1f} us; OpenCV NMSBoxesBatched on the "
          f"pre-computed candidates: median {n_cv:.1f} us; ratio {n_cv / n_ours:.2f}x")
    if not same or kept != len(keep):
        raise SystemExit("error: edgeinfer and OpenCV keep different boxes")


if __name__ == "__main__":
    main()
