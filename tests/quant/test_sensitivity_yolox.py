"""The issue's accuracy check, end to end (label models): YOLOX-nano calibrated by `edgeinfer build
--precision int8` with the default options (entropy, sensitivity analysis on) on 24 frames of the
three sample videos (ffmpeg, 1 per second, as quant_calib_yolox extracts them; not the evaluation
images), then `edgeinfer eval --precision fp32,int8 --calib-cache` on the 80-image COCO subset.
The defaults include bias correction and the weight-aware analysis (docs/precision.md).

Asserted: the build reports the analysis and keeps some tensors in float (listed in the cache's
comments, absent from its lines); the cache holds channel means (bias correction) for the
tensors it lists as convolution inputs; the int8 mAP is within MAX_DROP = 1.0 points of fp32, the
issue's target (measured: 0.65; 1.8 to 2.2 before bias correction). Under a sanitizer build (--sanitize) the
mAP part is skipped (exit 77, a message says why): the analysis alone runs the network ~1000 times."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

MAX_DROP = 1.0
VIDEOS = ("bottle-detection.mp4", "car-detection.mp4", "one-by-one-person-detection.mp4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--eval-config", required=True)
    ap.add_argument("--sanitize", action="store_true")
    args = ap.parse_args()
    if args.sanitize:
        print("skip: sanitizer build; YOLOX-nano's sensitivity analysis and COCO eval take minutes there "
              "(run the release build)")
        return 77
    assets = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT") or "../shared/assets"
    model = os.path.join(assets, "models/coco_detection/yolox_nano_416.onnx")
    coco = os.path.join(assets, "coco_tiny_val2017")
    if not os.path.exists(model) or not os.path.isdir(coco):
        print(f"skip: {model} or {coco} missing (set EI_ASSETS_DIR)")
        return 77
    if not shutil.which("ffmpeg"):
        print("skip: ffmpeg is not installed (scripts/setup.sh)")
        return 77
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        # Configs with absolute paths (they name the model relative to themselves).
        cfgs = []
        for src in (args.config, args.eval_config):
            text = open(src).read()
            text = re.sub(r"(?m)^onnx-file=.*$", "onnx-file=" + os.path.abspath(model), text)
            text = re.sub(r"(?m)^labelfile-path=.*$",
                          "labelfile-path=" + os.path.abspath(os.path.join(assets, "models/coco_detection/coco80_classes.txt")),
                          text)
            dst = os.path.join(tmp, os.path.basename(src))
            open(dst, "w").write(text)
            cfgs.append(dst)
        frames = os.path.join(tmp, "frames")
        os.makedirs(frames)
        for i, v in enumerate(VIDEOS):
            r = subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", os.path.join(assets, "videos", v), "-vf",
                                "fps=1", "-frames:v", "8", os.path.join(frames, f"v{i}_%03d.jpg")])
            if r.returncode != 0:
                print(f"skip: ffmpeg could not extract frames from {v}")
                return 77
        engine = os.path.join(tmp, "y.engine")
        r = subprocess.run([args.edgeinfer, "build", model, "-o", engine, "--precision", "int8", "-c", cfgs[0],
                            "--calib-images", frames], capture_output=True, text=True)
        print(r.stdout)
        if r.returncode != 0:
            print(r.stderr)
            print("FAIL: the int8 build failed")
            return 1
        m = re.search(r"sensitivity: (\d+) of (\d+) tensors kept in float \(all-int8 cosine ([0-9.]+) -> ([0-9.]+)",
                      r.stdout)
        if not m or int(m.group(1)) < 1:
            fails.append("the build did not report tensors kept in float")
        cache = engine + ".calib"
        text = open(cache).read()
        kept = re.findall(r"(?m)^# kept-float: (\S+) \(", text)
        lines = {l.split("\t")[0] for l in text.splitlines() if "\t" in l and not l.startswith("#")}
        if m and len(kept) != int(m.group(1)):
            fails.append(f"{len(kept)} kept-float comments, the build said {m.group(1)}")
        if set(kept) & lines:
            fails.append(f"kept-float tensors still in the cache: {sorted(set(kept) & lines)}")
        with_means = [l.split("\t")[0] for l in text.splitlines()
                      if "\t" in l and not l.startswith("#") and "\tmean:" in l and "\tmean-q:" in l]
        if "format: 2" not in text or len(with_means) < 50:
            fails.append(f"bias correction: expected format 2 and channel means on the convolution inputs, got "
                         f"{len(with_means)} lines with means")
        r = subprocess.run([args.edgeinfer, "eval", "-c", cfgs[1], "--coco",
                            os.path.join(coco, "annotations/instances_val2017.json"), "--images",
                            os.path.join(coco, "val2017"), "--precision", "fp32,int8", "--calib-cache", cache],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            print("FAIL: eval failed")
            return 1
        maps = dict(re.findall(r"(?m)^(fp32|int8)\s+([0-9.]+)\s", r.stdout))
        if set(maps) != {"fp32", "int8"}:
            fails.append(f"no fp32 / int8 rows in {r.stdout[-800:]}")
        else:
            drop = (float(maps["fp32"]) - float(maps["int8"])) * 100
            print(f"YOLOX-nano mAP fp32 {maps['fp32']}, int8 entropy + sensitivity {maps['int8']}: drop {drop:.2f} "
                  f"points ({len(kept)} tensors kept in float, {len(with_means)} with channel means); the issue's target and "
                  f"this test's bound: {MAX_DROP}")
            if drop > MAX_DROP:
                fails.append(f"mAP drop {drop:.2f} points > {MAX_DROP}")
    for f in fails:
        print("FAIL:", f)
    print("quant_sensitivity_yolox:", "FAILED" if fails else "ok")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
