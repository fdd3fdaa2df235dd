"""Train the shapes detector on generated data (CPU) and export it to ONNX.

    .venv/bin/python models/shapes/train.py --out models/shapes/shapes_detector.onnx

Images come from shapes_data.training_sample, generated on the fly by one worker process (sample i
of the run uses the seed (seed, i), so a run is reproducible whatever the timing). Loss as YOLOX with
a fixed assignment: a grid cell is positive for a box when its centre lies inside the box and near
the box's centre (or is the cell holding the centre); GIoU on the decoded box, BCE on objectness
(every cell) and classes (positive cells). See README.md for the figures.
"""
import argparse
import math
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes_data  # noqa: E402
from model import STRIDE, ShapesDetector  # noqa: E402


def make_sample(args):
    seed, i, size = args
    rng = np.random.default_rng([seed, i])
    img, boxes = shapes_data.training_sample(rng, size)
    if rng.random() < 0.5:  # horizontal flip
        img = img[:, ::-1]
        x0 = size - boxes[:, 2]
        boxes[:, 2] = size - boxes[:, 0]
        boxes[:, 0] = x0
    rgb = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1))
    return rgb, boxes


def targets(boxes_list, g, device="cpu"):
    """Per image: positive mask [g*g], box target [g*g, 4] (x0 y0 x1 y1), class [g*g]."""
    ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    px = ((xs.reshape(-1).float() + 0.5) * STRIDE)[:, None]
    py = ((ys.reshape(-1).float() + 0.5) * STRIDE)[:, None]
    pos, tbox, tcls = [], [], []
    for boxes in boxes_list:
        n = g * g
        if len(boxes) == 0:
            pos.append(torch.zeros(n, dtype=torch.bool))
            tbox.append(torch.zeros(n, 4))
            tcls.append(torch.zeros(n, dtype=torch.long))
            continue
        b = torch.from_numpy(boxes)
        x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = x1 - x0, y1 - y0
        inside = (px > x0) & (px < x1) & (py > y0) & (py < y1)
        rad = torch.clamp(0.3 * torch.minimum(w, h), min=STRIDE * 1.0)
        central = ((px - cx).abs() < rad) & ((py - cy).abs() < rad)
        holds = ((px - STRIDE / 2) <= cx) & (cx < (px + STRIDE / 2)) & ((py - STRIDE / 2) <= cy) & (cy < (py + STRIDE / 2))
        cand = (inside & central) | holds  # [n, m]
        area = (w * h)[None].expand(n, -1).clone()
        area[~cand] = float("inf")
        best_area, best = area.min(1)
        p = torch.isfinite(best_area)
        pos.append(p)
        tbox.append(b[best, :4])
        tcls.append(b[best, 4].long())
    return torch.stack(pos), torch.stack(tbox), torch.stack(tcls)


def giou_loss(a, b):
    ix0, iy0 = torch.max(a[:, 0], b[:, 0]), torch.max(a[:, 1], b[:, 1])
    ix1, iy1 = torch.min(a[:, 2], b[:, 2]), torch.min(a[:, 3], b[:, 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = aa + ab - inter + 1e-6
    iou = inter / union
    cx0, cy0 = torch.min(a[:, 0], b[:, 0]), torch.min(a[:, 1], b[:, 1])
    cx1, cy1 = torch.max(a[:, 2], b[:, 2]), torch.max(a[:, 3], b[:, 3])
    c = (cx1 - cx0) * (cy1 - cy0) + 1e-6
    return 1 - iou + (c - union) / c, iou


def loss_fn(raw, pos, tbox, tcls, num_classes):
    bsz, ch, g, _ = raw.shape
    p = raw.reshape(bsz, ch, g * g).permute(0, 2, 1)  # [B, n, 5+C]
    ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    gx, gy = xs.reshape(-1).float(), ys.reshape(-1).float()
    cx = (p[..., 0] + gx) * STRIDE
    cy = (p[..., 1] + gy) * STRIDE
    w = torch.exp(p[..., 2].clamp(-4, 5)) * STRIDE
    h = torch.exp(p[..., 3].clamp(-4, 5)) * STRIDE
    pbox = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)
    nfg = max(1.0, float(pos.sum()))
    obj_t = torch.zeros_like(p[..., 4])
    if pos.any():
        lg, iou = giou_loss(pbox[pos], tbox[pos])
        l_box = lg.sum()
        obj_t[pos] = 1.0
        cls_t = F.one_hot(tcls[pos], num_classes).float()
        l_cls = F.binary_cross_entropy_with_logits(p[..., 5:][pos], cls_t, reduction="sum")
    else:
        l_box = l_cls = p.sum() * 0
        iou = torch.zeros(1)
    l_obj = F.binary_cross_entropy_with_logits(p[..., 4], obj_t, reduction="sum")
    total = (5.0 * l_box + l_obj + l_cls) / nfg
    return total, (l_box / nfg).item(), (l_obj / nfg).item(), (l_cls / nfg).item(), float(iou.mean())


def export(model, size, path):
    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, path, input_names=["images"], output_names=["output"], opset_version=13,
                      do_constant_folding=True)
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    m.producer_name = "edgeinfer models/shapes/train.py"
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "shapes_detector.onnx"))
    ap.add_argument("--size", type=int, default=320, help="the exported network's input size")
    ap.add_argument("--train-size", type=int, default=256, help="training image size (fully convolutional)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (one more process generates data)")
    ap.add_argument("--checkpoint", default=None, help="also save the state dict here")
    ap.add_argument("--init", default=None, help="start from this state dict (a --checkpoint of an earlier run)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = ShapesDetector(len(shapes_data.CLASSES))
    if args.init:
        model.load_state_dict(torch.load(args.init))
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                            lr=args.lr)
    warm = min(150, args.steps // 10)

    def lr_at(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        t = (step - warm) / max(1, args.steps - warm)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    g = args.train_size // STRIDE
    t0 = time.time()
    ctx = mp.get_context("fork")
    jobs = ((args.seed, i, args.train_size) for i in range(args.steps * args.batch))
    with ctx.Pool(1) as pool:
        samples = pool.imap(make_sample, jobs, chunksize=args.batch)
        model.train()
        avg = None
        for step in range(args.steps):
            batch = [next(samples) for _ in range(args.batch)]
            x = torch.from_numpy(np.stack([b[0] for b in batch])).float() / 255.0
            pos, tbox, tcls = targets([b[1] for b in batch], g)
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step)
            raw = model.raw(x)
            loss, lb, lo, lc, miou = loss_fn(raw, pos, tbox, tcls, model.num_classes)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            cur = np.array([loss.item(), lb, lo, lc, miou])
            avg = cur if avg is None else 0.95 * avg + 0.05 * cur
            if step % 50 == 0 or step == args.steps - 1:
                el = time.time() - t0
                print(f"step {step:5d}/{args.steps} loss {avg[0]:.3f} (giou {avg[1]:.3f} obj {avg[2]:.3f} "
                      f"cls {avg[3]:.3f}) iou {avg[4]:.3f} lr {lr_at(step):.5f} {el:6.0f}s "
                      f"eta {el / (step + 1) * (args.steps - step - 1):5.0f}s", flush=True)
    if args.checkpoint:
        torch.save(model.state_dict(), args.checkpoint)
    export(model, args.size, args.out)
    print(f"trained {args.steps} steps x {args.batch} images in {time.time() - t0:.0f}s; wrote {args.out} "
          f"({os.path.getsize(args.out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
