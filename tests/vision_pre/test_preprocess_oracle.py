"""Our pre-processing against the reference pipelines of shared/assets/MANIFEST.md (numpy + cv2),
on the real images, and ei_image_resize against cv2.resize for many sizes and the three filters.

Pass criteria: every uint8 pixel within 1 grey level of OpenCV's (normalised outputs are compared
in grey levels: |ours - ref| / scale), and the fraction of differing values printed."""
import argparse
import os
import subprocess
import sys

import numpy as np

try:
    import cv2
except ImportError:
    print("skipped: cv2 not available")
    sys.exit(77)

cv2.setNumThreads(1)

ap = argparse.ArgumentParser()
ap.add_argument("--driver", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()
assets = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT", "")
images = [os.path.join(assets, "images", d, f) for d, f in
          [("darknet", "dog.jpg"), ("darknet", "person.jpg"), ("darknet", "giraffe.jpg"), ("faces", "ulfd-1.jpg")]]
images = [p for p in images if os.path.exists(p)]
if not images:
    print(f"skipped: no images under {assets}/images (set EI_ASSETS_DIR)")
    sys.exit(77)
os.makedirs(args.work, exist_ok=True)
failures = []


def run(image, out, **kw):
    cmd = [args.driver, image, out] + [f"{k}={v}" for k, v in kw.items()]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr}")
    return np.load(out), r.stdout


def compare(name, ours, ref, scale=1.0, max_frac=0.02):
    if ours.shape != ref.shape:
        failures.append(f"{name}: shape {ours.shape} vs reference {ref.shape}")
        print(f"FAIL {name}: shape {ours.shape} vs {ref.shape}")
        return
    levels = np.abs(ours.astype(np.float64) - ref.astype(np.float64)) / abs(scale)
    worst = float(levels.max())
    frac = float((levels > 1e-3).mean())
    ok = worst <= 1.0 + 1e-3 and frac <= max_frac
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max diff {worst:.4f} grey levels, {100 * frac:.4f}% of values differ")
    if not ok:
        failures.append(name)


# 1. ei_image_resize against cv2.resize.
filters = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 2: cv2.INTER_AREA}
sizes = [(320, 320), (416, 234), (257, 257), (896, 512), (100, 73), (384, 288), (1, 1), (3, 500), (1024, 900)]
img0 = images[0]
for load, flag in [("bgr", cv2.IMREAD_COLOR), ("gray", cv2.IMREAD_GRAYSCALE)]:
    src = cv2.imread(img0, flag)
    h0, w0 = src.shape[:2]
    for f, cvf in filters.items():
        for (w, h) in sizes + [(w0 // 2, h0 // 2), (w0 * 2, h0 * 2), (w0, h0)]:
            ours, _ = run(img0, os.path.join(args.work, "r.npy"), mode="resize", w=w, h=h, filter=f, load=load)
            ref = cv2.resize(src, (w, h), interpolation=cvf)
            compare(f"resize {load} filter {f} {w0}x{h0}->{w}x{h}", ours.reshape(ref.shape), ref)

# 2. The four reference pipelines.
for path in images:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    base = os.path.basename(path)
    # YOLOX (and the person detector): BGR, top-left letterbox on 114, raw 0..255, NCHW.
    for size in (416, 192):
        r = min(size / h, size / w)
        canvas = np.full((size, size, 3), 114, np.uint8)
        rs = cv2.resize(bgr, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
        canvas[: int(h * r), : int(w * r)] = rs
        ref = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        ours, out = run(path, os.path.join(args.work, "y.npy"), w=size, h=size, color="bgr", letterbox=1, pad=114)
        compare(f"yolox{size} {base}", ours, ref)
        got_r = float(out.split()[1])
        if abs(got_r - r) > 1e-6 * r:
            failures.append(f"yolox{size} {base}: transform scale {got_r} != r {r}")
    # ULFD: RGB, 320x240 stretch, (x - 127) / 128, NCHW.
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    ref = ((cv2.resize(rgb, (320, 240)).astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
    ours, _ = run(path, os.path.join(args.work, "u.npy"), w=320, h=240, color="rgb", scale=1 / 128, offset=127)
    compare(f"ulfd {base}", ours, ref, scale=1 / 128)
    # DeepLabV3: 257x257, RGB, x / 127.5 - 1, NHWC.
    ref = (cv2.cvtColor(cv2.resize(bgr, (257, 257)), cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0)[None]
    ours, _ = run(path, os.path.join(args.work, "d.npy"), w=257, h=257, color="rgb", layout="nhwc",
                  scale=1 / 127.5, offset=127.5)
    compare(f"deeplabv3 {base}", ours, ref, scale=1 / 127.5)
    # road-segmentation-adas: 896x512, BGR raw, NHWC.
    ref = cv2.resize(bgr, (896, 512)).astype(np.float32)[None]
    ours, _ = run(path, os.path.join(args.work, "s.npy"), w=896, h=512, color="bgr", layout="nhwc")
    compare(f"road-seg {base}", ours, ref)
    # GRAY network: cv2 BGR2GRAY then resize.
    ref = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (160, 120)).astype(np.float32)[None, None]
    ours, _ = run(path, os.path.join(args.work, "g.npy"), w=160, h=120, color="gray")
    compare(f"gray {base}", ours, ref)

# 3. DCT-scaled decoding (ei_image_load_scaled): what it changes in the network input, against a
# full decode + bilinear (the reference pipelines) and a full decode + area average. Reported; the
# bound only catches a broken decode. The bench case is a 1280x720 JPEG to 320x320 (1/2 decode).
bench_jpg = os.path.join(args.work, "bench_1280x720.jpg")
cv2.imwrite(bench_jpg, cv2.resize(cv2.imread(img0), (1280, 720), interpolation=cv2.INTER_CUBIC))
for path, (w, h) in [(bench_jpg, (320, 320))] + [(p, (160, 120)) for p in images]:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    small, out = run(path, os.path.join(args.work, "q.npy"), w=w, h=h, color="rgb", scaled=1)
    small = small[0].transpose(1, 2, 0)
    for name, flag in [("bilinear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA)]:
        ref = cv2.resize(rgb, (w, h), interpolation=flag).astype(np.float32)
        d = np.abs(ref - small)
        print(f"info scaled decode {os.path.basename(path)} -> {w}x{h} (decoded {out.split()[-1]}) vs full decode + "
              f"{name}: mean |diff| {d.mean():.3f}, 99th pct {np.percentile(d, 99):.0f}, max {d.max():.0f} grey levels")
        if name == "area" and d.mean() > 10.0:
            failures.append(f"scaled decode {path}: mean diff {d.mean()} against area")

# 4. NV12 / I420 frames (only the source pixels the taps touch are converted, docs/preprocess.md)
# against cv2.cvtColor(YUV2RGB) + cv2.resize: bit-exact (bound 0 grey levels), shrinking and growing.
NV12_MAX, NV12_MEAN = 0.0, 1e-9
frames = [("bench 1280x720", cv2.resize(cv2.imread(img0), (1280, 720), interpolation=cv2.INTER_CUBIC))]
video = os.path.join(assets, "videos", "car-detection.mp4")
cap = cv2.VideoCapture(video)
for i in range(2):
    okf, fr = cap.read()
    if okf:
        frames.append((f"car-detection.mp4 frame {i}", fr[: fr.shape[0] & ~1, : fr.shape[1] & ~1]))
cap.release()
for name, bgr in frames:
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    u, v = i420[h: h + h // 4].reshape(-1), i420[h + h // 4:].reshape(-1)
    nv12 = np.concatenate([i420[:h].reshape(-1), np.stack([u, v], 1).reshape(-1)]).reshape(h * 3 // 2, w)
    for fmt, raw, code in [("nv12", nv12, cv2.COLOR_YUV2RGB_NV12), ("i420", i420, cv2.COLOR_YUV2RGB_I420)]:
        rawp = os.path.join(args.work, f"frame.{fmt}")
        raw.tofile(rawp)
        rgb = cv2.cvtColor(raw, code)
        # (w/2, h/2): the exact 2x shrink, which bilinear turns into a 2x2 average (OpenCV too).
        for (ow, oh, flt, lay) in [(320, 320, 1, "nchw"), (416, 234, 1, "nchw"), (300, 300, 0, "nchw"),
                                   (1500, 801, 1, "nchw"), (320, 320, 1, "nhwc"), (w // 2, h // 2, 1, "nchw"),
                                   (w // 2, h // 2, 1, "nhwc"), (w // 2, h // 2, 2, "nchw")]:
            ref = cv2.resize(rgb, (ow, oh), interpolation=filters[flt]).astype(np.float32)[None]
            ref = ref.transpose(0, 3, 1, 2) if lay == "nchw" else ref
            ours, _ = run(rawp, os.path.join(args.work, "n.npy"), yuv=fmt, yw=w, yh=h, w=ow, h=oh, color="rgb",
                          filter=flt, layout=lay)
            d = np.abs(ours - ref)
            ok = d.max() <= NV12_MAX and d.mean() < NV12_MEAN
            print(f"{'ok  ' if ok else 'FAIL'} {fmt} {name} -> {ow}x{oh} filter {flt} {lay} vs cvtColor + resize: max "
                  f"{d.max():.0f}, mean {d.mean():.4f} grey levels, {100 * (d > 0).mean():.3f}% differ")
            if not ok:
                failures.append(f"{fmt} {name} {ow}x{oh}")
        # A GRAY network on the frame, 2x shrink: the one-channel 2x2 average.
        ref = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (w // 2, h // 2)).astype(np.float32)[None, None]
        ours, _ = run(rawp, os.path.join(args.work, "n.npy"), yuv=fmt, yw=w, yh=h, w=w // 2, h=h // 2, color="gray")
        d = np.abs(ours - ref)
        print(f"{'ok  ' if d.max() == 0 else 'FAIL'} {fmt} {name} -> gray {w // 2}x{h // 2}: max {d.max():.0f}")
        if d.max() != 0:
            failures.append(f"{fmt} {name} gray 2x")

if failures:
    print(f"{len(failures)} failures")
    sys.exit(1)
print("all ok")
