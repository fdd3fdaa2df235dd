#!/usr/bin/env bash
# CLI behaviour on good and bad input: exit codes and the message that names the problem.
# usage: run_cli_tests.sh EDGEINFER PYTHON WORKDIR
set -u
EI=$1 PY=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK"
"$PY" "$HERE/make_bad_models.py" "$WORK" >/dev/null || { echo "cannot generate bad models"; exit 1; }
pass=0 fail=0

# expect NAME WANT_RC(ge2|0|N) SUBSTRING -- command...
expect() {
  local name=$1 want=$2 substr=$3; shift 4
  local out rc
  out=$(timeout 60 "$@" 2>&1); rc=$?
  local ok=1
  case $want in
    ge2) [ $rc -ge 2 ] && [ $rc -lt 124 ] || ok=0 ;;
    *) [ $rc -eq "$want" ] || ok=0 ;;
  esac
  if [ -n "$substr" ] && ! grep -qF -- "$substr" <<<"$out"; then ok=0; fi
  if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" <<<"$out"; then ok=0; fi
  if [ $ok = 1 ]; then pass=$((pass+1)); echo "ok   $name"
  else fail=$((fail+1)); echo "FAIL $name (rc=$rc, wanted $want, substring '$substr')"; echo "$out" | head -20 | sed 's/^/     /'; fi
}

expect help 0 "usage: edgeinfer" -- "$EI" --help
expect run_help 0 "--output-dir" -- "$EI" run --help
expect info_help 0 "--input-shape" -- "$EI" info --help
expect ops_help 0 "usage" -- "$EI" ops --help
expect no_command 2 "usage" -- "$EI"
expect unknown_command 2 "unknown command" -- "$EI" frobnicate
expect unknown_option 2 "unknown option" -- "$EI" info "$WORK/good.onnx" --bogus
expect missing_output_dir 2 "--output-dir" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x.npy"
expect good_info 0 "Add" -- "$EI" info "$WORK/good.onnx"
expect good_run 0 "y" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x.npy" --output-dir "$WORK/out"
expect good_run_unnamed 0 "y" -- "$EI" run "$WORK/good.onnx" --input "$WORK/x.npy" --output-dir "$WORK/out_unnamed"
expect good_run_output 0 "" -- "$PY" -c "import numpy as np; y=np.load('$WORK/out/y.npy'); assert (y==np.arange(4)+1).all(), y"
expect missing_file ge2 "cannot open" -- "$EI" info "$WORK/nope.onnx"
expect empty_file ge2 "empty" -- "$EI" info "$WORK/empty.onnx"
expect truncated ge2 "not a valid ONNX model" -- "$EI" info "$WORK/truncated.onnx"
expect wrong_magic ge2 "not a valid ONNX model" -- "$EI" info "$WORK/wrong_magic.onnx"
expect absurd_dims ge2 "initializer[0]" -- "$EI" info "$WORK/absurd_dims.onnx"
expect negative_dims ge2 "negative" -- "$EI" info "$WORK/negative_dims.onnx"
expect short_raw_data ge2 "raw_data" -- "$EI" info "$WORK/short_raw_data.onnx"
expect cyclic ge2 "cycle" -- "$EI" info "$WORK/cyclic.onnx"
expect unknown_op 4 "FancyOp" -- "$EI" info "$WORK/unknown_op.onnx"
expect empty_op_type ge2 "has no op_type" -- "$EI" info "$WORK/empty_op_type.onnx"
expect missing_initializer ge2 "missing_weight" -- "$EI" info "$WORK/missing_initializer.onnx"
expect shape_mismatch ge2 "add_bad_shapes" -- "$EI" info "$WORK/shape_mismatch.onnx"
expect future_ir 4 "IR version 99" -- "$EI" info "$WORK/future_ir.onnx"
expect external_escape ge2 "leaves the model's folder" -- "$EI" info "$WORK/external_escape.onnx"
expect run_huge_tensor ge2 "tensors need more than" -- "$EI" run "$WORK/huge_tensor.onnx" --input x1="$WORK/x1.npy" --output-dir "$WORK/o7"
expect run_wrong_shape 3 "must have shape 1x4" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x_wrong_shape.npy" --output-dir "$WORK/o2" --input-shape x:1x4
expect run_wrong_dtype 3 "must be float32" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x_wrong_dtype.npy" --output-dir "$WORK/o3"
expect run_wrong_input_name ge2 "no input named 'nope'" -- "$EI" run "$WORK/good.onnx" --input nope="$WORK/x.npy" --output-dir "$WORK/o4"
expect run_missing_input_file ge2 "cannot open" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/none.npy" --output-dir "$WORK/o5"
expect run_bad_tensor_file ge2 "not a .npy" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/good.onnx.npy" --output-dir "$WORK/o6"
expect bench_help 0 "--iterations" -- "$EI" bench --help
expect bench_good 0 "median" -- "$EI" bench "$WORK/good.onnx" --iterations 3 --warmup 1 --json "$WORK/bench.json"
expect bench_json 0 "" -- "$PY" -c "import json; r=json.load(open('$WORK/bench.json'))['results'][0]; assert r['ok'] and r['runs']==3, r"
# One core allowed (taskset, as docker --cpuset-cpus): one thread by default, not one per online core.
# The first CPU this process may use (CPU 0 may be outside a container's cpuset).
first_cpu=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status 2>/dev/null | cut -d, -f1 | cut -d- -f1)
if command -v taskset >/dev/null && [ -n "$first_cpu" ]; then
    expect bench_affinity 0 "threads      : 1 (the process may use 1 of" -- taskset -c "$first_cpu" "$EI" bench "$WORK/good.onnx" --iterations 2 --warmup 0
fi
expect bench_bad_batch ge2 "dimension 0 is fixed to 1" -- "$EI" bench "$WORK/good.onnx" --iterations 3 --batch 1,2
expect bench_bad_option 2 "--batch" -- "$EI" bench "$WORK/good.onnx" --batch 0
expect bench_profile 0 "slowest 1 node:" -- "$EI" bench "$WORK/good.onnx" --iterations 2 --warmup 0 --profile 3
expect bench_profile_ops 0 "ms/run" -- "$EI" bench "$WORK/good.onnx" --iterations 2 --warmup 0 --profile
# Engine files: build, use, and refusal of damaged ones (each with its own message).
expect build_help 0 "--cache" -- "$EI" build --help
expect build_no_output 2 "either -o" -- "$EI" build "$WORK/good.onnx"
expect build_bad_precision 2 "needs calibration" -- "$EI" build "$WORK/good.onnx" -o "$WORK/g.engine" --precision int8
expect build_engine 0 "built" -- "$EI" build "$WORK/good.onnx" -o "$WORK/good.engine"
expect info_engine 0 "(engine)" -- "$EI" info "$WORK/good.engine"
expect run_engine 0 "y" -- "$EI" run "$WORK/good.engine" --input x="$WORK/x.npy" --output-dir "$WORK/oe"
expect bench_engine 0 "engine load" -- "$EI" bench "$WORK/good.engine" --iterations 2 --warmup 0
expect bench_engine_wrong_batch 3 "was built for batch 1" -- "$EI" bench "$WORK/good.engine" --iterations 2 --batch 4
expect bench_cache_build 0 "built into the cache" -- "$EI" bench "$WORK/good.onnx" --iterations 2 --warmup 0 --cache "$WORK/bcache"
expect bench_cache_hit 0 "from the cache" -- "$EI" bench "$WORK/good.onnx" --iterations 2 --warmup 0 --cache "$WORK/bcache"
expect run_engine_output 0 "" -- cmp "$WORK/out/y.npy" "$WORK/oe/y.npy"
"$PY" - "$WORK" <<'PYEOF'
import sys
w = sys.argv[1]
good = open(f"{w}/good.engine", "rb").read()
def put(name, b): open(f"{w}/{name}.engine", "wb").write(b)
b = bytearray(good); b[-3] ^= 0x40; put("corrupt", b)
put("truncated", good[:-50])
b = bytearray(good); b[0:8] = b"NOTENGIN"; put("wrong_magic", bytes(b))
b = bytearray(good); b[8] = 42; put("wrong_version", bytes(b))
PYEOF
expect engine_corrupt ge2 "checksum mismatch" -- "$EI" info "$WORK/corrupt.engine"
expect engine_truncated ge2 "truncated engine" -- "$EI" info "$WORK/truncated.engine"
expect engine_wrong_magic ge2 "not a valid ONNX model" -- "$EI" info "$WORK/wrong_magic.engine"
expect engine_wrong_version 4 "engine format version 42" -- "$EI" run "$WORK/wrong_version.engine" --input x="$WORK/x.npy" --output-dir "$WORK/o8"
expect cache_first 0 "no engine for this model and options" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x.npy" --output-dir "$WORK/o9" --cache "$WORK/cache"
expect cache_second 0 "cache: loaded" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x.npy" --output-dir "$WORK/o9" --cache "$WORK/cache"
for f in "$WORK"/cache/*.engine; do printf 'XXXX' | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null; done
expect cache_corrupt 0 "cached engine is unusable" -- "$EI" run "$WORK/good.onnx" --input x="$WORK/x.npy" --output-dir "$WORK/o9" --cache "$WORK/cache"
expect build_cache_current 0 "is current" -- "$EI" build "$WORK/good.onnx" --cache "$WORK/cache"
[ -f "$WORK/o2/y.npy" ] && { echo "FAIL run_wrong_shape left an output behind"; fail=$((fail+1)); }

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
