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


def opencv_round(reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        img = cv2.imread(path)
        blob = cv2.dnn.blobFromImage(img, 1 / 127.5, (320, 320), (127.5, 127.5, 127.5), swapRB=True)
        t.append((time.perf_counter() - t0) * 1e3)
    assert blob.shape == (1, 3, 320, 320)
    return statistics.median(t)


ours_full, ours_scaled, cv = [], [], []
for r in range(args.rounds):
    out = subprocess.run([args.bench, path, str(args.reps), "both"], capture_output=True, text=True, check=True).stdout.split()
    ours_full.append(float(out[1]))
    ours_scaled.append(float(out[3]))
    cv.append(opencv_round(args.reps))

m_cv, m_full, m_scaled = statistics.median(cv), statistics.median(ours_full), statistics.median(ours_scaled)
print(f"median ms/frame over {args.rounds} rounds x {args.reps}: OpenCV {m_cv:.3f}, "
      f"edgeinfer full decode {m_full:.3f} ({m_cv / m_full:.2f}x), "
      f"edgeinfer DCT-scaled decode {m_scaled:.3f} ({m_cv / m_scaled:.2f}x)")
os.remove(path)
os.rmdir(tmp)
