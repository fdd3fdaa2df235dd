"""The calibration threshold searches of src/quant/histogram.c against a numpy oracle written from
the published algorithms (docs/precision.md, "INT8 calibration"):

- histogram: 2048 bins of |x| over [0, max|x|], bin = min(floor(|x| * 2048 / max), 2047) in double;
- entropy: TensorRT's entropy calibrator (GTC 2017, "8-bit Inference with TensorRT") as
  pytorch-quantization implements it: hist[0] replaced by hist[1] (the ReLU zero spike); for every
  i in 128..2048, P = hist[:i] with the outliers sum(hist[i:]) added to P[i-1]; Q = hist[:i] merged
  into L levels (bin j -> level floor(j * L / i); L = 128, or 256 for never-negative tensors,
  which are quantised to uint8), each level's count spread evenly over its
  non-empty bins; KL(P||Q) of the normalised distributions (inf where P > 0 and Q = 0);
  threshold = i * max / 2048 for the first i with the smallest KL. Computed here directly, term
  by term, not with the prefix-sum rearrangement of the C code. Must match to one bin.
- percentile: first k with cumsum(hist)[k] / total >= 0.9999, threshold = (k + 1) * max / 2048. Exact.
- minmax: max |x|. Exact.
All-zero tensors: the threshold is 1.0, so scale = 1/127 > 0.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

BINS, LEVELS = 2048, 128


def histogram(x):
    a = np.abs(x.astype(np.float64))
    amax = float(np.float32(np.max(np.abs(x)))) if x.size else 0.0
    h = np.zeros(BINS, dtype=np.int64)
    if amax > 0:
        idx = np.minimum((a * BINS / amax).astype(np.int64), BINS - 1)
        np.add.at(h, idx, 1)
    else:
        h[0] = x.size
    return h, amax


def kl(p, q):
    m = p > 0
    if np.any(q[m] == 0):
        return np.inf
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def entropy_bins(h, levels):
    h = h.copy()
    h[0] = h[1]
    best, best_kl = BINS, np.inf
    for i in range(LEVELS, BINS + 1):
        ref = h[:i].astype(np.float64).copy()
        ref[i - 1] += h[i:].sum()
        src = h[:i].astype(np.float64)
        level = (np.arange(i) * levels) // i
        g = np.bincount(level, weights=src, minlength=levels)
        nz = np.bincount(level, weights=(src > 0).astype(np.float64), minlength=levels)
        q = np.where(src > 0, g[level] / np.maximum(nz[level], 1), 0.0)
        if q.sum() == 0:
            continue
        d = kl(ref / ref.sum(), q / q.sum())
        if d < best_kl:
            best, best_kl = i, d
    return best


def percentile_bins(h, pct=99.99):
    total = h.sum()
    if total == 0:
        return BINS
    c = np.cumsum(h)
    for k in range(BINS):
        if c[k] / total >= pct / 100.0:
            return k + 1
    return BINS


def run_driver(driver, path):
    out = subprocess.run([driver, path], check=True, capture_output=True, text=True).stdout
    r = {}
    for line in out.splitlines():
        key, *vals = line.split()
        r[key] = vals
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(20261121)
    n = 200_000
    lap = rng.laplace(0.0, 1.0, n).astype(np.float32)
    lap[rng.choice(n, 20, replace=False)] = rng.uniform(40, 80, 20).astype(np.float32)
    cases = {
        "gaussian": rng.normal(0.0, 1.0, n).astype(np.float32),
        "laplace_outliers": lap,
        "relu_gaussian": np.maximum(rng.normal(0.3, 1.0, n), 0).astype(np.float32),
        "relu_exponential": rng.exponential(0.5, n).astype(np.float32),
        "sigmoid": (1 / (1 + np.exp(-rng.normal(0, 3, n)))).astype(np.float32),
        "bimodal_sparse": np.concatenate([np.zeros(n // 2), rng.normal(5, 0.1, n // 2)]).astype(np.float32),
        "constant": np.full(5000, 3.25, dtype=np.float32),
        "negative_constant": np.full(5000, -0.5, dtype=np.float32),
        "zeros": np.zeros(5000, dtype=np.float32),
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, x in cases.items():
            path = os.path.join(tmp, name + ".f32")
            x.astype("<f4").tofile(path)
            r = run_driver(args.driver, path)
            h, amax = histogram(x)
            c_hist = np.array([int(v) for v in r["hist"]], dtype=np.int64)
            c_amax = float(r["amax"][0])
            c_neg = r["negative"][0] == "1"
            e_c, p_c = (int(v) for v in r["bins"])
            th = [float(v) for v in r["threshold"]]
            sc = [float(v) for v in r["scale"]]
            e_o, p_o = entropy_bins(h, 128 if np.any(x < 0) else 256), percentile_bins(h)
            bw = amax / BINS if amax > 0 else 0.0
            errs = []
            if np.float32(c_amax) != np.float32(amax):
                errs.append(f"amax {c_amax} != {amax}")
            if c_neg != bool(np.any(x < 0)):
                errs.append(f"negative {c_neg}")
            if not np.array_equal(c_hist, h):
                errs.append(f"histogram differs in {int(np.sum(c_hist != h))} bins")
            if abs(e_c - e_o) > 1:
                errs.append(f"entropy bins {e_c} vs oracle {e_o}")
            if p_c != p_o:
                errs.append(f"percentile bins {p_c} vs oracle {p_o}")
            if amax > 0:
                exp_p = np.float32(p_o * amax / BINS) if p_o < BINS else np.float32(amax)
                if np.float32(th[1]) != exp_p:
                    errs.append(f"percentile threshold {th[1]} vs {exp_p}")
                if abs(th[0] - e_o * bw) > bw * 1.0001:
                    errs.append(f"entropy threshold {th[0]} vs {e_o * bw}")
                if np.float32(th[2]) != np.float32(amax):
                    errs.append(f"minmax threshold {th[2]} vs {amax}")
            else:
                if th != [1.0, 1.0, 1.0]:
                    errs.append(f"all-zero thresholds {th}, expected 1.0")
            if not all(s > 0 for s in sc):
                errs.append(f"scales {sc} not > 0")
            status = "FAIL" if errs else "ok"
            print(f"{status:4} {name:18} amax {amax:.6g} entropy bins C {e_c} oracle {e_o} -> {th[0]:.6g}; "
                  f"percentile bins {p_c} -> {th[1]:.6g}; minmax {th[2]:.6g}" + ("; " + "; ".join(errs) if errs else ""))
            failures += bool(errs)
    if failures:
        print(f"{failures} case(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
