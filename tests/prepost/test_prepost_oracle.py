"""Oracle test of the pre- and post-processing fast paths (ctest prepost_oracle, via prepost_driver).

Post: SSDLite320's decoder (torchvision priors, softmax, background 0, 3234 x 91) on synthetic outputs
shaped like an untrained or unsure network's (near-flat logits, where the score scan's second bound
rejects rows) plus confident rows, at thresholds from 0.8 down to 1/91: the AVX2 and the scalar scan
must give byte-identical candidates, and both the numpy reference's (float64 softmax, float32 box
decoding): the same classes and count, boxes within 2e-4 px, scores within 1e-6 relative (candidates
within 1e-5 relative of the threshold are left out: rounding decides them).
Pre: 4:2:0 frames (NV12 and I420) through ei_preprocess, AVX2 and scalar, against cv2.cvtColor +
cv2.resize normalised with ImageNet mean/std: bit-identical between the paths and within 1e-5 of
the reference (the existing oracle's bound: 0 grey levels), on the video's frames and on random
frames of odd network sizes, 2x2 sources, growth and a large frame, RGB/BGR, maintain-aspect-ratio
0 and 1, NCHW and NHWC. Exit 77 when numpy or OpenCV is missing."""
import argparse
import os
import subprocess
import sys

try:
    import cv2
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

FAILURES = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILURES.append(msg)


def drv(*args):
    r = subprocess.run([ARGS.driver] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)


def load_rows(path):
    a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    return a.reshape(-1, 6)


def decode_reference(deltas, logits, priors, thr):
    x = logits.astype(np.float64)
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = deltas.astype(np.float32)
    cxcy = d[:, :2] * np.float32(0.1) * priors[:, 2:] + priors[:, :2]
    wh = np.exp(d[:, 2:] * np.float32(0.2)) * priors[:, 2:]
    box = np.concatenate([cxcy - 0.5 * wh, cxcy + 0.5 * wh], 1) * np.float32(320)
    rows, near = [], []
    for c in range(1, p.shape[1]):
        m = p[:, c] >= thr
        amb = np.abs(p[:, c] - thr) < 1e-5 * thr
        rows.append(np.concatenate([box[m & ~amb], p[m & ~amb, c:c + 1], np.full(((m & ~amb).sum(), 1), c)], 1))
        near.append(np.concatenate([box[amb], np.full((amb.sum(), 1), c)], 1))
    return np.concatenate(rows), np.concatenate(near)


def sort_rows(a):
    return a[np.lexsort((a[:, 1], a[:, 0], a[:, 5]))]


def test_decode(work):
    priors_txt = os.path.join(work, "priors.txt")
    drv("priors", priors_txt)
    priors = np.loadtxt(priors_txt, dtype=np.float32)
    n = len(priors)
    check(n == 3234, f"SSDLite320 priors: {n}")
    rng = np.random.default_rng(5)
    cases = []
    for spread in (0.3, 1.0):  # near-flat logits, as SSDLite320 with random weights (spread about 1.7)
        logits = (spread * rng.standard_normal((n, 91))).astype(np.float32)
        conf = rng.choice(n, 40, replace=False)  # confident rows: one class far above the rest
        logits[conf, rng.integers(1, 91, 40)] += rng.uniform(2.0, 9.0, 40).astype(np.float32)
        bg = rng.choice(n, n // 3, replace=False)  # background-dominated rows
        logits[bg, 0] += 6.0
        cases.append((f"spread {spread}", logits))
    deltas = (0.5 * rng.standard_normal((n, 4))).astype(np.float32)
    bpath, spath = os.path.join(work, "boxes.npy"), os.path.join(work, "scores.npy")
    np.save(bpath, deltas[None])
    for name, logits in cases:
        np.save(spath, logits[None])
        for thr in (0.8, 0.3, 0.05, 0.02, 0.012):
            outs = {}
            for path in ("avx2", "scalar"):
                out = os.path.join(work, f"dec_{path}.txt")
                drv("decode", bpath, spath, thr, path, out)
                outs[path] = open(out).read()
            check(outs["avx2"] == outs["scalar"], f"decode {name} thr {thr}: AVX2 and scalar identical")
            got = load_rows(os.path.join(work, "dec_avx2.txt"))
            ref, near = decode_reference(deltas, logits, priors, thr)
            if len(near):  # drop the candidates rounding decides, matched by class and box
                keep = np.ones(len(got), bool)
                for b in near:
                    keep &= ~((got[:, 5] == b[4]) & (np.abs(got[:, :4] - b[:4]).max(1) < 1e-3))
                got = got[keep]
            ok = len(got) == len(ref)
            err_box = err_score = 0.0
            if ok and len(ref):
                g, r = sort_rows(got), sort_rows(ref)
                ok = bool((g[:, 5] == r[:, 5]).all())
                err_box = float(np.abs(g[:, :4] - r[:, :4]).max())
                err_score = float((np.abs(g[:, 4] - r[:, 4]) / r[:, 4]).max())
                ok = ok and err_box <= 2e-4 and err_score <= 1e-6
            check(ok, f"decode {name} thr {thr}: {len(got)} candidates vs numpy {len(ref)} ({len(near)} at the "
                      f"threshold left out), max |box diff| {err_box:.2e} px, max score rel diff {err_score:.2e}")


def yuv_of(bgr):
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    chroma = i420[h:].reshape(-1)
    u, v = chroma[: chroma.size // 2], chroma[chroma.size // 2:]
    nv12 = np.concatenate([i420[:h].reshape(-1), np.stack([u, v], 1).reshape(-1)]).reshape(h * 3 // 2, w)
    return {"nv12": (nv12, cv2.COLOR_YUV2RGB_NV12), "i420": (i420, cv2.COLOR_YUV2RGB_I420)}


def pre_reference(rgb, ow, oh, color, keep, layout):
    h, w = rgb.shape[:2]
    rw, rh = ow, oh
    if keep:
        r = min(ow / w, oh / h)
        rw, rh = max(1, min(ow, int(w * r))), max(1, min(oh, int(h * r)))
    small = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_LINEAR)
    if color == "bgr":
        small = small[:, :, ::-1]
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    scale = (1.0 / (255.0 * std.astype(np.float32))).astype(np.float32)
    offset = (255.0 * mean).astype(np.float32)
    out = np.empty((oh, ow, 3), np.float32)
    out[:] = scale * (0 - offset)  # pad value 0
    out[:rh, :rw] = scale * (small.astype(np.float32) - offset)
    return out.transpose(2, 0, 1)[None] if layout == "nchw" else out[None]


def test_pre(work):
    frames = []
    video = os.path.join(os.environ.get("EI_ASSETS_DIR", os.environ.get("EI_ASSETS_DIR_DEFAULT", "")), "videos",
                         "car-detection.mp4")
    cap = cv2.VideoCapture(video)
    okf, fr = cap.read()
    cap.release()
    sizes = [(320, 320), (317, 203), (1, 1), (640, 640)]
    if okf:
        frames.append(("car-detection.mp4 frame 0", fr[: fr.shape[0] & ~1, : fr.shape[1] & ~1], sizes))
    else:
        print(f"info: no video at {video}; random frames only")
    rng = np.random.default_rng(9)
    rnd = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noqa: E731
    frames += [("random 770x434", rnd(434, 770), [(320, 320), (333, 211)]),
               ("random 2x2", rnd(2, 2), [(3, 5), (1, 1)]),
               ("random 18x10", rnd(10, 18), [(320, 320), (9, 7)]),
               ("random 1920x1080", rnd(1080, 1920), [(640, 640), (416, 416)])]
    raw_path, out_path = os.path.join(work, "frame.yuv"), os.path.join(work, "pre.npy")
    for name, bgr, szs in frames:
        h, w = bgr.shape[:2]
        for fmt, (raw, code) in yuv_of(bgr).items():
            raw.tofile(raw_path)
            rgb = cv2.cvtColor(raw, code)
            for k, (ow, oh) in enumerate(szs):
                for color, keep, layout in [("rgb", 0, "nchw"), ("bgr", 1, "nchw"), ("rgb", 1, "nhwc")][: 3 if k == 0
                                                                                                           else 2]:
                    res = {}
                    for path in ("avx2", "scalar"):
                        drv("pre", raw_path, fmt, w, h, ow, oh, color, keep, layout, path, out_path)
                        res[path] = np.load(out_path)
                    ref = pre_reference(rgb, ow, oh, color, keep, layout)
                    same = np.array_equal(res["avx2"], res["scalar"])
                    err = float(np.abs(res["avx2"] - ref).max())
                    check(same and err <= 1e-5, f"pre {fmt} {name} -> {ow}x{oh} {color} keep {keep} {layout}: AVX2 "
                                                f"{'==' if same else '!='} scalar, max |diff| vs OpenCV {err:.1e}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--work", required=True)
    ARGS = ap.parse_args()
    os.makedirs(ARGS.work, exist_ok=True)
    test_decode(ARGS.work)
    test_pre(ARGS.work)
    if FAILURES:
        print(f"{len(FAILURES)} failures")
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
