"""The default demo's model and video (models/shapes/).

detect: the committed models/shapes/shapes_detector.onnx on 20 generated 640x360 images (fixed
  seed), through ONNX Runtime (models/shapes/evaluate.py's pre-processing and decoding) and through
  `edgeinfer detect -c configs/demo_shapes.ini --json`. Pass: recall at IoU 0.5 (same class, score
  >= the config's threshold) >= 0.8 for both, and the two agree: every ONNX Runtime detection scoring
  at least 0.05 above the threshold has an edgeinfer detection of the same class with IoU >= 0.9
  (and vice versa); the resizes of OpenCV and edgeinfer round differently, so scores near the
  threshold and box edges may move slightly.
video: models/shapes/make_video.py --seconds 2 --fps 25 writes an MP4 that GStreamer decodes
  (qtdemux ! h264parse ! avdec_h264) to exactly 50 frames of 640x360.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "models", "shapes"))
import evaluate  # noqa: E402
import shapes_data  # noqa: E402

THRESHOLD = 0.4  # configs/demo_shapes.ini pre-cluster-threshold
N_IMAGES, SEED = 20, 2024


def recall(per_image):
    tp = gt = 0
    for dets, gts in per_image:
        _, matched = evaluate.match(dets, gts)
        tp += matched
        gt += len(gts)
    return tp / max(1, gt)


def unmatched(a, b, min_score):
    """Detections of `a` scoring >= min_score without a same-class detection in `b` at IoU >= 0.9."""
    bad = []
    for i, d in enumerate(a):
        if d[4] < min_score:
            continue
        same = b[b[:, 5] == d[5]]
        if not len(same) or evaluate.iou_matrix(d[None, :4], same[:, :4]).max() < 0.9:
            bad.append(d)
    return bad


def check_detect(args):
    import cv2
    import onnxruntime as ort

    model = os.path.join(ROOT, "models", "shapes", "shapes_detector.onnx")
    config = os.path.join(ROOT, "configs", "demo_shapes.ini")
    img_dir = os.path.join(args.work, "images")
    os.makedirs(img_dir, exist_ok=True)
    for f in os.listdir(img_dir):
        os.remove(os.path.join(img_dir, f))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(SEED)
    gts, ort_dets, paths = [], [], []
    for i in range(N_IMAGES):
        img, boxes = shapes_data.test_image(rng, 640, 360)
        paths.append(os.path.join(img_dir, f"{i + 1:06d}.png"))
        cv2.imwrite(paths[-1], img)
        x, r = evaluate.preprocess(img)
        out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        gts.append(boxes)
        ort_dets.append(evaluate.decode(out, r, conf=THRESHOLD))
    js = os.path.join(args.work, "detect.json")
    # The images are named one by one (their numeric names are the JSON's image ids).
    p = subprocess.run([args.edgeinfer, "detect", "-c", config] + paths + ["--json", js, "--threads", "1", "--quiet"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        print(f"edgeinfer detect failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return False
    ei_dets = [[] for _ in range(N_IMAGES)]
    for d in json.load(open(js)):
        x, y, w, h = d["bbox"]
        ei_dets[d["image_id"] - 1].append([x, y, x + w, y + h, d["score"], d["category_id"]])
    ei_dets = [np.array(d, np.float32).reshape(-1, 6) for d in ei_dets]
    r_ort = recall(list(zip(ort_dets, gts)))
    r_ei = recall(list(zip(ei_dets, gts)))
    n_gt = sum(len(g) for g in gts)
    print(f"{N_IMAGES} images, {n_gt} shapes: recall@0.5 onnxruntime {r_ort:.3f}, edgeinfer {r_ei:.3f}; "
          f"detections {sum(len(d) for d in ort_dets)} / {sum(len(d) for d in ei_dets)}")
    ok = r_ort >= 0.8 and r_ei >= 0.8
    if not ok:
        print("FAIL: recall below 0.8")
    disagree = 0
    for i in range(N_IMAGES):
        for name, a, b in (("onnxruntime", ort_dets[i], ei_dets[i]), ("edgeinfer", ei_dets[i], ort_dets[i])):
            for d in unmatched(a, b, THRESHOLD + 0.05):
                disagree += 1
                print(f"FAIL: image {i + 1}: {name} box {np.round(d[:4], 1).tolist()} class {int(d[5])} "
                      f"score {d[4]:.3f} has no counterpart")
    return ok and disagree == 0


def check_video(args):
    out = os.path.join(args.work, "shapes_2s.mp4")
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "models", "shapes", "make_video.py"), "--out", out,
                        "--seconds", "2", "--fps", "25", "--seed", "3"], capture_output=True, text=True, timeout=120)
    print(p.stdout.strip())
    if p.returncode != 0:
        print(f"FAIL: make_video.py ({p.returncode}): {p.stderr}")
        return False
    d = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={out}", "!", "qtdemux", "!", "h264parse", "!",
                        "avdec_h264", "!", "fakesink", "silent=false"], capture_output=True, text=True, timeout=120)
    frames = len(re.findall(r"fakesink0: last-message = chain", d.stdout))
    size = re.search(r"video/x-raw.*?width=\(int\)(\d+), height=\(int\)(\d+)", d.stdout)
    print(f"decoded {frames} frames, size {size.groups() if size else None}")
    ok = d.returncode == 0 and frames == 50 and size is not None and size.groups() == ("640", "360")
    if not ok:
        print(f"FAIL: expected 50 frames of 640x360 (gst-launch rc {d.returncode})\n{d.stderr[-2000:]}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["detect", "video"])
    ap.add_argument("--edgeinfer", help="the edgeinfer CLI (detect)")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ok = check_detect(args) if args.what == "detect" else check_video(args)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
