"""The default demo's sample video: shapes (circle, square, triangle, star) moving and turning over a
slowly panning cluttered background, written as H.264 in MP4 by GStreamer (x264enc, mp4mux).

    .venv/bin/python models/shapes/make_video.py [--out build/demo/shapes.mp4]
        [--seconds 12] [--fps 25] [--width 640] [--height 360] [--seed 7] [--boxes FILE.jsonl]

Deterministic for a given seed and arguments (frames are rendered with numpy + OpenCV and piped as
raw BGR into `gst-launch-1.0 fdsrc ! rawvideoparse ! videoconvert ! x264enc ! h264parse ! mp4mux !
filesink`). --boxes writes each frame's true boxes as JSON Lines
({"frame": i, "objects": [{"class_id": c, "label": "...", "bbox": [x, y, w, h]}]}).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import shapes_data  # noqa: E402


class Mover:
    def __init__(self, rng, w, h, rmin, rmax):
        o = shapes_data.random_object(rng, w, h, rmin, rmax)
        self.cls, self.r, self.angle = o["cls"], o["r"], o["angle"]
        self.colour, self.outline = o["colour"], o["outline"]
        self.x = rng.uniform(self.r, w - self.r)
        self.y = rng.uniform(self.r, h - self.r)
        speed = rng.uniform(30, 120)  # pixels per second
        a = rng.uniform(0, 2 * math.pi)
        self.vx, self.vy = speed * math.cos(a), speed * math.sin(a)
        self.spin = rng.uniform(-1.5, 1.5) if self.cls != 0 else 0.0  # radians per second
        self.w, self.h = w, h

    def step(self, dt):
        self.x += self.vx * dt
        self.y += self.vy * dt
        self.angle += self.spin * dt
        # bounce so that at most a third of the shape leaves the frame
        m = self.r * 0.7
        if self.x < m or self.x > self.w - m:
            self.vx = -self.vx
            self.x = min(max(self.x, m), self.w - m)
        if self.y < m or self.y > self.h - m:
            self.vy = -self.vy
            self.y = min(max(self.y, m), self.h - m)

    def polygon(self):
        return shapes_data.shape_polygon(self.cls, self.x, self.y, self.r, self.angle)


def render_frames(args):
    """Yields (frame BGR uint8, boxes [[x0, y0, x1, y1, class], ...])."""
    rng = np.random.default_rng(args.seed)
    w, h = args.width, args.height
    pan = 0.25  # the background is this much larger than the frame and pans over it
    bw, bh = int(w * (1 + pan)), int(h * (1 + pan))
    bg = shapes_data.background(rng, bh, bw)
    # keep the background a little muted so the shapes stand out as in training's contrast check
    bg = (bg.astype(np.float32) * 0.8 + 0.2 * 128).astype(np.uint8)
    r = min(320 / w, 320 / h)  # shapes span the detector's training sizes once letterboxed
    movers = [Mover(rng, w, h, (shapes_data.RMIN + 1) / r, (shapes_data.RMAX - 4) / r) for _ in range(args.objects)]
    n = int(round(args.seconds * args.fps))
    dt = 1.0 / args.fps
    for i in range(n):
        t = i / max(1, n - 1)
        ox = int(round((bw - w) * (0.5 - 0.5 * math.cos(2 * math.pi * t))))
        oy = int(round((bh - h) * (0.5 - 0.5 * math.cos(2 * math.pi * t * 0.5))))
        frame = bg[oy : oy + h, ox : ox + w].copy()
        boxes = []
        for m in movers:
            poly = m.polygon()
            shapes_data.draw_shape(frame, poly, m.colour, m.outline)
            x0, y0, x1, y1 = shapes_data.poly_box(poly)
            boxes.append([max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1), m.cls])
            m.step(dt)
        yield frame, boxes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "demo", "shapes.mp4"))
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--objects", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--boxes", default=None, help="write the true boxes per frame (JSON Lines) here")
    args = ap.parse_args()
    if args.width % 2 or args.height % 2:
        ap.error("--width and --height must be even (I420 for H.264)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)) or ".", exist_ok=True)
    t0 = time.time()
    pipeline = (
        f"fdsrc fd=0 blocksize={args.width * args.height * 3} ! rawvideoparse width={args.width} "
        f"height={args.height} format=bgr framerate={args.fps}/1 ! videoconvert ! video/x-raw,format=I420 ! "
        f"x264enc speed-preset=faster bitrate=2500 key-int-max={2 * args.fps} ! h264parse ! mp4mux ! "
        f"filesink location={args.out}"
    )
    gst = subprocess.Popen(["gst-launch-1.0", "-q"] + pipeline.split(), stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL)
    boxes_file = open(args.boxes, "w") if args.boxes else None
    n = 0
    try:
        for frame, boxes in render_frames(args):
            gst.stdin.write(frame.tobytes())
            if boxes_file:
                objs = [{"class_id": int(c), "label": shapes_data.CLASSES[int(c)],
                         "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]}
                        for x0, y0, x1, y1, c in boxes]
                boxes_file.write(json.dumps({"frame": n, "objects": objs}) + "\n")
            n += 1
        gst.stdin.close()
    except BrokenPipeError:
        pass
    rc = gst.wait()
    if boxes_file:
        boxes_file.close()
    if rc != 0:
        sys.exit(f"make_video: gst-launch-1.0 failed ({rc}): {pipeline}")
    print(f"wrote {args.out}: {n} frames {args.width}x{args.height} at {args.fps} fps "
          f"({os.path.getsize(args.out) / 1e6:.1f} MB) in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
