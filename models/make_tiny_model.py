#!/usr/bin/env python3
"""Write tiny_cnn.onnx: a small deterministic CNN built with the onnx helper only (no torch).

    image [1,3,64,64]
      -> Conv(3->8, 3x3, pad 1) -> Relu -> MaxPool(2x2, stride 2)              [1,8,32,32]
      -> Conv(8->16, 3x3, pad 1) -> BatchNormalization -> Clip(0, 6)           [1,16,32,32]
      -> GlobalAveragePool -> Flatten -> Gemm(16->10, transB=1) -> Softmax     [1,10]
    probs [1,10]

Opset 13, weights from numpy's seeded PCG64, well under 50 KB. The model is the README's
first example (`edgeinfer run tiny_cnn.onnx ...`) and a smoke test; it has no meaning.

    python3 models/make_tiny_model.py [--out models/tiny_cnn.onnx] [--input-out PATH.npy]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240607
OPSET = 13
INPUT_NAME, OUTPUT_NAME = "image", "probs"
INPUT_SHAPE = [1, 3, 64, 64]


def build_model(seed=SEED):
    rng = np.random.default_rng(seed)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    inits = {
        "conv1.weight": he((8, 3, 3, 3), 27),
        "conv1.bias": (0.1 * rng.standard_normal(8)).astype(np.float32),
        "conv2.weight": he((16, 8, 3, 3), 72),
        "conv2.bias": (0.1 * rng.standard_normal(16)).astype(np.float32),
        "bn.scale": rng.uniform(0.5, 1.5, 16).astype(np.float32),
        "bn.bias": (0.2 * rng.standard_normal(16)).astype(np.float32),
        "bn.mean": (0.2 * rng.standard_normal(16)).astype(np.float32),
        "bn.var": rng.uniform(0.5, 2.0, 16).astype(np.float32),
        "clip.min": np.array(0.0, dtype=np.float32),
        "clip.max": np.array(6.0, dtype=np.float32),
        "fc.weight": he((10, 16), 16),
        "fc.bias": (0.1 * rng.standard_normal(10)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization",
                         ["conv2", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"], name="bn",
                         epsilon=1e-5),
        helper.make_node("Clip", ["bn", "clip.min", "clip.max"], ["relu6"], name="relu6"),
        helper.make_node("GlobalAveragePool", ["relu6"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                         transB=1),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, INPUT_SHAPE)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, producer_name="edgeinfer/make_tiny_model.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # ONNX 1.10+; readable by every onnxruntime of the last years
    model.doc_string = "Tiny deterministic CNN for edgeinfer examples and smoke tests."
    onnx.checker.check_model(model, full_check=True)
    return model


def example_input(seed=SEED):
    """A smooth, image-like input in [0,1] (gradient plus seeded noise), float32 NCHW."""
    rng = np.random.default_rng(seed + 1)
    yy, xx = np.meshgrid(np.linspace(0, 1, 64), np.linspace(0, 1, 64), indexing="ij")
    base = np.stack([xx, yy, 1.0 - xx * yy])[None]
    return np.clip(base + 0.1 * rng.standard_normal(INPUT_SHAPE), 0, 1).astype(np.float32)


def write(path, input_out=None, quiet=False):
    model = build_model()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save(model, path)
    onnx.checker.check_model(path)
    try:  # a quick ORT run when it is installed; the model itself needs only onnx
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        probs = sess.run(None, {INPUT_NAME: example_input()})[0]
        assert probs.shape == (1, 10) and abs(float(probs.sum()) - 1.0) < 1e-5, probs
        if not quiet:
            print(f"  ORT: probs {np.array2string(probs[0], precision=4)}")
    except ImportError:
        pass
    paths = [path]
    if input_out:
        np.save(input_out, example_input())
        paths.append(input_out)
    return paths


def export(out_dir, only=None, quiet=False):
    """Entry point for export_all.py."""
    if only and "tiny_cnn" not in only:
        return []
    return write(os.path.join(out_dir, "tiny_cnn.onnx"),
                 os.path.join(out_dir, "tiny_cnn_input.npy"), quiet=quiet)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "tiny_cnn.onnx"), help="model path")
    ap.add_argument("--input-out", metavar="PATH", help="also write an example input .npy here")
    args = ap.parse_args()
    for p in write(args.out, args.input_out):
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
