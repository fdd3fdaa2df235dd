"""`edgeinfer eval` COCO metrics against pycocotools (the oracle) on the same files.

  coco_oracle.py cases --edgeinfer BIN --work DIR
      hand-made edge cases (crowd annotations, an image without ground truth, an image without
      detections, more than 100 detections in an image, equal scores, categories without ground
      truth, unknown category ids, tiny and huge boxes across the area ranges, a gt `area` that is
      not the box's, a gt with id 0) and seeded random sets: each written as an annotation file and
      a results file, evaluated by `edgeinfer eval --coco A --detections D --json M` and by
      pycocotools COCOeval(bbox); all twelve numbers must agree to 1e-4 and the printed summary
      lines must be pycocotools' lines.
  coco_oracle.py real --edgeinfer BIN --work DIR --config INI
      YOLOX-nano over the 80-image COCO subset (assets): `edgeinfer eval -c ... --detections-out D
      --json M`, then pycocotools on D; also --max-images 20 against pycocotools restricted to the
      first 20 image ids of the file.
Skips (77) when pycocotools or the assets are missing.
"""
import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
TOL = 1e-4

try:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
except ImportError:
    print("skip: pycocotools is not installed (pip install -r scripts/requirements.txt)")
    sys.exit(77)


def assets_dir():
    d = os.environ.get("EI_ASSETS_DIR") or os.environ.get("EI_ASSETS_DIR_DEFAULT") or os.path.join(ROOT, "..", "shared", "assets")
    return os.path.abspath(d)


def oracle(gt_path, dets, img_ids=None):
    """pycocotools' 12 numbers and its printed summary lines."""
    with open(gt_path) as f:
        d = json.load(f)
    d.setdefault("info", {})  # the subset's JSON has neither; some pycocotools versions need them
    d.setdefault("licenses", [])
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        gt = COCO()
        gt.dataset = d
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ev.summarize()
    return list(ev.stats), out.getvalue().splitlines()


def compare(name, ours, theirs, our_lines=None, their_lines=None):
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    ok = worst <= TOL
    if our_lines is not None and our_lines != their_lines:
        ok = False
        print(f"FAIL {name}: summary lines differ\n  ours:   {our_lines}\n  theirs: {their_lines}")
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |ours - pycocotools| = {worst:.2e}")
    if not ok:
        for n, a, b in zip(NAMES, ours, theirs):
            print(f"     {n:6s} ours {a:.6f} pycocotools {b:.6f}")
    return ok


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        print("command failed:", " ".join(cmd), "\n", p.stdout, p.stderr)
        sys.exit(1)
    for bad in ("AddressSanitizer", "runtime error", "LeakSanitizer"):
        if bad in p.stderr:
            print(p.stderr)
            sys.exit(1)
    return p


def our_stats(json_path):
    with open(json_path) as f:
        m = json.load(f)
    return [m["results"][0]["stats"][n] for n in NAMES]


def summary_lines(stdout):
    return [l for l in stdout.splitlines() if l.startswith(" Average")]


# ---- hand-made cases ----


def ann(i, img, cat, bbox, area=None, crowd=0):
    return {"id": i, "image_id": img, "category_id": cat, "bbox": bbox,
            "area": bbox[2] * bbox[3] if area is None else area, "iscrowd": crowd}


def det(img, cat, bbox, score):
    return {"image_id": img, "category_id": cat, "bbox": bbox, "score": score}


def case_crowd():
    imgs = [{"id": 1, "width": 640, "height": 480, "file_name": "1.jpg"}, {"id": 2, "width": 640, "height": 480, "file_name": "2.jpg"}]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}]
    anns = [ann(1, 1, 1, [10, 10, 100, 200]), ann(2, 1, 1, [300, 50, 200, 300], crowd=1),
            ann(3, 1, 1, [320, 60, 50, 100]), ann(4, 2, 2, [0, 0, 50, 40]), ann(5, 2, 1, [100, 100, 300, 300], crowd=1)]
    dets = [det(1, 1, [12, 8, 98, 205], 0.9), det(1, 1, [310, 70, 60, 80], 0.8), det(1, 1, [330, 100, 40, 40], 0.7),
            det(1, 1, [400, 200, 50, 50], 0.6), det(1, 1, [322, 58, 49, 103], 0.5), det(2, 2, [2, 1, 48, 40], 0.95),
            det(2, 1, [120, 120, 50, 50], 0.9), det(2, 1, [150, 150, 60, 60], 0.4)]
    return imgs, cats, anns, dets


def case_empty_images():
    imgs = [{"id": i, "width": 100, "height": 100, "file_name": f"{i}.jpg"} for i in (5, 3, 9, 7)]
    cats = [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}, {"id": 7, "name": "no gt anywhere"}]
    anns = [ann(10, 5, 1, [10, 10, 30, 30]), ann(11, 5, 3, [50, 50, 20, 20]), ann(12, 3, 1, [0, 0, 60, 60])]
    # image 9: detections but no ground truth; image 3: ground truth but no detection; image 7: nothing;
    # category 7 has detections but no ground truth; category 99 is unknown (ignored, as pycocotools does).
    dets = [det(5, 1, [11, 9, 30, 31], 0.8), det(5, 3, [52, 48, 20, 20], 0.3), det(9, 1, [10, 10, 20, 20], 0.9),
            det(9, 3, [10, 10, 20, 20], 0.2), det(5, 7, [10, 10, 30, 30], 0.99), det(5, 99, [10, 10, 30, 30], 0.5)]
    return imgs, cats, anns, dets


def case_many_dets(seed=1):
    rnd = random.Random(seed)
    imgs = [{"id": 1, "width": 800, "height": 600, "file_name": "1.jpg"}, {"id": 2, "width": 800, "height": 600, "file_name": "2.jpg"}]
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    anns, dets, k = [], [], 1
    for img in (1, 2):
        for _ in range(40):
            x, y, w, h = rnd.uniform(0, 700), rnd.uniform(0, 500), rnd.uniform(5, 150), rnd.uniform(5, 150)
            anns.append(ann(k, img, rnd.choice([1, 2]), [x, y, w, h]))
            k += 1
    for a in anns:  # 150 detections in image 1, 120 in image 2, with many equal scores
        for j in range(3 if a["image_id"] == 1 else 3):
            b = a["bbox"]
            dets.append(det(a["image_id"], a["category_id"], [b[0] + rnd.uniform(-8, 8), b[1] + rnd.uniform(-8, 8),
                                                               b[2] * rnd.uniform(0.8, 1.2), b[3] * rnd.uniform(0.8, 1.2)],
                            rnd.choice([0.5, 0.25, 0.75, rnd.random()])))
    for _ in range(30):
        dets.append(det(1, 1, [rnd.uniform(0, 700), rnd.uniform(0, 500), 40, 40], 0.5))
    return imgs, cats, anns, dets


def case_ties():
    imgs = [{"id": i, "width": 100, "height": 100, "file_name": f"{i}.jpg"} for i in (1, 2, 3)]
    cats = [{"id": 1, "name": "a"}]
    anns = [ann(1, 1, 1, [10, 10, 20, 20]), ann(2, 2, 1, [10, 10, 20, 20]), ann(3, 3, 1, [50, 50, 20, 20]),
            ann(4, 1, 1, [12, 12, 20, 20])]
    # All scores equal: the order in the file decides, within and across images.
    dets = [det(2, 1, [60, 60, 10, 10], 0.5), det(1, 1, [10, 10, 20, 20], 0.5), det(1, 1, [11, 11, 20, 20], 0.5),
            det(3, 1, [50, 50, 20, 20], 0.5), det(2, 1, [10, 10, 20, 20], 0.5), det(1, 1, [12, 12, 20, 20], 0.5)]
    return imgs, cats, anns, dets


def case_areas():
    imgs = [{"id": 1, "width": 2000, "height": 2000, "file_name": "1.jpg"}]
    cats = [{"id": 1, "name": "a"}]
    # tiny, boundary (32^2 and 96^2 exactly), huge; gt `area` deliberately not w*h for some.
    anns = [ann(1, 1, 1, [0, 0, 2, 2]), ann(2, 1, 1, [10, 10, 32, 32]), ann(3, 1, 1, [100, 100, 96, 96]),
            ann(4, 1, 1, [300, 300, 1500, 1500]), ann(5, 1, 1, [50, 500, 40, 40], area=500.0),
            ann(6, 1, 1, [600, 50, 20, 20], area=5000.0), ann(0, 1, 1, [900, 50, 60, 60])]
    dets = [det(1, 1, [0, 0, 2, 2], 0.9), det(1, 1, [10, 10, 32, 32], 0.8), det(1, 1, [100, 100, 96, 96], 0.7),
            det(1, 1, [310, 290, 1490, 1510], 0.6), det(1, 1, [50, 500, 40, 40], 0.5), det(1, 1, [600, 50, 20, 20], 0.4),
            det(1, 1, [900, 50, 60, 60], 0.35), det(1, 1, [1000, 1000, 5, 5], 0.3), det(1, 1, [0, 1900, 100, 100], 0.2),
            det(1, 1, [1, 1, 0.5, 0.5], 0.95)]
    return imgs, cats, anns, dets


def case_random(seed):
    rnd = random.Random(seed)
    n_img, n_cat = rnd.randint(3, 12), rnd.randint(1, 6)
    imgs = [{"id": rnd.randint(1, 10**6) * 7 + i, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in range(n_img)]
    cats = [{"id": c * 3 + 1, "name": f"c{c}"} for c in range(n_cat)]
    anns, dets = [], []
    for im in imgs:
        for _ in range(rnd.randint(0, 15)):
            w, h = rnd.choice([rnd.uniform(1, 30), rnd.uniform(30, 100), rnd.uniform(100, 400)]), rnd.uniform(1, 300)
            anns.append(ann(len(anns) + 1, im["id"], rnd.choice(cats)["id"], [rnd.uniform(0, 500), rnd.uniform(0, 400), w, h],
                            crowd=1 if rnd.random() < 0.08 else 0))
    for a in anns:
        for _ in range(rnd.randint(0, 3)):
            b = a["bbox"]
            s = max(b[2], b[3]) * 0.15
            dets.append(det(a["image_id"], a["category_id"] if rnd.random() < 0.85 else rnd.choice(cats)["id"],
                            [b[0] + rnd.gauss(0, s), b[1] + rnd.gauss(0, s), max(0.1, b[2] * rnd.uniform(0.7, 1.3)),
                             max(0.1, b[3] * rnd.uniform(0.7, 1.3))], round(rnd.random(), 2)))
    for _ in range(rnd.randint(0, 40)):
        im = rnd.choice(imgs)
        dets.append(det(im["id"], rnd.choice(cats)["id"], [rnd.uniform(0, 600), rnd.uniform(0, 400), rnd.uniform(1, 200),
                                                            rnd.uniform(1, 200)], round(rnd.random(), 2)))
    rnd.shuffle(dets)
    if not dets:
        dets.append(det(imgs[0]["id"], cats[0]["id"], [0, 0, 10, 10], 0.5))
    return imgs, cats, anns, dets


def cases(args):
    os.makedirs(args.work, exist_ok=True)
    all_cases = [("crowd", case_crowd()), ("empty_images_and_categories", case_empty_images()),
                 ("more_than_100_detections", case_many_dets()), ("ties", case_ties()),
                 ("area_ranges", case_areas())]
    all_cases += [(f"random_{s}", case_random(s)) for s in range(args.random)]
    ok = True
    for name, (imgs, cats, anns, dets) in all_cases:
        gt_path = os.path.join(args.work, name + "_gt.json")
        dt_path = os.path.join(args.work, name + "_dt.json")
        m_path = os.path.join(args.work, name + "_m.json")
        with open(gt_path, "w") as f:
            json.dump({"images": imgs, "annotations": anns, "categories": cats}, f)
        with open(dt_path, "w") as f:
            json.dump(dets, f)
        p = run([args.edgeinfer, "eval", "--coco", gt_path, "--detections", dt_path, "--json", m_path])
        theirs, their_lines = oracle(gt_path, json.load(open(dt_path)))
        ok &= compare(name, our_stats(m_path), theirs, summary_lines(p.stdout), their_lines)
    return 0 if ok else 1


def real(args):
    assets = assets_dir()
    coco = os.path.join(assets, "coco_tiny_val2017")
    onnx = os.path.join(assets, "models", "coco_detection", "yolox_nano_416.onnx")
    if not os.path.exists(os.path.join(coco, "annotations", "instances_val2017.json")) or not os.path.exists(onnx):
        print(f"skip: {coco} or {onnx} is missing")
        return 77
    os.makedirs(args.work, exist_ok=True)
    cfg = os.path.join(args.work, "yolox_nano_eval.ini")
    with open(args.config) as f, open(cfg, "w") as g:
        g.write(f.read().replace("../../shared/assets", assets))
    ann_path = os.path.join(coco, "annotations", "instances_val2017.json")
    ok = True
    for label, extra, n in (("all 80 images", [], None), ("--max-images 20", ["--max-images", "20"], 20)):
        d_path = os.path.join(args.work, f"D{n or ''}.json")
        m_path = os.path.join(args.work, f"M{n or ''}.json")
        p = run([args.edgeinfer, "eval", "-c", cfg, "--coco", ann_path, "--images", os.path.join(coco, "val2017"),
                 "--detections-out", d_path, "--json", m_path, "--quiet"] + extra)
        print(p.stdout)
        img_ids = None
        if n:
            img_ids = [im["id"] for im in json.load(open(ann_path))["images"][:n]]
        theirs, their_lines = oracle(ann_path, json.load(open(d_path)), img_ids)
        ours = our_stats(m_path)
        ok &= compare(f"YOLOX-nano, {label}", ours, theirs, summary_lines(p.stdout), their_lines)
        if n is None:
            # MANIFEST: about 0.306 mAP / 0.479 AP50 with this protocol.
            if not (0.28 <= ours[0] <= 0.33 and 0.45 <= ours[1] <= 0.51):
                print(f"FAIL mAP {ours[0]:.4f} / AP50 {ours[1]:.4f} far from the MANIFEST's 0.306 / 0.479")
                ok = False
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["cases", "real"])
    ap.add_argument("--edgeinfer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "yolox_nano_eval.ini"))
    ap.add_argument("--random", type=int, default=40)
    args = ap.parse_args()
    sys.exit(cases(args) if args.mode == "cases" else real(args))


if __name__ == "__main__":
    main()
