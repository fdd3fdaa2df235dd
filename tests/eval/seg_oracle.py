"""`edgeinfer eval --segmentation`: per-class IoU and mIoU against a numpy computation.

  seg_oracle.py synthetic --edgeinfer BIN --work DIR
      random label PNGs (8-bit grey and palette, with 255 = ignore in the ground truth and 255 = no
      class in the predictions, classes absent from both) evaluated by `edgeinfer eval --segmentation
      GT --predictions PRED --classes N --json M`; numpy builds the confusion matrix.
  seg_oracle.py model --edgeinfer BIN --work DIR --config INI
      DeepLabV3 (assets): `edgeinfer segment -o` gives the model's label maps; ground truth is made
      from them with changes (regions relabelled, an ignore band); `edgeinfer eval -c INI
      --segmentation GT --images DIR` must report what numpy computes from the two maps.
Convention (docs/eval.md): IoU_c = TP / (TP + FP + FN) over pixels whose ground truth is not 255;
mIoU is the mean over the classes with a non-empty union (present in the ground truth or predicted).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def assets_dir():
    d = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT") or os.path.join(ROOT, "..", "shared", "assets")
    return os.path.abspath(d)


def write_png(path, labels, palette=False):
    """8-bit grey, or palette (colour type 3) whose indices are the labels."""
    h, w = labels.shape
    raw = b"".join(b"\x00" + labels[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3 if palette else 0, 0, 0, 0))
    if palette:
        png += chunk(b"PLTE", bytes((i * 37) % 256 for i in range(256 * 3)))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def read_png_gray(path):
    """The grey PNGs `edgeinfer segment` writes (8-bit, no filter assumptions: decoded with zlib + unfilter)."""
    data = open(path, "rb").read()
    pos, idat = 8, b""
    w = h = 0
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype == 0, (depth, ctype)
        elif t == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    out = np.zeros((h, w), np.uint8)
    prev = np.zeros(w, np.int32)
    for y in range(h):
        f = raw[y * (w + 1)]
        line = np.frombuffer(raw[y * (w + 1) + 1:(y + 1) * (w + 1)], np.uint8).astype(np.int32)
        cur = np.zeros(w, np.int32)
        for x in range(w):
            a = cur[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if f == 0:
                v = line[x]
            elif f == 1:
                v = line[x] + a
            elif f == 2:
                v = line[x] + b
            elif f == 3:
                v = line[x] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
            cur[x] = v & 255
        out[y] = cur
        prev = cur
    return out


def numpy_iou(pairs, n):
    conf = np.zeros((n, n), np.int64)
    unassigned = np.zeros(n, np.int64)
    for gt, pred in pairs:
        keep = gt != 255
        g, p = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
        inside = p < n
        np.add.at(conf, (g[inside], p[inside]), 1)
        np.add.at(unassigned, g[~inside], 1)
    tp = np.diag(conf)
    union = conf.sum(1) + unassigned + conf.sum(0) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return iou, float(np.nanmean(iou)) if (union > 0).any() else -1.0


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0 or any(s in p.stderr for s in ("AddressSanitizer", "runtime error", "LeakSanitizer")):
        print("command failed:", " ".join(cmd), "\n", p.stdout, p.stderr)
        sys.exit(1)
    return p


def check(name, m_path, iou, miou):
    res = json.load(open(m_path))["results"][0]
    ours = np.array([np.nan if c["iou"] is None else c["iou"] for c in res["classes"]])
    ok = len(ours) == len(iou) and np.array_equal(np.isnan(ours), np.isnan(iou)) and \
        np.allclose(ours[~np.isnan(ours)], iou[~np.isnan(iou)], atol=1e-9, rtol=0) and abs(res["miou"] - miou) < 1e-9
    print(f"{'ok  ' if ok else 'FAIL'} {name}: mIoU ours {res['miou']:.6f} numpy {miou:.6f}")
    if not ok:
        print("  ours ", ours, "\n  numpy", iou)
    return ok


def synthetic(args):
    rng = np.random.default_rng(5)
    ok = True
    for case, n in (("grey", 6), ("palette", 21), ("one_class", 1)):
        gt_dir, pr_dir = os.path.join(args.work, case, "gt"), os.path.join(args.work, case, "pred")
        shutil.rmtree(os.path.join(args.work, case), ignore_errors=True)
        os.makedirs(gt_dir)
        os.makedirs(pr_dir)
        pairs = []
        for i in range(4):
            h, w = rng.integers(5, 60, 2)
            used = rng.choice(n, size=max(1, n // 2), replace=False)  # some classes appear nowhere
            gt = rng.choice(used, size=(h, w)).astype(np.uint8)
            gt[rng.random((h, w)) < 0.1] = 255
            pred = np.where(rng.random((h, w)) < 0.6, gt, rng.choice(used, size=(h, w))).astype(np.uint8)
            pred[rng.random((h, w)) < 0.05] = 255  # no class reached the threshold
            pred[gt == 255] = rng.integers(0, n)
            write_png(os.path.join(gt_dir, f"img{i}.png"), gt, palette=case == "palette")
            # `edgeinfer segment -o` names them <stem>_labels.png; plain <stem>.png works too
            write_png(os.path.join(pr_dir, f"img{i}_labels.png" if i % 2 else f"img{i}.png"), pred)
            pairs.append((gt, pred))
        m_path = os.path.join(args.work, case, "m.json")
        run([args.edgeinfer, "eval", "--segmentation", gt_dir, "--predictions", pr_dir, "--classes", str(n), "--json", m_path])
        iou, miou = numpy_iou(pairs, n)
        ok &= check(f"synthetic {case} ({n} classes)", m_path, iou, miou)
    return 0 if ok else 1


def model(args):
    assets = assets_dir()
    src = os.path.join(assets, "images", "darknet")
    if not os.path.exists(os.path.join(assets, "models", "segmentation", "deeplabv3_mnv2_voc_257.onnx")):
        print("skip: the DeepLabV3 model is not in", assets)
        return 77
    shutil.rmtree(args.work, ignore_errors=True)
    imgs, out, gt_dir = (os.path.join(args.work, d) for d in ("images", "segment", "gt"))
    for d in (imgs, out, gt_dir):
        os.makedirs(d)
    names = ["dog", "person", "horses"]
    for n in names:
        shutil.copy(os.path.join(src, n + ".jpg"), imgs)
    cfg = os.path.join(args.work, "seg.ini")
    with open(args.config) as f, open(cfg, "w") as g:
        g.write(f.read().replace("../../shared/assets", assets))
    run([args.edgeinfer, "segment", "-c", cfg, "-o", out, "--quiet", imgs])
    rng = np.random.default_rng(7)
    pairs = []
    for n in names:
        pred = read_png_gray(os.path.join(out, n + "_labels.png"))
        gt = pred.copy()
        h, w = gt.shape
        gt[: h // 4, : w // 3] = 15  # a person where the model saw something else
        gt[h // 2: h // 2 + 10, :] = 255  # an ignore band
        gt[rng.random((h, w)) < 0.02] = 0
        write_png(os.path.join(gt_dir, n + ".png"), gt, palette=True)
        pairs.append((gt, pred))
    m_path = os.path.join(args.work, "m.json")
    run([args.edgeinfer, "eval", "-c", cfg, "--segmentation", gt_dir, "--images", imgs, "--json", m_path, "--quiet"])
    iou, miou = numpy_iou(pairs, 21)
    return 0 if check("DeepLabV3 on 3 images", m_path, iou, miou) else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["synthetic", "model"])
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "deeplabv3_voc.ini"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    sys.exit(synthetic(args) if args.mode == "synthetic" else model(args))


if __name__ == "__main__":
    main()
