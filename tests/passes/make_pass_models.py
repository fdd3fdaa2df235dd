#!/usr/bin/env python3
"""Writes one small ONNX model per optimisation pass and, next to it, NAME.expect: the node counts
per op type that the optimised graph must have ("total N" for all nodes). check_pass compares the
optimised run with the unoptimised one on the same inputs."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(3)


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.outputs, self.n = [], [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr, base="c"):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.asarray(arr).dtype), name))
        return name

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def out(self, v):
        self.outputs.append(v)

    def conv(self, x, cin, cout, k=3, bias=True):
        w = self.const(RNG.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.3, "w")
        ins = [x, w] + ([self.const(RNG.standard_normal(cout).astype(np.float32), "b")] if bias else [])
        return self.op("Conv", ins, pads=[k // 2] * 4)

    def save(self, path, inputs, opset=13):
        ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs]
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in self.outputs]
        g = helper.make_graph(self.nodes, os.path.basename(path), ins, outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        with open(path, "wb") as f:
            f.write(m.SerializeToString())


def f32(v):
    return np.array(v, dtype=np.float32)


def gelu(b, x, order):
    d = b.op("Div", [x, b.const(f32(np.sqrt(2.0)))])
    a = b.op("Add", [b.op("Erf", [d]), b.const(f32(1.0))])
    half = b.const(f32(0.5))
    if order == 0:
        return b.op("Mul", [b.op("Mul", [x, a]), half])
    if order == 1:
        return b.op("Mul", [x, b.op("Mul", [a, half])])
    return b.op("Mul", [b.op("Mul", [x, half]), a])


def eliminate_identity(out):
    b = Builder()
    r = b.op("Relu", ["x"])
    t = b.op("Identity", [r])
    t = b.op("Dropout", [t])
    t = b.op("Reshape", [t, b.const(np.array([1, 4, 6, 6], np.int64))])
    t = b.op("Flatten", [b.op("Cast", [t], to=TensorProto.FLOAT)], axis=0) if False else b.op("Cast", [t], to=1)
    t = b.op("Transpose", [t], perm=[0, 2, 3, 1])
    t = b.op("Transpose", [t], perm=[0, 3, 1, 2])
    t = b.op("Unsqueeze", [b.op("Squeeze", [t, b.const(np.array([0], np.int64))]), b.const(np.array([0], np.int64))])
    b.out(b.op("Sigmoid", [t]))
    b.out(b.op("Identity", [r]))  # a graph output: Relu writes it directly
    b.out(b.op("Identity", ["x"]))  # a graph output fed by a graph input: kept
    b.save(f"{out}/eliminate_identity.onnx", [("x", [1, 4, 6, 6])])
    return {"Relu": 1, "Sigmoid": 1, "Identity": 1, "Squeeze": 1, "Unsqueeze": 1, "total": 5}


def fold_bn_into_conv(out):
    b = Builder()

    def bn(x, c):
        return b.op("BatchNormalization", [x, b.const(RNG.uniform(0.5, 2, c).astype(np.float32)),
                                           b.const(RNG.standard_normal(c).astype(np.float32)),
                                           b.const(RNG.standard_normal(c).astype(np.float32)),
                                           b.const(RNG.uniform(0.5, 2, c).astype(np.float32))], epsilon=1e-3)

    b.out(bn(b.conv("x", 4, 6), 6))
    b.out(bn(b.conv("x", 4, 6, k=1, bias=False), 6))
    w = b.const(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, "wt")
    b.out(bn(b.op("ConvTranspose", ["x", w], group=2, strides=[2, 2]), 6))
    shared = b.conv("x", 4, 6)  # read twice: not folded
    b.out(bn(shared, 6))
    b.out(shared)
    b.save(f"{out}/fold_bn_into_conv.onnx", [("x", [1, 4, 7, 7])])
    return {"Conv": 3, "ConvTranspose": 1, "BatchNormalization": 1, "total": 5}


def fuse_activation(out):
    b = Builder()
    acts = [("Relu", {}), ("LeakyRelu", {"alpha": 0.2}), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
            ("Sigmoid", {}), ("Tanh", {}), ("HardSwish", {})]
    for a, kw in acts:
        b.out(b.op(a, [b.conv("x", 3, 4)], **kw))
    b.out(b.op("Clip", [b.conv("x", 3, 4), b.const(f32(0.0)), b.const(f32(6.0))]))
    c = b.conv("x", 3, 4)
    b.out(b.op("Mul", [c, b.op("Sigmoid", [c])]))  # SiLU
    c = b.conv("x", 3, 4)
    b.out(b.op("Mul", [b.op("HardSigmoid", [c], alpha=1 / 6, beta=0.5), c]))  # HardSwish
    for order in range(3):
        b.out(gelu(b, b.conv("x", 3, 4), order))
    m = b.op("MatMul", ["x", b.const(RNG.standard_normal((8, 5)).astype(np.float32))])
    b.out(b.op("Relu", [m]))
    xt = b.op("Reshape", ["x", b.const(np.array([24, 8], np.int64))])
    gm = b.op("Gemm", [xt, b.const(RNG.standard_normal((5, 8)).astype(np.float32)),
                       b.const(RNG.standard_normal(5).astype(np.float32))], transB=1)
    b.out(b.op("Tanh", [gm]))
    wt = b.const(RNG.standard_normal((3, 2, 2, 2)).astype(np.float32))
    b.out(b.op("Relu", [b.op("ConvTranspose", ["x", wt], strides=[2, 2])]))
    c = b.conv("x", 3, 4)  # also a graph output: kept apart
    b.out(c)
    b.out(b.op("Relu", [c]))
    b.save(f"{out}/fuse_activation.onnx", [("x", [1, 3, 8, 8])], opset=14)
    return {"Conv": 13, "Relu": 1, "Sigmoid": 0, "Mul": 0, "Erf": 0, "Clip": 0, "HardSigmoid": 0, "MatMul": 1,
            "Gemm": 1, "ConvTranspose": 1, "Reshape": 1, "total": 18}


def fuse_residual(out):
    b = Builder()
    a = b.op("Relu", [b.conv("x", 4, 4)])
    b.out(b.op("Relu", [b.op("Add", [b.conv(a, 4, 4), a])]))
    b.out(b.op("Add", ["x", b.conv("x", 4, 4, k=1)]))  # no activation after, conv on the right
    c = b.op("Relu", [b.conv("x", 4, 4)])  # an activated conv: its Add stays
    b.out(b.op("Add", [c, "x"]))
    b.save(f"{out}/fuse_residual.onnx", [("x", [1, 4, 6, 6])])
    return {"Conv": 4, "Add": 1, "Relu": 0, "total": 5}


def layernorm(b, x, d, eps=1e-6):
    mu = b.op("ReduceMean", [x], axes=[-1])
    dv = b.op("Sub", [x, mu])
    var = b.op("ReduceMean", [b.op("Pow", [dv, b.const(f32(2.0))])], axes=[-1])
    n = b.op("Div", [dv, b.op("Sqrt", [b.op("Add", [var, b.const(f32(eps))])])])
    s = b.op("Mul", [n, b.const(RNG.uniform(0.5, 2, d).astype(np.float32))])
    return b.op("Add", [s, b.const(RNG.standard_normal(d).astype(np.float32))])


def match_layernorm(out):
    b = Builder()
    b.out(layernorm(b, "x", 32))
    b.out(layernorm(b, b.op("Relu", ["x"]), 32, eps=1e-5))
    b.save(f"{out}/match_layernorm.onnx", [("x", [1, 16, 32])])
    return {"LayerNormalization": 2, "ReduceMean": 0, "Relu": 1, "total": 3}


def match_gelu(out):
    b = Builder()
    h = b.op("Add", ["x", b.const(RNG.standard_normal(16).astype(np.float32))])
    b.out(gelu(b, h, 0))
    b.out(gelu(b, "x", 2))
    b.save(f"{out}/match_gelu.onnx", [("x", [2, 8, 16])])
    return {"Gelu": 2, "Erf": 0, "Add": 1, "total": 3}


def focus(b, x, order, two_slices=True):
    """Space-to-depth of x [N, C, H, W] into 4C channels, the phases concatenated in `order` (a list
    of (row start, column start)); each phase two chained Slices (rows, then columns) or one."""
    i64 = lambda v: b.const(np.array(v, np.int64))
    parts = []
    for dy, dx in order:
        if two_slices:
            r = b.op("Slice", [x, i64([dy]), i64([2**63 - 1]), i64([2]), i64([2])])
            parts.append(b.op("Slice", [r, i64([dx]), i64([2**63 - 1]), i64([3]), i64([2])]))
        else:
            parts.append(b.op("Slice", [x, i64([dy, dx]), i64([1000, -1 if dx == 0 else 1000]), i64([-2, -1]),
                                        i64([2, 2])]))
    return b.op("Concat", parts, axis=1)


def fold_space_to_depth(out):
    """YOLOX's Focus stem in its phase order and in another, with one Slice per phase and stride 2,
    asymmetric pads; then cases that must stay: a phase taken twice, a Slice read elsewhere too,
    a dilated Conv."""
    b = Builder()
    yolox = [(0, 0), (1, 0), (0, 1), (1, 1)]
    other = [(1, 1), (0, 0), (0, 1), (1, 0)]
    w = lambda cout, cin, k: b.const(RNG.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.3, "w")
    bias = lambda cout: b.const(RNG.standard_normal(cout).astype(np.float32), "b")
    c = b.op("Conv", [focus(b, "x", yolox), w(16, 12, 3), bias(16)], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    b.out(b.op("Mul", [c, b.op("Sigmoid", [c])]))
    b.out(b.op("Conv", [focus(b, "x", other), w(5, 12, 3)], pads=[1, 0, 2, 1], strides=[1, 1]))
    b.out(b.op("Conv", [focus(b, "x", other, two_slices=False), w(4, 12, 1)], strides=[2, 2]))
    b.out(b.op("Conv", [focus(b, "x", [(0, 0), (1, 0), (0, 1), (0, 0)]), w(4, 12, 3)], pads=[1, 1, 1, 1]))
    cat = focus(b, "x", yolox)
    b.out(b.op("Relu", [b.nodes[-2].input[0]]))  # the last phase's row Slice is read elsewhere too
    b.out(b.op("Conv", [cat, w(4, 12, 3)], pads=[1, 1, 1, 1]))
    b.out(b.op("Conv", [focus(b, "x", yolox), w(4, 12, 3)], pads=[2, 2, 2, 2], dilations=[2, 2]))
    b.save(f"{out}/fold_space_to_depth.onnx", [("x", [1, 3, 10, 14])])
    with open(f"{out}/fold_space_to_depth_b8.expect", "w") as f:  # with the layout plan: oneDNN runs them
        f.write("ei.ConvBlocked8 6\nConv 0\nConcat 3\nSlice 24\n")
    # 3 folded Convs read x; the other 3 keep their 8 Slices and Concat each
    return {"Conv": 6, "Concat": 3, "Slice": 24, "Sigmoid": 0, "Mul": 0, "Relu": 1,
            "total": 6 + 3 + 24 + 1}


def head_layouts(out):
    """Detection heads around the NHWC transposes: YOLOX's (per scale Concat of 4 + 1 + 7 channels,
    flattened, scales concatenated on the last axis, transposed) and torchvision SSD's (Reshape to
    [N, anchors, values, H, W], Transpose to [N, H, W, anchors, values], Reshape), a direct NHWC
    Transpose, and the negative cases: a flattened map read elsewhere too, a conv output that is
    also a graph output, a Reshape that does not just split the channels. Batch 2; a map of 99
    pixels spans two NHWC tiles. head_layouts.expect: sink_transpose (level 1); head_layouts_b8.expect:
    merge_from_blocked8 after the layout plan (level 2), then concat_from_blocked8, which makes C's two
    conversions, four Reshapes and Concat one flat ei.FromBlocked8."""
    b = Builder()
    i64 = lambda v: b.const(np.array(v, np.int64))
    flat = []
    for x in ("x", "y"):  # A: YOLOX
        reg = b.conv(x, 16, 4, k=1)
        obj = b.op("Sigmoid", [b.conv(x, 16, 1, k=1)])
        cls = b.op("Sigmoid", [b.conv(x, 16, 7)])
        flat.append(b.op("Reshape", [b.op("Concat", [reg, obj, cls], axis=1), i64([2, 12, -1])]))
    b.out(b.op("Transpose", [b.op("Concat", flat, axis=2)], perm=[0, 2, 1]))
    r1 = b.op("Reshape", [b.conv("x", 16, 4, k=1), i64([2, 4, -1])])  # B: r1 also a graph output
    r2 = b.op("Reshape", [b.conv("y", 16, 4, k=1), i64([2, 4, -1])])
    b.out(b.op("Transpose", [b.op("Concat", [r1, r2], axis=-1)], perm=[0, 2, 1]))
    b.out(r1)
    rows = []
    for x, hw in (("x", [6, 8]), ("y", [9, 11])):  # C: torchvision SSD
        v = b.op("Reshape", [b.conv(x, 16, 12), i64([2, 3, 4] + hw)])
        rows.append(b.op("Reshape", [b.op("Transpose", [v], perm=[0, 3, 4, 1, 2]), i64([2, -1, 4])]))
    b.out(b.op("Concat", rows, axis=1))
    b.out(b.op("Transpose", [b.conv("x", 16, 6)], perm=[0, 2, 3, 1]))  # D
    e = b.conv("y", 16, 6)  # E: also a graph output
    b.out(b.op("Transpose", [e], perm=[0, 2, 3, 1]))
    b.out(e)
    v = b.op("Reshape", [b.conv("x", 16, 12), i64([2, 3, 4, 0, -1])])  # F: [2, 3, 4, 8, 6], W and H swapped
    b.out(b.op("Transpose", [v], perm=[0, 3, 4, 1, 2]))
    b.save(f"{out}/head_layouts.onnx", [("x", [2, 16, 6, 8]), ("y", [2, 16, 9, 11])])
    with open(f"{out}/head_layouts_b8.expect", "w") as f:
        f.write("ei.ConvBlocked8 13\nei.FromBlocked8 8\nTranspose 3\nConcat 2\nReshape 5\nei.ToBlocked8 2\n"
                "total 33\n")
    return {"Conv": 13, "Sigmoid": 0, "Concat": 5, "Reshape": 9, "Transpose": 8, "total": 35}


def layout_blocked8(out):
    """A MobileNetV3-like region: image conv (3 channels, read plain), depthwise, an SE block (global
    pool, 1x1 convs, HardSigmoid, broadcast Mul), a residual, a conv to 12 channels (padding lanes)
    followed by Sigmoid and a channel Concat (12 last), pooling, a scalar Div, a nearest 2x Resize
    inside the region, a linear one outside (a plain reader), and graph outputs, one of them
    blocked inside."""
    b = Builder()
    a = b.op("Relu", [b.conv("x", 3, 16)])
    d = b.op("HardSwish", [b.op("Conv", [a, b.const(RNG.standard_normal((16, 1, 3, 3)).astype(np.float32), "w")],
                                pads=[1, 1, 1, 1], group=16)])
    s = b.op("GlobalAveragePool", [d])
    s = b.op("HardSigmoid", [b.conv(b.op("Relu", [b.conv(s, 16, 8, k=1)]), 8, 16, k=1)])
    e = b.op("Mul", [d, s])
    r = b.op("Add", [b.conv(e, 16, 16, k=1), a])
    t = b.op("Sigmoid", [b.conv(r, 16, 12)])
    c = b.op("Concat", [r, t], axis=1)
    p = b.op("MaxPool", [c], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    q = b.op("Div", [b.op("AveragePool", [p], kernel_shape=[2, 2]), b.const(f32(2.0))])
    b.out(q)
    u = b.op("Resize", [b.conv(q, 28, 16), "", b.const(f32([1, 1, 2, 2]))], mode="nearest")  # blocked
    b.out(b.conv(u, 16, 5, k=1))
    b.out(b.op("Resize", [q, "", b.const(f32([1, 1, 2, 2]))], mode="linear"))  # a plain reader
    b.save(f"{out}/layout_blocked8.onnx", [("x", [1, 3, 12, 12])])
    return {"ei.ConvBlocked8": 8, "Conv": 0, "ei.ToBlocked8": 0, "ei.FromBlocked8": 2, "AveragePool": 2,
            "GlobalAveragePool": 0, "Resize": 2}


def main(out):
    os.makedirs(out, exist_ok=True)
    for fn in (eliminate_identity, fold_bn_into_conv, fuse_activation, fuse_residual, match_layernorm, match_gelu,
               fold_space_to_depth, head_layouts, layout_blocked8):
        expect = fn(out)
        with open(f"{out}/{fn.__name__}.expect", "w") as f:
            for k, v in expect.items():
                f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main(sys.argv[1])
