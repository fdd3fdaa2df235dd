#!/usr/bin/env python3
"""Writes malformed and hostile ONNX files (and matching inputs) for the CLI error tests."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def good_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "w")
    n = helper.make_node("Add", ["x", "w"], ["y"], name="add0")
    g = helper.make_graph([n], "g", [x], [y], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def save(model, path, check=False):
    with open(path, "wb") as f:
        f.write(model.SerializeToString() if hasattr(model, "SerializeToString") else model)


def main(out):
    os.makedirs(out, exist_ok=True)
    good = good_model()
    save(good, f"{out}/good.onnx")
    np.save(f"{out}/x.npy", np.ones((1, 4), np.float32))
    np.save(f"{out}/x_wrong_shape.npy", np.ones((2, 4), np.float32))
    np.save(f"{out}/x_wrong_dtype.npy", np.ones((1, 4), np.int64))
    raw = good.SerializeToString()
    save(raw[: len(raw) // 2], f"{out}/truncated.onnx")
    save(b"\x7fELF\x02\x01\x01" + b"\x00" * 64, f"{out}/wrong_magic.onnx")
    save(b"", f"{out}/empty.onnx")
    save(b"this is not an array", f"{out}/good.onnx.npy")

    m = good_model()  # absurd dimensions on an initializer, no data to match
    m.graph.initializer[0].dims[:] = [1 << 40, 1 << 40]
    save(m, f"{out}/absurd_dims.onnx")

    m = good_model()
    m.graph.initializer[0].dims[:] = [-3, 4]
    save(m, f"{out}/negative_dims.onnx")

    m = good_model()  # raw_data shorter than the shape needs
    m.graph.initializer[0].raw_data = b"\x00" * 7
    save(m, f"{out}/short_raw_data.onnx")

    # cycle: a = Relu(b), b = Relu(a), y = a + x
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2"),
             helper.make_node("Add", ["a", "x"], ["y"], name="add")]
    save(helper.make_model(helper.make_graph(nodes, "cyc", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]),
         f"{out}/cyclic.onnx")

    nodes = [helper.make_node("FancyOp", ["x"], ["y"], name="fancy", domain="")]
    save(helper.make_model(helper.make_graph(nodes, "u", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]),
         f"{out}/unknown_op.onnx")

    nodes = [helper.make_node("", ["x"], ["y"], name="no_op_type")]
    save(helper.make_model(helper.make_graph(nodes, "e", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]),
         f"{out}/empty_op_type.onnx")

    nodes = [helper.make_node("Add", ["x", "missing_weight"], ["y"], name="add_missing")]
    save(helper.make_model(helper.make_graph(nodes, "mi", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]),
         f"{out}/missing_initializer.onnx")

    w = numpy_helper.from_array(np.ones((3, 5), np.float32), "w")
    nodes = [helper.make_node("Add", ["x", "w"], ["y"], name="add_bad_shapes")]
    save(helper.make_model(helper.make_graph(nodes, "sm", [x], [y], [w]), opset_imports=[helper.make_opsetid("", 13)]),
         f"{out}/shape_mismatch.onnx")

    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 18], np.int64), "huge_shape")
    nodes = [helper.make_node("Expand", ["x1", "huge_shape"], ["y"], name="expand_huge")]
    x1 = helper.make_tensor_value_info("x1", TensorProto.FLOAT, [1, 1])
    save(helper.make_model(helper.make_graph(nodes, "huge", [x1], [y], [shape]),
                           opset_imports=[helper.make_opsetid("", 13)]), f"{out}/huge_tensor.onnx")
    np.save(f"{out}/x1.npy", np.ones((1, 1), np.float32))

    m = good_model()
    m.ir_version = 99
    save(m, f"{out}/future_ir.onnx")

    m = good_model()  # external data that tries to leave the model's folder
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "../../etc/passwd"
    save(m, f"{out}/external_escape.onnx")
    print(f"make_bad_models: wrote hostile models to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
