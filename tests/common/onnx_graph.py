"""A small ONNX graph builder for tests that write whole subgraphs (heads, decoders) node by node:
unique value names, initializers from arrays, random float inputs from the test's own generator."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.inputs, self.outputs, self.n = [], [], [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr):
        arr = np.asarray(arr)
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.name(op_type), **attrs))
        return out

    def input(self, shape):
        name = f"x{len(self.inputs)}"
        self.inputs.append((name, self.rng.standard_normal(shape).astype(np.float32)))
        return name

    def output(self, v):
        self.outputs.append(v)

    def save(self, path, opset=17):
        """Writes the model; returns its feeds {input name: array}."""
        ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape)) for n, a in self.inputs]
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in self.outputs]
        g = helper.make_graph(self.nodes, os.path.basename(path), ins, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        onnx.save(m, path)
        return dict(self.inputs)
