"""Synthetic shapes on cluttered backgrounds: images and boxes generated on the fly.

Classes (models/shapes/labels.txt): circle, square, triangle, star. Each object is a filled shape in
one of several colours and sizes, rotated (squares, triangles, stars), sometimes with an outline,
sometimes partly hidden behind another shape or by clutter. Backgrounds mix gradients, noise
textures, random lines and irregular blobs (never one of the four shapes).

Boxes are [x0, y0, x1, y1, class] in pixels of the returned image: the whole shape's extent
(occluded parts included); a placement that would hide more than MAX_HIDDEN of an earlier shape is
rejected, so every labelled shape stays mostly visible.

Used by train.py (training batches), evaluate.py, make_video.py and tests/demo_model.
Only numpy and OpenCV.
"""
import math

import cv2
import numpy as np

CLASSES = ["circle", "square", "triangle", "star"]
MAX_HIDDEN = 0.4
# Shape radii (circumradius) in network-input pixels: 20 to 84 pixels across at 320x320.
RMIN, RMAX = 10.0, 42.0

# Saturated colours plus greys/darks; shapes pick from these with jitter (BGR order as OpenCV draws).
PALETTE = np.array(
    [
        [40, 40, 230],  # red
        [40, 200, 40],  # green
        [230, 80, 30],  # blue
        [30, 220, 240],  # yellow
        [230, 60, 220],  # magenta
        [230, 220, 40],  # cyan
        [20, 140, 255],  # orange
        [160, 40, 120],  # purple
        [245, 245, 245],  # white
        [25, 25, 25],  # black
    ],
    dtype=np.float32,
)


def _rand_colour(rng):
    c = PALETTE[rng.integers(len(PALETTE))] + rng.normal(0, 18, 3)
    return np.clip(c, 0, 255)


def _smooth_noise(rng, h, w, cell):
    """Value noise: random values on a coarse grid, bicubic-upscaled."""
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    g = rng.random((gh, gw, 3)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def background(rng, h, w):
    """A cluttered background: gradient and/or noise texture, then random lines and blobs."""
    img = np.empty((h, w, 3), np.float32)
    kind = rng.integers(3)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if kind == 0:  # linear gradient in a random direction
        a = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (xx * math.cos(a) + yy * math.sin(a)) / (abs(w * math.cos(a)) + abs(h * math.sin(a)) + 1e-6)
        t = (t - t.min()) / (t.max() - t.min() + 1e-6)
        img[:] = c0 + (c1 - c0) * t[..., None]
    elif kind == 1:  # smooth colour noise
        n = _smooth_noise(rng, h, w, int(rng.integers(8, 64)))
        img[:] = c0 + (c1 - c0) * n
    else:  # flat colour
        img[:] = c0
    # fine grain noise texture
    img += rng.normal(0, rng.uniform(2, 25), (h, w, 1 if rng.random() < 0.5 else 3)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    # random lines
    for _ in range(int(rng.integers(0, 12))):
        p0 = (int(rng.integers(-w // 4, w + w // 4)), int(rng.integers(-h // 4, h + h // 4)))
        p1 = (int(rng.integers(-w // 4, w + w // 4)), int(rng.integers(-h // 4, h + h // 4)))
        cv2.line(img, p0, p1, _rand_colour(rng).tolist(), int(rng.integers(1, 4)), cv2.LINE_AA)
    # irregular blobs: thresholded smooth noise, never a clean geometric shape
    for _ in range(int(rng.integers(0, 5))):
        bw, bh = int(rng.integers(w // 10, w // 3 + 2)), int(rng.integers(h // 10, h // 3 + 2))
        x, y = int(rng.integers(0, max(1, w - bw))), int(rng.integers(0, max(1, h - bh)))
        m = _smooth_noise(rng, bh, bw, max(4, min(bw, bh) // 3))[..., 0]
        m = m > rng.uniform(0.5, 0.7)
        img[y : y + bh, x : x + bw][m] = _rand_colour(rng).astype(np.uint8)
    return img


def shape_polygon(cls, cx, cy, r, angle):
    """Vertices (float Nx2) of a shape of radius r (circumradius; circles use many vertices)."""
    if cls == 0:
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        rad = np.full_like(t, r)
    elif cls == 1:
        t = angle + math.pi / 4 + np.arange(4) * math.pi / 2
        rad = np.full_like(t, r)
    elif cls == 2:
        t = angle - math.pi / 2 + np.arange(3) * 2 * math.pi / 3
        rad = np.full_like(t, r)
    else:
        t = angle - math.pi / 2 + np.arange(10) * math.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    return np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], 1)


def draw_shape(img, poly, colour, outline, rng=None):
    pts = np.round(poly * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(img, [pts], colour, cv2.LINE_AA, shift=4)
    if outline is not None:
        cv2.polylines(img, [pts], True, outline[0], outline[1], cv2.LINE_AA, shift=4)


def poly_box(poly):
    return [float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()), float(poly[:, 1].max())]


def random_object(rng, w, h, rmin, rmax):
    cls = int(rng.integers(len(CLASSES)))
    r = float(np.exp(rng.uniform(math.log(rmin), math.log(rmax))))
    if cls == 1:
        r *= 0.85  # a square's circumradius overstates its look
    cx, cy = rng.uniform(-0.3 * r, w + 0.3 * r), rng.uniform(-0.3 * r, h + 0.3 * r)
    obj = {
        "cls": cls,
        "cx": cx,
        "cy": cy,
        "r": r,
        "angle": float(rng.uniform(0, 2 * math.pi)),
        "colour": _rand_colour(rng).tolist(),
        "outline": None,
    }
    if rng.random() < 0.25:
        obj["outline"] = (_rand_colour(rng).tolist(), int(rng.integers(1, 3)))
    return obj


def _contrast_ok(img, poly, colour):
    x0, y0, x1, y1 = [int(round(v)) for v in poly_box(poly)]
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return False
    mean = img[y0:y1, x0:x1].reshape(-1, 3).mean(0)
    return float(np.abs(mean - np.asarray(colour)).sum()) > 90


def render(rng, w, h, n_min=1, n_max=8, rmin=7.0, rmax=40.0, occluders=True):
    """One image (h, w, 3 uint8 BGR) and its boxes (float32 [n, 5]: x0 y0 x1 y1 class)."""
    img = background(rng, h, w)
    n = int(rng.integers(n_min, n_max + 1))
    label = np.zeros((h, w), np.int32)  # which object (1-based) owns each pixel
    areas, objs = [], []
    for _ in range(n * 4):
        if len(objs) >= n:
            break
        o = random_object(rng, w, h, rmin, rmax)
        poly = shape_polygon(o["cls"], o["cx"], o["cy"], o["r"], o["angle"])
        x0, y0, x1, y1 = poly_box(poly)
        # at least 70% of the box inside the image
        ix = max(0.0, min(x1, w) - max(x0, 0)) * max(0.0, min(y1, h) - max(y0, 0))
        if ix < 0.7 * (x1 - x0) * (y1 - y0):
            continue
        if not _contrast_ok(img, poly, o["colour"]):
            continue
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(poly * 16).astype(np.int32).reshape(-1, 1, 2)], 1, cv2.LINE_8, shift=4)
        m = m.astype(bool)
        if m.sum() < 12:
            continue
        under = label[m]
        ok = True
        for j in np.unique(under[under > 0]):
            left = areas[j - 1] - int((under == j).sum())
            if left < (1 - MAX_HIDDEN) * (label == j).sum() or left < (1 - MAX_HIDDEN) * areas[j - 1]:
                ok = False
                break
        if not ok:
            continue
        objs.append((o, poly))
        areas.append(int(m.sum()))
        label[m] = len(objs)
        draw_shape(img, poly, o["colour"], o["outline"])
    boxes = []
    for o, poly in objs:
        x0, y0, x1, y1 = poly_box(poly)
        boxes.append([max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1), o["cls"]])
    if occluders:
        # a few thin lines across the scene, over the shapes too
        for _ in range(int(rng.integers(0, 4))):
            p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.line(img, p0, p1, _rand_colour(rng).tolist(), int(rng.integers(1, 3)), cv2.LINE_AA)
    return img, np.array(boxes, np.float32).reshape(-1, 5)


def letterbox(img, size, pad=114):
    """As edgeinfer's maintain-aspect-ratio=1, symmetric-padding=0: bilinear resize by
    r = min(size/w, size/h) to (int(w r), int(h r)), pasted top-left on a canvas of `pad`."""
    h, w = img.shape[:2]
    r = min(size / w, size / h)
    nw, nh = max(1, int(w * r)), max(1, int(h * r))
    out = np.full((size, size, 3), pad, np.uint8)
    out[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, r


def training_sample(rng, size):
    """A network-sized BGR image and boxes in its pixels: a square scene, or a 16:9 / 4:3 scene
    letterboxed as the demo's frames are, some rendered at 2x and downscaled."""
    kind = rng.random()
    scale = 2 if rng.random() < 0.4 else 1
    if kind < 0.45:
        w, h = size, size
    elif kind < 0.85:
        w, h = size, int(size * 9 / 16)
    else:
        w, h = size, int(size * 3 / 4)
    img, boxes = render(rng, w * scale, h * scale, rmin=RMIN * scale, rmax=RMAX * scale)
    if scale != 1 or (w, h) != (size, size):
        img, r = letterbox(img, size)
        boxes[:, :4] *= r
    return img, boxes


def test_image(rng, w=640, h=360, net=320):
    """A demo-like frame (w x h) whose shapes, once letterboxed into the net x net input, have the
    training distribution's sizes."""
    r = min(net / w, net / h)
    return render(rng, w, h, rmin=RMIN / r, rmax=RMAX / r)
