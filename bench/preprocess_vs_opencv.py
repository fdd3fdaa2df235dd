"""Decode + resize + normalise of a 1280x720 JPEG into a 320x320 RGB NCHW float input: edgeinfer
(bench_preprocess, full decode and DCT-scaled decode) against cv2.imread + cv2.dnn.blobFromImage,
both single-threaded, alternating in rounds within one run. Prints the medians and the ratios.

    python bench/preprocess_vs_opencv.py --bench build/bench/bench_preprocess [--rounds 7 --reps 30]

The 1280x720 JPEG is made at run time from the shared assets (cv2.resize of images/darknet/dog.jpg,
quality 95), never committed."""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import cv2
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True)
ap.add_argument("--assets", default=os.environ.get("EI_ASSETS_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "assets")))
ap.add_argument("--rounds", type=int, default=7)
ap.add_argument("--reps", type=int, default=30)
args = ap.parse_args()

cv2.setNumThreads(1)
print(f"OpenCV {cv2.__version__}, cv2.getNumThreads() = {cv2.getNumThreads()}; edgeinfer pre-processing is single-threaded")
src = cv2.imread(os.path.join(args.assets, "images", "darknet", "dog.jpg"))
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "bench_1280x720.jpg")
cv2.imwrite(path, cv2.resize(src, (1280, 720), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 95])


def opencv_frame_round(reps, img, nv12):
    """blobFromImage on a decoded BGR frame, and NV12 -> BGR -> blob for a video frame."""
    t, tv = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        blob = cv2.dnn.blobFromImage(img, 1 / 127.5, (320, 320), (127.5, 127.5, 127.5), swapRB=True)
        t.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        bgr = cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
        blob = cv2.dnn.blobFromImage(bgr, 1 / 127.5, (320, 320), (127.5, 127.5, 127.5), swapRB=True)
        tv.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t), statistics.median(tv)


def opencv_round(reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        img = cv2.imread(path)
        blob = cv2.dnn.blobFromImage(img, 1 / 127.5, (320, 320), (127.5, 127.5, 127.5), swapRB=True)
        t.append((time.perf_counter() - t0) * 1e3)
    assert blob.shape == (1, 3, 320, 320)
    return statistics.median(t)


decoded = cv2.imread(path)
yuv = cv2.cvtColor(decoded, cv2.COLOR_BGR2YUV_I420)  # I420 -> NV12: interleave the U and V planes
h, w = decoded.shape[:2]
u = yuv[h:h + h // 4].reshape(-1)
v = yuv[h + h // 4:].reshape(-1)
nv12 = np.concatenate([yuv[:h].reshape(-1), np.stack([u, v], 1).reshape(-1)]).reshape(h * 3 // 2, w)
ours_full, ours_scaled, ours_resize, ours_nv12, cv, cv_resize, cv_nv12 = [], [], [], [], [], [], []
for r in range(args.rounds):
    out = subprocess.run([args.bench, path, str(args.reps), "all"], capture_output=True, text=True, check=True).stdout.split()
    vals = dict(zip(out[0::2], map(float, out[1::2])))
    ours_full.append(vals["full"])
    ours_scaled.append(vals["scaled"])
    ours_resize.append(vals["resize"])
    ours_nv12.append(vals["nv12"])
    cv.append(opencv_round(args.reps))
    a, b = opencv_frame_round(args.reps, decoded, nv12)
    cv_resize.append(a)
    cv_nv12.append(b)

m_cv, m_full, m_scaled = statistics.median(cv), statistics.median(ours_full), statistics.median(ours_scaled)
print(f"median ms/frame over {args.rounds} rounds x {args.reps}: OpenCV {m_cv:.3f}, "
      f"edgeinfer full decode {m_full:.3f} ({m_cv / m_full:.2f}x), "
      f"edgeinfer DCT-scaled decode {m_scaled:.3f} ({m_cv / m_scaled:.2f}x)")
m_r, m_cr = statistics.median(ours_resize), statistics.median(cv_resize)
m_n, m_cn = statistics.median(ours_nv12), statistics.median(cv_nv12)
print(f"without the JPEG decoder: decoded BGR frame -> input: OpenCV blobFromImage {m_cr:.3f}, edgeinfer {m_r:.3f} "
      f"({m_cr / m_r:.2f}x); NV12 video frame -> input: OpenCV cvtColor + blobFromImage {m_cn:.3f}, "
      f"edgeinfer {m_n:.3f} ({m_cn / m_n:.2f}x)")
os.remove(path)
os.rmdir(tmp)
