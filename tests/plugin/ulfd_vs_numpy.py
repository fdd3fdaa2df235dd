"""The example parser plugin against a numpy reference decode of ONNX Runtime's outputs.

Runs ulfd-version-RFB-320.onnx on images/faces/ulfd-1.jpg with the MANIFEST's pre-processing
(RGB, resize to 320x240, (x - 127) / 128, NCHW), saves `scores` and `boxes` as .npy, decodes them
with numpy (score > 0.7, corners times the network size, no clipping, no NMS) into ref.npy, then
runs the C test, which feeds the .npy files through the plugin and compares to 1e-3.
Exit 77 (skip) when the assets, onnxruntime or OpenCV are missing."""
import argparse
import os
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--test", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    assets = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT", "")
    model = os.path.join(assets, "models/face_detection/ulfd-version-RFB-320.onnx")
    image = os.path.join(assets, "images/faces/ulfd-1.jpg")
    if not (os.path.exists(model) and os.path.exists(image)):
        print(f"skipped: assets not found under '{assets}' (set EI_ASSETS_DIR)")
        return 77
    try:
        import cv2
        import onnxruntime as ort
    except ImportError as e:
        print(f"skipped: {e}")
        return 77

    bgr = cv2.imread(image)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    x = cv2.resize(rgb, (320, 240)).astype(np.float32)
    x = ((x - 127.0) / 128.0).transpose(2, 0, 1)[None]
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    scores, boxes = sess.run(["scores", "boxes"], {"input": np.ascontiguousarray(x)})

    keep = scores[0, :, 1] > 0.7
    ref = np.zeros((int(keep.sum()), 6), np.float32)
    ref[:, 0:4] = boxes[0][keep] * np.array([320, 240, 320, 240], np.float32)
    ref[:, 4] = scores[0, keep, 1]
    ref[:, 5] = 1
    print(f"numpy reference: {len(ref)} candidate faces (score > 0.7, before NMS)")

    os.makedirs(a.work, exist_ok=True)
    np.save(os.path.join(a.work, "scores.npy"), scores.astype(np.float32))
    np.save(os.path.join(a.work, "boxes.npy"), boxes.astype(np.float32))
    np.save(os.path.join(a.work, "ref.npy"), ref)
    sys.stdout.flush()
    return subprocess.run([a.test, a.plugin, "--ulfd", a.work]).returncode


if __name__ == "__main__":
    sys.exit(main())
