"""mAP@0.5 (and precision/recall at the config's threshold) of the shapes detector on freshly
generated images, with ONNX Runtime and the same pre-processing and decoding as
configs/demo_shapes.ini (letterbox top-left, pad 114, RGB x/255, YOLOX stride 8, class-agnostic NMS).

    .venv/bin/python models/shapes/evaluate.py [--model M.onnx] [--n 200] [--seed 1234]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes_data  # noqa: E402

NET = 320
STRIDES = (8,)


def preprocess(img_bgr, net=NET):
    lb, r = shapes_data.letterbox(img_bgr, net)
    x = lb[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(x), r


def decode(out, r, net=NET, conf=0.4, nms_iou=0.45):
    """out [N, 5+C] -> [k, 6] x0 y0 x1 y1 score class in image pixels, NMS across classes."""
    grids = []
    for s in STRIDES:
        g = net // s
        ys, xs = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        grids.append(np.stack([xs.reshape(-1), ys.reshape(-1), np.full(g * g, s)], 1))
    grid = np.concatenate(grids).astype(np.float32)
    cls = out[:, 5:]
    best = cls.argmax(1)
    score = out[:, 4] * cls[np.arange(len(out)), best]
    keep = score >= conf
    o, grid, best, score = out[keep], grid[keep], best[keep], score[keep]
    cx = (o[:, 0] + grid[:, 0]) * grid[:, 2]
    cy = (o[:, 1] + grid[:, 1]) * grid[:, 2]
    w = np.exp(o[:, 2]) * grid[:, 2]
    h = np.exp(o[:, 3]) * grid[:, 2]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1) / r
    order = np.argsort(-score, kind="stable")
    kept = []
    while len(order):
        i = order[0]
        kept.append(i)
        rest = order[1:]
        order = rest[iou_matrix(boxes[i : i + 1], boxes[rest])[0] <= nms_iou]
    kept = np.array(kept, np.int64)
    return np.concatenate([boxes[kept], score[kept, None], best[kept, None].astype(np.float32)], 1).reshape(-1, 6)


def iou_matrix(a, b):
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None] - inter, 1e-9)


def match(dets, gts, thr=0.5):
    """Greedy (by score) same-class matching; returns tp flags per detection (in score order of
    `dets` as given) and the number of matched ground-truth boxes."""
    tp = np.zeros(len(dets), bool)
    used = np.zeros(len(gts), bool)
    if len(dets) and len(gts):
        ious = iou_matrix(dets[:, :4], gts[:, :4])
        for i in np.argsort(-dets[:, 4], kind="stable"):
            cand = np.where((~used) & (gts[:, 4] == dets[i, 5]) & (ious[i] >= thr))[0]
            if len(cand):
                j = cand[np.argmax(ious[i, cand])]
                used[j] = True
                tp[i] = True
    return tp, int(used.sum())


def average_precision(scores, tps, n_gt):
    """VOC all-point interpolated AP."""
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(tps, np.float64)[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    rec = ctp / n_gt
    prec = ctp / np.maximum(ctp + cfp, 1e-9)
    mrec = np.concatenate([[0], rec, [1]])
    mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]).sum())


def evaluate(per_image, n_classes=len(shapes_data.CLASSES), thr=0.4):
    """per_image: list of (dets [k,6] with a low threshold, gts [m,5]). Returns a dict."""
    aps = []
    for c in range(n_classes):
        scores, tps, n_gt = [], [], 0
        for dets, gts in per_image:
            d = dets[dets[:, 5] == c]
            g = gts[gts[:, 4] == c]
            tp, _ = match(d, g)
            scores += list(d[:, 4])
            tps += list(tp)
            n_gt += len(g)
        aps.append(average_precision(scores, tps, n_gt))
    n_tp = n_det = n_gt = 0
    for dets, gts in per_image:
        d = dets[dets[:, 4] >= thr]
        tp, matched = match(d, gts)
        n_tp += int(tp.sum())
        n_det += len(d)
        n_gt += len(gts)
    return {
        "map50": float(np.nanmean(aps)),
        "ap50": aps,
        "precision": n_tp / max(1, n_det),
        "recall": n_tp / max(1, n_gt),
        "n_gt": n_gt,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(HERE, "shapes_detector.onnx"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--threshold", type=float, default=0.4, help="for precision/recall (the config's)")
    args = ap.parse_args()
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(args.seed)
    per_image = []
    for _ in range(args.n):
        img, gts = shapes_data.test_image(rng, args.width, args.height)
        x, r = preprocess(img)
        out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        per_image.append((decode(out, r, conf=0.01), gts))
    res = evaluate(per_image, thr=args.threshold)
    aps = " ".join(f"{c} {a:.3f}" for c, a in zip(shapes_data.CLASSES, res["ap50"]))
    print(f"{args.n} images {args.width}x{args.height} (seed {args.seed}), {res['n_gt']} shapes")
    print(f"mAP@0.5 {res['map50']:.3f} ({aps})")
    print(f"at score >= {args.threshold}: precision {res['precision']:.3f} recall {res['recall']:.3f}")


if __name__ == "__main__":
    main()
