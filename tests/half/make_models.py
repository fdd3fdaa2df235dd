"""Writes convt_matmul.onnx into OUT_DIR: ConvTranspose and MatMul with constant weights, the two
operators of tests/half that the shipped models do not have (tiny_cnn has Conv and Gemm)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3  # ConvTranspose W [C, M, k, k]
    b = rng.standard_normal((15, 5)).astype(np.float32) * 0.3  # MatMul B
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="deconv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("MatMul", ["y", "b"], ["z"], name="matmul"),
    ]
    graph = helper.make_graph(
        nodes,
        "convt_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3, 15, 5])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, "convt_matmul.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
