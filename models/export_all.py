#!/usr/bin/env python3
"""Run every model exporter in this folder into one output folder.

    python3 models/export_all.py --out DIR [--only NAME[,NAME...]] [--force] [--list]
                                 [--dynamic-batch]

A file is skipped when it already exists and is newer than the script that makes it (and
than export_common.py). NAME is a file stem (see --list) or an exporter's group name
(tiny, torchvision_ssd, pytorch_ssd_mb1, segformer_b0). With --dynamic-batch, dimension 0 of
every input and output is the symbolic "batch" (for the benchmark's batch-8 runs; give a folder
of its own, e.g. --out build/exported_models_dynbatch, since the file names are the same). Each exporter validates what it writes
(onnx.checker, one ONNX Runtime run, comparison with PyTorch), so a file here is a checked file.
"""
import argparse
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# group name -> (module, file stems it writes, extra files written with them)
EXPORTERS = {
    "tiny": ("make_tiny_model", ["tiny_cnn"], ["tiny_cnn_input.npy"]),
    "torchvision_ssd": ("export_torchvision_ssd",
                        ["ssdlite320_mobilenet_v3_large", "ssd300_vgg16"], []),
    "pytorch_ssd_mb1": ("export_pytorch_ssd_mb1", ["ssd_mobilenet_v1_voc"], []),
    "segformer_b0": ("export_segformer_b0",
                     ["segformer_b0_512_opset17", "segformer_b0_512_opset13"], []),
}


def _is_fresh(path, scripts):
    if not os.path.exists(path):
        return False
    return os.path.getmtime(path) > max(os.path.getmtime(s) for s in scripts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=False, help="output folder")
    ap.add_argument("--only", action="append", default=[],
                    help="file stem or group name; repeat or comma-separate")
    ap.add_argument("--force", action="store_true", help="re-export even when up to date")
    ap.add_argument("--list", action="store_true", help="list groups and file stems, then exit")
    ap.add_argument("--dynamic-batch", action="store_true",
                    help="export with a symbolic batch dimension (use a separate --out folder)")
    args = ap.parse_args(argv)

    if args.list:
        for group, (module, stems, _) in EXPORTERS.items():
            print(f"{group:16s} {module}.py: {', '.join(s + '.onnx' for s in stems)}")
        return 0
    if not args.out:
        ap.error("--out DIR is required")

    all_stems = {s for _, stems, _ in EXPORTERS.values() for s in stems}
    wanted = set()
    for item in (x.strip() for arg in args.only for x in arg.split(",")):
        if not item:
            continue
        item = item[:-5] if item.endswith(".onnx") else item
        if item in EXPORTERS:
            wanted.update(EXPORTERS[item][1])
        elif item in all_stems:
            wanted.add(item)
        else:
            ap.error(f"unknown model '{item}' (see --list)")
    if not wanted:
        wanted = all_stems

    os.makedirs(args.out, exist_ok=True)
    if args.dynamic_batch:
        import export_common
        export_common.DYNAMIC_BATCH = True
    made, failed = [], []
    t_all = time.perf_counter()
    for group, (module_name, stems, extras) in EXPORTERS.items():
        scripts = [os.path.join(HERE, module_name + ".py"), os.path.join(HERE, "export_common.py"),
                   os.path.abspath(__file__)]
        todo = []
        for stem in stems:
            if stem not in wanted:
                continue
            files = [os.path.join(args.out, stem + ".onnx")] + \
                    [os.path.join(args.out, e) for e in extras]
            if not args.force and all(_is_fresh(f, scripts) for f in files):
                print(f"skip   {stem}.onnx (up to date)")
                continue
            todo.append(stem)
        if not todo:
            continue
        for stem in todo:  # one call per file, so that each time printed is that file's own
            print(f"export {stem}.onnx ({module_name}.py)", flush=True)
            t0 = time.perf_counter()
            try:
                module = importlib.import_module(module_name)
                paths = module.export(args.out, only={stem})
            except Exception as e:  # report and go on with the other models
                print(f"FAILED {stem}: {type(e).__name__}: {e}", flush=True)
                failed.append(stem)
                continue
            dt = time.perf_counter() - t0
            made.extend((p, dt) for p in paths)
            print(f"made   {', '.join(os.path.basename(p) for p in paths)} in {dt:.1f} s",
                  flush=True)

    if made:
        print("\nfile                                        size        export time")
        for p, dt in made:
            print(f"{os.path.basename(p):42s} {os.path.getsize(p) / 1e6:8.2f} MB  {dt:8.1f} s")
    print(f"total {time.perf_counter() - t_all:.1f} s; {len(made)} file(s) made, "
          f"{len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
