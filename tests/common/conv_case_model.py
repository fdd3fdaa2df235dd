"""What the one-convolution kernel tests (tests/kernels_winograd, tests/kernels_stem) share: the
epilogue after the Conv (residual Add, activation) and the saved model, both in the plain form and
in the |x|.|W| form that gives each output's error bound S; and the CPU check their kernels need."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def finish_model(path, nodes, inits, inputs, last, out_shape, res, act, absolute):
    """Appends to the graph whose Conv output is `last`: a residual Add of input "r" (|r| when
    `absolute`) if `res`, the activation `act` = (op, attrs) unless `absolute`; saves it to path."""
    if res:
        r = "r"
        if absolute:
            nodes.append(helper.make_node("Abs", ["r"], ["ra"]))
            r = "ra"
        nodes.append(helper.make_node("Add", [last, r], ["y1"]))
        last = "y1"
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, out_shape))
    if act and not absolute:
        op, attrs = act
        if op == "Silu":
            nodes += [helper.make_node("Sigmoid", [last], ["sg"]), helper.make_node("Mul", [last, "sg"], ["y2"])]
        else:
            ains = [last]
            if op == "Clip":
                inits += [numpy_helper.from_array(np.array(attrs["min"], np.float32), "lo"),
                          numpy_helper.from_array(np.array(attrs["max"], np.float32), "hi")]
                ains += ["lo", "hi"]
                attrs = {}
            nodes.append(helper.make_node(op, ains, ["y2"], **attrs))
        last = "y2"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, "g", inputs, [out], initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.save(model, path)


def check_bound(label, y, want, s, tol, failures):
    """Compares output y with ONNX Runtime's `want` against |d| <= tol * S + 1e-6 (S: the sum of
    |x||w| behind each output), prints the worst figures and appends what fails to `failures`."""
    if y.shape != want.shape:
        failures.append(f"{label}: shape {y.shape}, ONNX Runtime {want.shape}")
        return
    d = np.abs(y.astype(np.float64) - want)
    ratio = float((d / (s + 1e-30)).max())
    bad = d > tol * s + 1e-6
    print(f"{label}: max |d| {d.max():.3g}, max |d|/S {ratio:.3g}")
    if bad.any():
        i = np.unravel_index(np.argmax(d - tol * s), d.shape)
        failures.append(f"{label}: {int(bad.sum())} outputs over the bound, "
                        f"at {tuple(int(v) for v in i)}: |d| {d[i]:.3g}, S {s[i]:.3g}")


def cpu_has_avx2_fma():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags
