"""Oracle tests for detection post-processing (run by ctest through decode_driver).

--part priors_nms: priors against torchvision's DefaultBoxGenerator (SSD300, SSDLite320) and numpy
  references written from the pytorch-ssd and ULFD formulas; ei_nms against torchvision.ops.nms and
  batched_nms on random box sets.
--part models: ONNX Runtime runs the real models of the shared assets with the MANIFEST's
  pre-processing; the raw outputs are saved as .npy, decoded in numpy here and by our decoders
  through the driver, and the two must agree to 1e-3. Then the expected objects must be found.
Exit 77 (skip) when the assets or a Python package are missing."""
import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torchvision
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

TOL = 1e-3
FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL", msg)


def driver(args):
    r = subprocess.run([ARGS.driver] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"decode_driver {' '.join(map(str, args))}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def level_arg(fw, fh, step=0, mn=0, mx=0, scale=0, sizes=(), ratios=()):
    return ["--level", f"{fw},{fh},{step},{mn},{mx},{scale},{'/'.join(map(str, sizes))},{'/'.join(map(str, ratios))}"]


# ---------------------------------------------------------------- priors

def tv_priors(gen, grids, size):
    with torch.no_grad():
        return gen._grid_default_boxes([[g, g] for g in grids], [size, size]).numpy()


def pssd_reference(specs, image_size, clamp=True):
    """pytorch-ssd generate_ssd_priors, from its documented formula."""
    priors = []
    for fm, shrink, mn, mx, ratios in specs:
        scale = image_size / shrink
        for j, i in itertools.product(range(fm), repeat=2):
            x, y = (i + 0.5) / scale, (j + 0.5) / scale
            w = h = mn / image_size
            priors.append([x, y, w, h])
            s = math.sqrt(mx * mn) / image_size
            priors.append([x, y, s, s])
            for r in ratios:
                r = math.sqrt(r)
                priors.append([x, y, w * r, h / r])
                priors.append([x, y, w / r, h * r])
    p = np.array(priors, dtype=np.float32)
    return np.clip(p, 0.0, 1.0) if clamp else p


ULFD_MIN_BOXES = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]
ULFD_FM = {(320, 240): ([40, 20, 10, 5], [30, 15, 8, 4]), (640, 480): ([80, 40, 20, 10], [60, 30, 15, 8])}


def ulfd_reference(w, h):
    fw, fh = ULFD_FM[(w, h)]
    pr = []
    for k, sizes in enumerate(ULFD_MIN_BOXES):
        for j in range(fh[k]):
            for i in range(fw[k]):
                for m in sizes:
                    pr.append([(i + 0.5) / fw[k], (j + 0.5) / fh[k], m / w, m / h])
    return np.clip(np.array(pr, dtype=np.float32), 0.0, 1.0)


def ulfd_prior_args(w, h):
    fw, fh = ULFD_FM[(w, h)]
    args = ["--style", "min", "--image", f"{w}x{h}"]
    for k, sizes in enumerate(ULFD_MIN_BOXES):
        args += level_arg(fw[k], fh[k], sizes=sizes)
    return args


def test_priors():
    # SSD300-VGG16 (torchvision ssd.py)
    ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
    scales = [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05]
    steps = [8, 16, 32, 64, 100, 300]
    grids = [38, 19, 10, 5, 3, 1]
    ref = tv_priors(DefaultBoxGenerator(ratios, scales=scales, steps=steps), grids, 300)
    args = ["--style", "tv", "--image", "300x300", "--last-scale", 1.05]
    for k in range(6):
        args += level_arg(grids[k], grids[k], steps[k], scale=scales[k], ratios=ratios[k])
    got = np.array(driver(["priors"] + args)["priors"], dtype=np.float32)
    check(got.shape == ref.shape == (8732, 4), f"SSD300 prior count {got.shape} vs {ref.shape}")
    if got.shape == ref.shape:
        err = float(np.abs(got - ref).max())
        check(err <= 1e-6, f"SSD300 priors differ from DefaultBoxGenerator by {err}")
        print(f"priors SSD300: {len(got)} priors, max |diff| vs DefaultBoxGenerator {err:.2e}")
    # SSDLite320 (torchvision ssdlite.py): no steps, scales from min_ratio 0.2 / max_ratio 0.95
    grids = [20, 10, 5, 3, 2, 1]
    ref = tv_priors(DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.2, max_ratio=0.95), grids, 320)
    args = ["--style", "tv", "--image", "320x320", "--min-ratio", 0.2, "--max-ratio", 0.95]
    for g in grids:
        args += level_arg(g, g, ratios=[2, 3])
    got = np.array(driver(["priors"] + args)["priors"], dtype=np.float32)
    check(got.shape == ref.shape == (3234, 4), f"SSDLite320 prior count {got.shape} vs {ref.shape}")
    if got.shape == ref.shape:
        err = float(np.abs(got - ref).max())
        check(err <= 1e-6, f"SSDLite320 priors differ from DefaultBoxGenerator by {err}")
        print(f"priors SSDLite320: {len(got)} priors, max |diff| vs DefaultBoxGenerator {err:.2e}")
    # pytorch-ssd / jetson-inference SSD-MobileNet 300
    specs = [(19, 16, 60, 105, [2, 3]), (10, 32, 105, 150, [2, 3]), (5, 64, 150, 195, [2, 3]),
             (3, 100, 195, 240, [2, 3]), (2, 150, 240, 285, [2, 3]), (1, 300, 285, 330, [2, 3])]
    ref = pssd_reference(specs, 300)
    args = ["--style", "pssd", "--image", "300x300"]
    for fm, shrink, mn, mx, r in specs:
        args += level_arg(fm, fm, shrink, mn, mx, ratios=r)
    got = np.array(driver(["priors"] + args)["priors"], dtype=np.float32)
    check(got.shape == ref.shape == (3000, 4), f"pytorch-ssd prior count {got.shape} vs {ref.shape}")
    if got.shape == ref.shape:
        err = float(np.abs(got - ref).max())
        check(err <= 1e-6, f"pytorch-ssd priors differ by {err}")
        print(f"priors pytorch-ssd 300: {len(got)} priors, max |diff| {err:.2e}")
    # ULFD min_boxes
    for (w, h), count in (((320, 240), 4420), ((640, 480), 17640)):
        ref = ulfd_reference(w, h)
        got = np.array(driver(["priors"] + ulfd_prior_args(w, h))["priors"], dtype=np.float32)
        check(got.shape == ref.shape == (count, 4), f"ULFD {w}x{h} prior count {got.shape}, expected {count}")
        if got.shape == ref.shape:
            err = float(np.abs(got - ref).max())
            check(err <= 1e-6, f"ULFD {w}x{h} priors differ by {err}")
            print(f"priors ULFD {w}x{h}: {len(got)} priors, max |diff| {err:.2e}")


# ---------------------------------------------------------------- NMS

def rows_key(a):
    return sorted(tuple(np.round(r, 4)) for r in np.asarray(a, dtype=np.float64).reshape(-1, 6))


def our_nms(tmp, boxes6, iou, agnostic):
    path = os.path.join(tmp, "nms_boxes.npy")
    np.save(path, boxes6.astype(np.float32))
    return np.array(driver(["nms", "--boxes", path, "--iou", iou] + (["--agnostic"] if agnostic else []))["boxes"],
                    dtype=np.float32).reshape(-1, 6)


def torch_nms(boxes6, iou, agnostic):
    b = torch.from_numpy(boxes6[:, :4].astype(np.float32))
    s = torch.from_numpy(boxes6[:, 4].astype(np.float32))
    c = torch.from_numpy(boxes6[:, 5].astype(np.int64))
    keep = torchvision.ops.nms(b, s, iou) if agnostic else torchvision.ops.batched_nms(b, s, c, iou)
    return boxes6[keep.numpy()]


def compare_nms(tmp, boxes6, iou, agnostic, what):
    ours = our_nms(tmp, boxes6, iou, agnostic)
    ref = torch_nms(boxes6, iou, agnostic)
    same = len(ours) == len(ref) and rows_key(ours) == rows_key(ref)
    check(same, f"NMS {what} (iou {iou}, agnostic {agnostic}): ours kept {len(ours)}, torchvision {len(ref)}")
    # ours are in descending score order, as torchvision's keep
    check(np.all(np.diff(ours[:, 4]) <= 0), f"NMS {what}: kept boxes not sorted by score")
    return len(ours)


def test_nms(tmp):
    rng = np.random.default_rng(4)
    for seed in range(6):
        n = int(rng.integers(50, 800))
        xy = rng.uniform(0, 600, (n, 2))
        wh = rng.uniform(5, 150, (n, 2))
        boxes = np.concatenate([xy, xy + wh, rng.uniform(0, 1, (n, 1)), rng.integers(0, 5, (n, 1))], 1)
        boxes = boxes.astype(np.float32)
        for iou in (0.3, 0.5, 0.7):
            for agnostic in (True, False):
                compare_nms(tmp, boxes, iou, agnostic, f"random set {seed} ({n} boxes)")
    print("NMS: 36 random sets identical to torchvision.ops.nms / batched_nms")


# ---------------------------------------------------------------- models

def assets_dir():
    d = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT", "")
    return d


def letterbox_topleft(img, size):
    import cv2
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    resized = cv2.resize(img, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), r


def ulfd_input(img, w, h):
    import cv2
    x = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (w, h))
    return ((x.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None].copy()


def yolox_reference(out, size, thr, strides=(8, 16, 32)):
    """numpy decoding per MANIFEST: best class per box, score obj*cls, centre/size from the grid."""
    grids, exp_strides = [], []
    for s in strides:
        g = size // s
        yv, xv = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        grids.append(np.stack([xv, yv], -1).reshape(-1, 2))
        exp_strides.append(np.full((g * g, 1), s))
    grid = np.concatenate(grids).astype(np.float32)
    st = np.concatenate(exp_strides).astype(np.float32)
    o = out[0]
    cxcy = (o[:, :2] + grid) * st
    wh = np.exp(o[:, 2:4]) * st
    cls = o[:, 5:].argmax(1)
    score = o[:, 4] * o[np.arange(len(o)), 5 + cls]
    keep = score >= thr
    b = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], 1)
    return np.concatenate([b, score[:, None], cls[:, None]], 1)[keep].astype(np.float32)


def ssd_decode_reference(deltas, priors, cv=0.1, sv=0.2):
    cxcy = deltas[:, :2] * cv * priors[:, 2:] + priors[:, :2]
    wh = np.exp(deltas[:, 2:] * sv) * priors[:, 2:]
    return np.concatenate([cxcy - wh / 2, cxcy + wh / 2], 1)


def boxes_scores_reference(boxes_norm, scores, w, h, thr):
    b = boxes_norm * np.array([w, h, w, h], dtype=np.float32)
    rows = []
    for c in range(1, scores.shape[1]):
        m = scores[:, c] >= thr
        rows.append(np.concatenate([b[m], scores[m, c:c + 1], np.full((m.sum(), 1), c)], 1))
    return np.concatenate(rows).astype(np.float32)


def same_boxes(a, b, what):
    a = np.asarray(a, dtype=np.float32).reshape(-1, 6)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 6)
    ok = len(a) == len(b)
    err = 0.0
    if ok and len(a):
        ia = np.lexsort((a[:, 1], a[:, 0], -a[:, 4]))
        ib = np.lexsort((b[:, 1], b[:, 0], -b[:, 4]))
        err = float(np.abs(a[ia] - b[ib]).max())
        ok = err <= TOL
    check(ok, f"{what}: {len(a)} vs {len(b)} boxes, max |diff| {err}")
    return err


def test_models(tmp):
    import cv2
    import onnxruntime as ort
    root = assets_dir()
    if not os.path.isfile(os.path.join(root, "models/coco_detection/yolox_nano_416.onnx")):
        print(f"skipped: assets not found in '{root}'")
        sys.exit(77)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3

    def run(model, x):
        sess = ort.InferenceSession(os.path.join(root, model), so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x})))

    def save(name, arr):
        p = os.path.join(tmp, name + ".npy")
        np.save(p, np.ascontiguousarray(arr, dtype=np.float32))
        return p

    # YOLOX-Nano on dog.jpg
    img = cv2.imread(os.path.join(root, "images/darknet/dog.jpg"))
    x, r = letterbox_topleft(img, 416)
    out = run("models/coco_detection/yolox_nano_416.onnx", x)["output"]
    path = save("yolox_dog", out)
    base = ["decode", "--kind", "yolox", "--net", "416x416", "--out", f"output={path}", "--classes", 80]
    ref = yolox_reference(out, 416, 0.1)
    got = driver(base + ["--threshold", 0.1])["boxes"]
    err = same_boxes(got, ref, "YOLOX-nano dog.jpg candidates (score >= 0.1)")
    print(f"YOLOX-nano dog.jpg: {len(ref)} candidates >= 0.1, max |diff| vs numpy {err:.2e}")
    for agn in (True, False):
        compare_nms(tmp, ref, 0.45, agn, "YOLOX-nano dog.jpg candidates (real boxes)")
    kept = np.array(driver(base + ["--threshold", 0.3, "--nms", 0.45, "--agnostic"])["boxes"]).reshape(-1, 6)
    names = open(os.path.join(root, "models/coco_detection/coco80_classes.txt")).read().split("\n")
    found = {names[int(c)]: round(float(s), 2) for *_, s, c in kept}
    print(f"YOLOX-nano dog.jpg (>= 0.3, agnostic NMS 0.45): {found}")
    for want in ("dog", "bicycle", "car"):
        check(want in found, f"YOLOX-nano dog.jpg: no {want} in {found}")
    check("truck" not in found, f"YOLOX-nano dog.jpg: truck should be suppressed by class-agnostic NMS: {found}")
    # cluster path gives the same boxes as nms when every class has the same attributes
    cl = driver(base + ["--threshold", 0.3, "--cluster", 0.45, "--agnostic"])["boxes"]
    same_boxes(cl, kept, "YOLOX-nano dog.jpg: ei_cluster vs ei_nms")

    # person detector
    img = cv2.imread(os.path.join(root, "images/darknet/person.jpg"))
    x, r = letterbox_topleft(img, 192)
    out = run("models/person_detection/lightweight_person_detector_192.onnx", x)["output"]
    path = save("person", out)
    base = ["decode", "--kind", "yolox", "--net", "192x192", "--out", f"output={path}", "--classes", 1]
    same_boxes(driver(base + ["--threshold", 0.1])["boxes"], yolox_reference(out, 192, 0.1),
               "person detector person.jpg candidates")
    kept = np.array(driver(base + ["--threshold", 0.4, "--nms", 0.5])["boxes"]).reshape(-1, 6)
    print(f"person detector person.jpg: {len(kept)} person box(es), best {kept[:, 4].max() if len(kept) else 0:.2f}")
    check(len(kept) >= 1 and kept[:, 4].max() >= 0.8, "person detector: person not found in person.jpg")

    # faces: normal models (BOXES_SCORES) and _without_postprocessing (SSD + min_boxes priors)
    priors = ulfd_reference(320, 240)
    prior_args = ulfd_prior_args(320, 240)
    faces_dir = os.path.join(root, "images/faces")
    for variant in ("RFB-320", "slim-320"):
        for f in sorted(os.listdir(faces_dir)):
            img = cv2.imread(os.path.join(faces_dir, f))
            x = ulfd_input(img, 320, 240)
            o = run(f"models/face_detection/ulfd-version-{variant}.onnx", x)
            bp, sp = save("face_boxes", o["boxes"]), save("face_scores", o["scores"])
            common = ["--net", "320x240", "--classes", 2, "--threshold", 0.7]
            got = driver(["decode", "--kind", "boxes", "--out", f"boxes={bp}", "--out", f"scores={sp}"] + common)
            ref = boxes_scores_reference(o["boxes"][0], o["scores"][0], 320, 240, 0.7)
            same_boxes(got["boxes"], ref, f"{variant} {f}: candidates")
            final = driver(["decode", "--kind", "boxes", "--out", f"boxes={bp}", "--out", f"scores={sp}", "--nms", 0.3]
                           + common)["boxes"]
            same_boxes(final, torch_nms(ref, 0.3, False), f"{variant} {f}: after NMS 0.3 vs torchvision")
            check(len(final) >= 1, f"{variant} {f}: no face found")
            # the same network without its decoding: raw regressions decoded against our priors
            o2 = run(f"models/face_detection/ulfd-version-{variant}_without_postprocessing.onnx", x)
            bp2, sp2 = save("face_raw_boxes", o2["boxes"]), save("face_raw_scores", o2["scores"])
            final2 = driver(["decode", "--kind", "ssd", "--out", f"boxes={bp2}", "--out", f"scores={sp2}", "--nms", 0.3]
                            + common + prior_args)["boxes"]
            same_boxes(final2, final, f"{variant} {f}: SSD prior decoding vs built-in decoding")
            ref2 = ssd_decode_reference(o2["boxes"][0], priors)
            same_boxes(driver(["decode", "--kind", "ssd", "--out", f"boxes={bp2}", "--out", f"scores={sp2}"]
                              + common + prior_args)["boxes"],
                       boxes_scores_reference(ref2, o2["scores"][0], 320, 240, 0.7),
                       f"{variant} {f}: SSD candidates vs numpy")
            print(f"{variant} {f}: {len(final)} face(s) after NMS; prior decoding gives the same boxes")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--part", choices=["priors_nms", "models"], required=True)
    ARGS = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if ARGS.part == "priors_nms":
            test_priors()
            test_nms(tmp)
        else:
            test_models(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
