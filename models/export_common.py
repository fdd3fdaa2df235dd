"""Helpers shared by the model export scripts in this folder.

Every exporter builds a network with random weights from a fixed seed, exports it with
torch.onnx.export, then calls `validate()`: onnx.checker, one ONNX Runtime run (CPU, graph
optimisations disabled, so it is plain fp32) and a comparison against the PyTorch output.
"""
import collections
import contextlib
import os
import sys
import time

import numpy as np

SEED = 20240607  # one seed for every exporter, so the weights are reproducible


def op_histogram(model):
    """Counter of op_type over the main graph (our models have no subgraphs)."""
    return collections.Counter(n.op_type for n in model.graph.node)


def format_histogram(hist):
    return ", ".join(f"{op} {n}" for op, n in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))


def seed_everything(seed=SEED):
    import torch
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


@contextlib.contextmanager
def _quiet_torch_export():
    """torch 1.13's exporter prints TracerWarnings for shape arithmetic; they are expected here."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def randomize_zero_biases(module, scale=0.05, seed=SEED):
    """Replace all-zero Conv/Linear biases (torchvision's head init) by small seeded values.

    Zero biases would let an engine that drops a bias pass, and torch.onnx deduplicates equal
    initializers into Identity nodes, which would hide that the biases differ per layer.
    """
    import torch
    gen = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for m in module.modules():
            b = getattr(m, "bias", None)
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and b is not None \
                    and not torch.any(b):
                b.copy_(scale * torch.randn(b.shape, generator=gen))


def calibrate_batchnorm(module, input_shape, batches=4, seed=SEED, make_input=None):
    """Give every BatchNorm data-dependent running statistics.

    Freshly constructed BN layers have mean 0 / var 1, which makes BN an identity and lets an
    engine pass the tests with a broken Conv+BN fold. We run a few train-mode forward passes on
    seeded noise with cumulative averaging (momentum=None), then perturb the affine parameters,
    so that every BN in the exported graph does real work while activations stay O(1).
    """
    import torch
    bns = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(seed)
    saved = [(m, m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            x = make_input(gen) if make_input else torch.randn(input_shape, generator=gen)
            module(x)
        for m, mom in saved:
            m.momentum = mom
            if m.affine:
                m.weight.mul_(1.0 + 0.2 * (torch.rand(m.weight.shape, generator=gen) - 0.5))
                m.bias.add_(0.1 * torch.randn(m.bias.shape, generator=gen))
    module.eval()


# Set by export_all.py --dynamic-batch: dimension 0 of every input and output becomes the
# symbolic "batch", so that the benchmark can run these models at batch 8.
DYNAMIC_BATCH = False


def torch_to_onnx(module, example, path, input_names, output_names, opset):
    """Trace-export `module` (eval mode, static shapes unless DYNAMIC_BATCH) and return the
    PyTorch outputs."""
    import torch
    module.eval()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    dynamic_axes = ({n: {0: "batch"} for n in list(input_names) + list(output_names)}
                    if DYNAMIC_BATCH else None)
    with torch.no_grad(), _quiet_torch_export():
        ref = module(example)
        torch.onnx.export(module, (example,), tmp, input_names=input_names,
                          output_names=output_names, opset_version=opset,
                          do_constant_folding=True, export_params=True,
                          dynamic_axes=dynamic_axes)
    os.replace(tmp, path)  # a killed export never leaves a half-written file behind
    if isinstance(ref, torch.Tensor):
        ref = (ref,)
    elif isinstance(ref, dict):
        ref = tuple(ref[k] for k in output_names)
    return [r.detach().numpy() for r in ref]


def ort_session(path, threads=0):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if threads:
        so.intra_op_num_threads = threads
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def validate(path, feeds, torch_outputs=None, tol=1e-4, quiet=False):
    """onnx.checker + one ORT run; compare with the PyTorch outputs when given.

    Returns the op histogram. Raises on any failure, so a broken export never counts as made.
    """
    import onnx
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path, load_external_data=False)
    sess = ort_session(path)
    t0 = time.perf_counter()
    outs = sess.run(None, feeds)
    dt = time.perf_counter() - t0
    names = [o.name for o in sess.get_outputs()]
    for i, (name, o) in enumerate(zip(names, outs)):
        if not np.all(np.isfinite(o)):
            raise RuntimeError(f"{path}: ORT output {name} has non-finite values")
        if torch_outputs is not None:
            ref = torch_outputs[i]
            if ref.shape != o.shape:
                raise RuntimeError(f"{path}: output {name}: torch shape {ref.shape}, "
                                   f"ORT shape {o.shape}")
            rel = float(np.max(np.abs(ref - o)) / max(float(np.max(np.abs(ref))), 1e-6))
            if rel > tol:
                raise RuntimeError(f"{path}: output {name}: torch vs ORT relative error {rel:.3g}")
            if not quiet:
                print(f"    {name}: shape {list(o.shape)}, |max| {np.max(np.abs(o)):.4g}, "
                      f"torch-vs-ORT rel err {rel:.2e}")
    hist = op_histogram(model)
    if not quiet:
        print(f"    opset {[(i.domain or 'ai.onnx', i.version) for i in model.opset_import]}, "
              f"{len(model.graph.node)} nodes, ORT run {dt * 1000:.0f} ms")
        print(f"    ops: {format_histogram(hist)}")
    return hist


def main_single(export_fn, description):
    """Tiny CLI shared by the exporters: --out DIR."""
    import argparse
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", required=True,
                    help="output folder, outside the source tree (e.g. build/models)")
    args = ap.parse_args()
    for p in export_fn(args.out):
        print(f"wrote {p} ({os.path.getsize(p) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit("this is a helper module; run one of the export_*.py scripts")
