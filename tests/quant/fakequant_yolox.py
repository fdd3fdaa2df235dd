"""Diagnostic (not a test): how much a calibration cache's activation scales alone cost YOLOX-nano.
Every Conv input of the ONNX model that the cache lists (names without the '.b8' suffix of the
blocked layout) gets a QuantizeLinear/DequantizeLinear pair in ONNX Runtime (symmetric, zero point
0, uint8 for 'unsigned' tensors, int8 otherwise; weights stay float), and the output is compared
with the float model's on the given frames: cosine similarity of the whole output and of its box,
objectness and class columns. --sweep also quantises one tensor at a time and prints the most
damaging ones (candidates for keep_fp32). Pre-processing: configs/yolox_nano.ini's (BGR, 0..255,
bilinear letterbox at the top-left on 114). docs/precision.md, "INT8 calibration", gives figures.

  python tests/quant/fakequant_yolox.py --model yolox_nano_416.onnx --cache y.engine.calib --frames DIR
"""
import argparse
import glob

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def read_cache(path):
    scales = {}
    for line in open(path):
        line = line.rstrip("\n")
        if "\t" in line:
            name, scale, sign = line.split("\t")[:3]
            scales[name[:-3] if name.endswith(".b8") else name] = (float(scale), sign == "unsigned")
    return scales


def preprocess(path):
    img = cv2.imread(path)
    h, w = img.shape[:2]
    r = min(416 / h, 416 / w)
    rs = cv2.resize(img, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((416, 416, 3), 114, np.uint8)
    canvas[: rs.shape[0], : rs.shape[1]] = rs
    return canvas.transpose(2, 0, 1)[None].astype(np.float32)


def fake_quant(model, scales, only=None):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    nodes = list(g.node)
    del g.node[:]
    done = {}
    for n in nodes:
        t = n.input[0] if n.op_type == "Conv" else None
        if t in scales and (only is None or t == only):
            if t not in done:
                s, u = scales[t]
                g.initializer.append(numpy_helper.from_array(np.array(s, np.float32), t + "_fq_s"))
                g.initializer.append(numpy_helper.from_array(np.array(0, np.uint8 if u else np.int8), t + "_fq_z"))
                g.node.extend([
                    helper.make_node("QuantizeLinear", [t, t + "_fq_s", t + "_fq_z"], [t + "_fq_q"]),
                    helper.make_node("DequantizeLinear", [t + "_fq_q", t + "_fq_s", t + "_fq_z"], [t + "_fq"]),
                ])
                done[t] = t + "_fq"
            n.input[0] = done[t]
        g.node.append(n)
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]), len(done)


def cos(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--frames", required=True)
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    model = onnx.load(a.model)
    scales = read_cache(a.cache)
    xs = [preprocess(f) for f in sorted(glob.glob(a.frames + "/*.jpg") + glob.glob(a.frames + "/*.png"))]
    ref = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    refs = [ref.run(None, {"images": x})[0].reshape(-1, 85) for x in xs]
    sess, n = fake_quant(model, scales)
    outs = [sess.run(None, {"images": x})[0].reshape(-1, 85) for x in xs]
    parts = {"all": slice(None), "box": slice(0, 4), "obj": slice(4, 5), "cls": slice(5, None)}
    res = {k: min(cos(r[:, s], o[:, s]) for r, o in zip(refs, outs)) for k, s in parts.items()}
    print(f"{n} conv inputs quantised, {len(xs)} frames; worst-frame cosine: " +
          ", ".join(f"{k} {v:.4f}" for k, v in res.items()))
    if a.sweep:
        rows = []
        for t in dict.fromkeys(n.input[0] for n in model.graph.node if n.op_type == "Conv" and n.input[0] in scales):
            s1, _ = fake_quant(model, scales, only=t)
            o = s1.run(None, {"images": xs[0]})[0].reshape(-1, 85)
            rows.append((cos(refs[0][:, 5:], o[:, 5:]), t, scales[t][0] * 127))
        for c, t, th in sorted(rows)[:10]:
            print(f"  alone: {t:>8} threshold {th:9.4f} -> cls cosine {c:.4f}")


if __name__ == "__main__":
    main()
