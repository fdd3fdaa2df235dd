#!/usr/bin/env bash
# `edgeinfer detect` / `segment`: every mistake a user makes in a config or on the command line
# gets its own message and a non-zero exit code (no crash, no half-written output). Uses the small
# default model, so it needs no assets.
# usage: cli_errors.sh EDGEINFER_BINARY SOURCE_DIR WORK_DIR PYTHON
set -u
EI=$1; SRC=$(cd "$2" && pwd); WORK=$3; PY=$4
rm -rf "$WORK"; mkdir -p "$WORK"
pass=0; fail=0
expect() {
  local name=$1 want=$2 substr=$3; shift 4
  local out rc
  out=$(timeout 60 "$@" 2>&1); rc=$?
  local ok=1
  [ $rc -eq "$want" ] || ok=0
  if [ -n "$substr" ] && ! grep -qF -- "$substr" <<<"$out"; then ok=0; fi
  if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" <<<"$out"; then ok=0; fi
  if [ $ok = 1 ]; then pass=$((pass+1)); echo "ok   $name"
  else fail=$((fail+1)); echo "FAIL $name (rc=$rc, wanted $want, substring '$substr')"; echo "$out" | head -20 | sed 's/^/     /'; fi
}
# A tiny detector with YOLOX's output layout: 32x32 input, one stride-8 grid (16 rows of
# tx ty tw th obj cls0 cls1).
MODEL=$WORK/tiny_yolox.onnx
"$PY" - "$MODEL" <<'PY'
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(((np.arange(7 * 3 * 8 * 8, dtype=np.float32) % 7 - 3) / 100).reshape(7, 3, 8, 8), "w")
shape = numpy_helper.from_array(np.array([1, 7, 16], dtype=np.int64), "shape")
g = helper.make_graph(
    [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[8, 8], strides=[8, 8]),
     helper.make_node("Reshape", ["c", "shape"], ["r"]),
     helper.make_node("Transpose", ["r"], ["output"], perm=[0, 2, 1])],
    "tiny_yolox", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 16, 7])], [w, shape])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
printf 'a\nb\n' > "$WORK/two.txt"
printf 'a\nb\nc\n' > "$WORK/three.txt"
# A real 64x64 PNG made by the tool chain itself is not available without assets: write a tiny PPM-free
# PNG with Python's zlib (stdlib only).
python3 - "$WORK/img.png" <<'PY'
import struct, sys, zlib
w = h = 8
rows = b"".join(b"\x00" + b"".join(bytes([(x * 30) % 256, (y * 30) % 256, 128]) for x in range(w)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
base() {  # a detector config for the tiny model; extra lines appended
  { echo "[property]"; echo "onnx-file=$MODEL"; echo "network-type=0"; echo "num-detected-classes=2";
    echo "decoder=yolox"; echo "yolo-strides=8"; printf '%s\n' "$@"; } > "$WORK/c.ini"
}
base "labelfile-path=$WORK/three.txt"
expect label_count 3 "has 3 labels but num-detected-classes is 2" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png"
base "net-scale-factr=0.5" "labelfile-path=$WORK/three.txt"
expect unknown_key_warns 3 "did you mean 'net-scale-factor'" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png"
base "net-scale-factor=abc"
expect bad_value 3 "net-scale-factor" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png"
{ echo "[property]"; echo "onnx-file=$WORK/none.onnx"; echo "network-type=0"; echo "num-detected-classes=2"; echo "decoder=yolox"; } > "$WORK/m.ini"
expect missing_model 5 "none.onnx" -- "$EI" detect -c "$WORK/m.ini" "$WORK/img.png"
base "infer-dims=3;64;64"
expect infer_dims_mismatch 3 "use infer-dims=3;32;32" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png"
base "output-blob-names=boxes"
expect output_name 5 "no output 'boxes' (its outputs: 'output')" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png"
base "num-detected-classes=3"
# Caught when the model is opened (a dry run of the decoder on the output shapes), before any image.
expect decoder_shape 3 "expected 8 values per row" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png" --json "$WORK/out.json"
[ -e "$WORK/out.json" ] && { fail=$((fail+1)); echo "FAIL no_half_written_json (out.json exists)"; } || { pass=$((pass+1)); echo "ok   no_half_written_json"; }
base "labelfile-path=$WORK/two.txt"
expect wrong_command 3 "use \`edgeinfer detect\`" -- "$EI" segment -c "$WORK/c.ini" "$WORK/img.png"
expect missing_image 5 "nope.jpg: No such file" -- "$EI" detect -c "$WORK/c.ini" "$WORK/nope.jpg"
printf 'not an image' > "$WORK/bad.jpg"
expect corrupt_image 4 "bad.jpg: not a JPEG or PNG image" -- "$EI" detect -c "$WORK/c.ini" "$WORK/bad.jpg"
expect no_config 2 "missing -c" -- "$EI" detect "$WORK/img.png"
expect no_images 2 "no images" -- "$EI" detect -c "$WORK/c.ini"
expect good_run 0 "1 image" -- "$EI" detect -c "$WORK/c.ini" "$WORK/img.png" --json "$WORK/good.json" -o "$WORK/annotated"
expect good_json 0 "" -- "$PY" -c "import json; json.load(open('$WORK/good.json'))"
expect annotated 0 "" -- test -s "$WORK/annotated/img.jpg"
# A folder holds more images than the command line had arguments (the list grows).
mkdir -p "$WORK/folder"; for i in $(seq 1 20); do cp "$WORK/img.png" "$WORK/folder/$i.png"; done
expect folder_of_many 0 "20 images" -- "$EI" detect -c "$WORK/c.ini" "$WORK/folder" --quiet
expect detect_help 0 "--category-ids" -- "$EI" detect --help
expect segment_help 0 "--alpha" -- "$EI" segment --help
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
