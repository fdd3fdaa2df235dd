"""The issue's cosine check for SSD-MobileNet-v1 and SSDLite320-MobileNetV3 INT8 (label models;
docs/precision.md, "SSDLite320 and SSD-MobileNet-v1"): each network is calibrated with the default
options (entropy, bias correction, weight-aware sensitivity analysis) on 24 frames of the three
sample videos (ffmpeg, 1 per second, as quant_sensitivity_yolox extracts them), with its config
(configs/ssd_mobilenet_v1.ini, configs/ssdlite320.ini); the INT8 engine's outputs are compared
with the fp32 engine's on dog, person and eagle of images/darknet (cosine of each whole output):
all above MIN_COSINE. The work is done by tests/quant/sens_cosine (EI_SENS_CHECK). The models are
the random-weight exports of models/export_all.py in BUILD/exported_models (skipped when absent);
under a sanitizer build the test is skipped (the analysis runs each network ~800 times)."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

VIDEOS = ("bottle-detection.mp4", "car-detection.mp4", "one-by-one-person-detection.mp4")
NETS = (("ssd_mobilenet_v1_voc.onnx", "ssd_mobilenet_v1.ini", 0.99),
        ("ssdlite320_mobilenet_v3_large.onnx", "ssdlite320.ini", 0.99))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--exported", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--sanitize", action="store_true")
    args = ap.parse_args()
    if args.sanitize:
        print("skip: sanitizer build; the sensitivity analysis runs each network ~800 times (run the release build)")
        return 77
    assets = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT") or "../shared/assets"
    images = [os.path.join(assets, "images/darknet", f) for f in ("dog.jpg", "person.jpg", "eagle.jpg")]
    if not all(os.path.exists(p) for p in images):
        print(f"skip: {assets}/images/darknet missing (set EI_ASSETS_DIR)")
        return 77
    if not shutil.which("ffmpeg"):
        print("skip: ffmpeg is not installed (scripts/setup.sh)")
        return 77
    nets = [n for n in NETS if os.path.exists(os.path.join(args.exported, n[0]))]
    if not nets:
        print(f"skip: no SSD export in {args.exported} (models/export_all.py --out {args.exported})")
        return 77
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        frames = os.path.join(tmp, "frames")
        os.makedirs(frames)
        for i, v in enumerate(VIDEOS):
            r = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", os.path.join(assets, "videos", v), "-vf",
                                "fps=1", "-frames:v", "8", os.path.join(frames, f"v{i}_%03d.jpg")])
            if r.returncode != 0:
                print(f"skip: ffmpeg could not extract frames from {v}")
                return 77
        for model, ini, min_cos in nets:
            path = os.path.abspath(os.path.join(args.exported, model))
            text = open(os.path.join(args.configs, ini)).read()
            cfg = os.path.join(tmp, ini)
            open(cfg, "w").write(re.sub(r"(?m)^onnx-file=.*$", "onnx-file=" + path, text))
            env = dict(os.environ, EI_SENS_CHECK=str(min_cos))
            r = subprocess.run([args.driver, path, cfg, frames, "default", *images], capture_output=True, text=True,
                               env=env)
            print(r.stdout, r.stderr)
            cos = [float(c) for c in re.findall(r"cosine ([0-9.]+)", r.stdout)]
            if r.returncode != 0 or len(cos) != 2 * len(images):
                fails.append(f"{model}: exit {r.returncode}, cosines {cos} (expected {2 * len(images)} above {min_cos})")
            else:
                print(f"{model}: INT8 output cosine with fp32 {min(cos):.4f} .. {max(cos):.4f} (bound {min_cos})")
    for f in fails:
        print("FAIL:", f)
    print("quant_ssd_cosine:", "FAILED" if fails else "ok")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
