#!/usr/bin/env bash
# `edgeinfer eval`: mistakes in files and on the command line each get their message and cli.h exit
# code (no crash); a model run over a folder with a missing image warns and counts; --precision
# prints one table (a precision that cannot be built says why, the others go on); --plot writes a
# PNG with one point per precision in its colour. Uses a tiny generated detector: no assets.
# usage: cli_eval.sh EDGEINFER_BINARY WORK_DIR PYTHON
set -u
EI=$1; WORK=$2; PY=$3
rm -rf "$WORK"; mkdir -p "$WORK"
pass=0; fail=0
expect() {
  local name=$1 want=$2 substr=$3; shift 4
  local out rc
  out=$(timeout 120 "$@" 2>&1); rc=$?
  local ok=1
  [ $rc -eq "$want" ] || ok=0
  if [ -n "$substr" ] && ! grep -qF -- "$substr" <<<"$out"; then ok=0; fi
  if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" <<<"$out"; then ok=0; fi
  if [ $ok = 1 ]; then pass=$((pass+1)); echo "ok   $name"
  else fail=$((fail+1)); echo "FAIL $name (rc=$rc, wanted $want, substring '$substr')"; echo "$out" | head -20 | sed 's/^/     /'; fi
}
# The tiny detector of tests/detect/cli_errors.sh (YOLOX layout, 32x32, 2 classes), images, files.
"$PY" - "$WORK" <<'PY'
import json, os, struct, sys, zlib
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
w = numpy_helper.from_array(((np.arange(7 * 3 * 8 * 8, dtype=np.float32) % 7 - 3) / 100).reshape(7, 3, 8, 8), "w")
shape = numpy_helper.from_array(np.array([1, 7, 16], dtype=np.int64), "shape")
g = helper.make_graph(
    [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[8, 8], strides=[8, 8]),
     helper.make_node("Reshape", ["c", "shape"], ["r"]),
     helper.make_node("Transpose", ["r"], ["output"], perm=[0, 2, 1])],
    "tiny_yolox", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 16, 7])], [w, shape])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(work, "tiny.onnx"))
# A tiny segmentation network: 2 classes at 4x4 (NCHW scores).
ws = numpy_helper.from_array(((np.arange(2 * 3 * 8 * 8, dtype=np.float32) % 5 - 2) / 50).reshape(2, 3, 8, 8), "ws")
gs = helper.make_graph([helper.make_node("Conv", ["x", "ws"], ["scores"], kernel_shape=[8, 8], strides=[8, 8])],
                       "tiny_seg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                       [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2, 4, 4])], [ws])
onnx.save(helper.make_model(gs, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(work, "tiny_seg.onnx"))
def png(path, arr, ctype):
    h, wd = arr.shape[:2]
    rows = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", wd, h, 8, ctype, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
os.makedirs(os.path.join(work, "images"))
rgb = (np.indices((48, 64)).sum(0)[..., None] * np.array([3, 5, 7])).astype(np.uint8) % 255
for i in (1, 2):
    png(os.path.join(work, "images", f"{i}.png"), np.ascontiguousarray(rgb), 2)
imgs = [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 48} for i in (1, 2, 3)]
cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "area": 400, "iscrowd": 0},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [10, 8, 30, 30], "area": 900, "iscrowd": 0}]
json.dump({"images": imgs[:2], "annotations": anns, "categories": cats}, open(os.path.join(work, "gt.json"), "w"))
json.dump({"images": imgs, "annotations": anns, "categories": cats}, open(os.path.join(work, "gt3.json"), "w"), indent=1)
open(os.path.join(work, "bad.json"), "w").write('{"images": [],\n "annotations": [\n  {"id": 1,, }]}')
open(os.path.join(work, "nolist.json"), "w").write('{"images": [], "categories": []}')
json.dump({"images": imgs, "categories": cats, "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "area": 3}]},
          open(os.path.join(work, "nobbox.json"), "w"), indent=1)
det = lambda i, c: {"image_id": i, "category_id": c, "bbox": [4, 4, 20, 20], "score": 0.9}
json.dump([det(1, 1), det(999, 1)], open(os.path.join(work, "d_badimg.json"), "w"), indent=1)
json.dump([det(1, 7), det(2, 8)], open(os.path.join(work, "d_allcat.json"), "w"))
json.dump([det(1, 1), det(2, 8)], open(os.path.join(work, "d_somecat.json"), "w"))
json.dump([det(1, 1)], open(os.path.join(work, "d_ok.json"), "w"))
json.dump({"image_id": 1}, open(os.path.join(work, "d_obj.json"), "w"))
json.dump([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}], open(os.path.join(work, "d_bbox.json"), "w"))
for d in ("seg_labels", "seg_labels_small"):
    os.makedirs(os.path.join(work, d))
    for i in (1, 2):
        lab = (np.indices((48, 64))[1] >= 32 * (i % 2 + 0.5)).astype(np.uint8)
        png(os.path.join(work, d, f"{i}.png"), lab if d == "seg_labels" else lab[:40, :60].copy(), 0)
for d in ("seg_gt", "seg_pred", "seg_rgb", "seg_range"):
    os.makedirs(os.path.join(work, d))
png(os.path.join(work, "seg_gt", "a.png"), np.zeros((8, 8), np.uint8), 0)
png(os.path.join(work, "seg_pred", "a.png"), np.zeros((6, 8), np.uint8), 0)
png(os.path.join(work, "seg_rgb", "a.png"), np.zeros((8, 8, 3), np.uint8), 2)
png(os.path.join(work, "seg_range", "a.png"), np.full((8, 8), 9, np.uint8), 0)
PY
{ echo "[property]"; echo "onnx-file=$WORK/tiny.onnx"; echo "network-type=0"; echo "num-detected-classes=2";
  echo "decoder=yolox"; echo "yolo-strides=8"; echo "[class-attrs-all]"; echo "pre-cluster-threshold=0.001"; } > "$WORK/det.ini"
{ echo "[property]"; echo "onnx-file=$WORK/tiny.onnx"; echo "network-type=2"; echo "num-detected-classes=2"; } > "$WORK/seg.ini"
{ echo "[property]"; echo "onnx-file=$WORK/tiny_seg.onnx"; echo "network-type=2"; echo "num-detected-classes=2";
  echo "infer-dims=3;32;32"; } > "$WORK/tseg.ini"

expect help 0 "usage: edgeinfer eval" -- "$EI" eval --help
expect help_via_main 0 "--segmentation" -- "$EI" help eval
expect listed 0 "eval" -- "$EI" --help
expect nothing 2 "say what to evaluate against" -- "$EI" eval
expect unknown_option 2 "unknown option '--frobnicate'" -- "$EI" eval --coco x --frobnicate
expect both_kinds 2 "give one" -- "$EI" eval --coco "$WORK/gt.json" --segmentation "$WORK/seg_gt"
expect no_config 2 "missing -c CONFIG.ini" -- "$EI" eval --coco "$WORK/gt.json" --images "$WORK/images"
expect no_images 2 "missing --images" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json"
expect detections_with_model 2 "no -c, --images" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --detections "$WORK/d_ok.json"
expect detections_with_calib 2 "it takes only --coco and --json" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_ok.json" --calib-cache "$WORK/x"
expect calib_without_int8 2 "list int8 in --precision" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --calib-cache "$WORK/x"
expect missing_calib_cache 5 "nope.calib" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --precision fp32,int8 --calib-cache "$WORK/nope.calib"
expect bad_precision 2 "'fp12' is not one of" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --precision fp32,fp12
expect twice_precision 2 "lists 'FP32' twice" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --precision fp32,FP32
expect bad_max_images 2 "--max-images must be" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --max-images 0
expect missing_annotations 5 "cannot open annotation file" -- "$EI" eval --coco "$WORK/none.json" --detections "$WORK/d_ok.json"
expect malformed_annotations 3 "bad.json: line 3, column" -- "$EI" eval --coco "$WORK/bad.json" --detections "$WORK/d_ok.json"
expect no_annotations_list 3 "no \"annotations\" list" -- "$EI" eval --coco "$WORK/nolist.json" --detections "$WORK/d_ok.json"
expect annotation_without_bbox 3 "line 33, column 3: annotation has no \"bbox\"" -- "$EI" eval --coco "$WORK/nobbox.json" --detections "$WORK/d_ok.json"
expect results_as_annotations 3 "pass it as --detections" -- "$EI" eval --coco "$WORK/d_ok.json" --detections "$WORK/d_ok.json"
expect annotations_as_results 3 "pass it as --coco" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/gt.json"
expect missing_detections 5 "cannot open detections file" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/none.json"
expect unknown_image_id 3 "line 13, column 2: result for image_id 999" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_badimg.json"
expect all_unknown_categories 3 "none of the 2 results has a category_id" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_allcat.json"
expect some_unknown_categories 0 "1 of 2 results have a category_id that is not among" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_somecat.json"
expect results_object 3 "not a results list" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_obj.json"
expect short_bbox 3 "must be a list of 4 numbers" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_bbox.json"
expect empty_results_from_pipe 0 "2 annotations, 0 detections" -- bash -c "echo '[]' | '$EI' eval --coco '$WORK/gt.json' --detections /dev/stdin"
expect detections_folder 5 "Is a directory" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK"
expect results_ok 0 "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d_ok.json"
# Model runs.
expect model_run 0 "latency: median" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --json "$WORK/m.json" --detections-out "$WORK/d.json"
expect model_json 0 "" -- "$PY" -c "import json; m = json.load(open('$WORK/m.json')); assert len(m['results'][0]['stats']) == 12; assert isinstance(json.load(open('$WORK/d.json')), list)"
expect rerun_detections 0 "2 images, 2 categories" -- "$EI" eval --coco "$WORK/gt.json" --detections "$WORK/d.json"
expect missing_image 5 "1 of 3 annotated images could not be read" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt3.json" --images "$WORK/images"
expect missing_image_named 5 "3.png" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt3.json" --images "$WORK/images"
expect not_a_folder 5 "--images: '$WORK/nope' is not a folder" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/nope"
expect segmenter_for_coco 3 "is not a detector" -- "$EI" eval -c "$WORK/seg.ini" --coco "$WORK/gt.json" --images "$WORK/images"
expect category_ids_short 3 "has 1 ids for 2 classes" -- bash -c "echo 1 > '$WORK/ids.txt'; '$EI' eval -c '$WORK/det.ini' --coco '$WORK/gt.json' --images '$WORK/images' --category-ids '$WORK/ids.txt'"
# Precisions: int8 without a calibration table fails with its reason; fp32 still runs; one table.
expect precision_table 3 "int8: needs a calibration table" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --precision fp32,int8 --plot "$WORK/plot.png" --json "$WORK/p.json"
expect precision_fp32_equals_config 0 "" -- "$PY" -c "import json; a = json.load(open('$WORK/m.json'))['results'][0]; b = json.load(open('$WORK/p.json'))['results']; assert len(b) == 1 and b[0]['precision'] == 'fp32' and b[0]['stats'] == a['stats'] and b[0]['detections'] == a['detections'], (a, b)"
expect precision_table_rows 3 "speed-up" -- "$EI" eval -c "$WORK/det.ini" --coco "$WORK/gt.json" --images "$WORK/images" --precision fp32,int8 --quiet
expect plot_png 0 "" -- "$PY" -c "
import cv2, numpy as np
im = cv2.imread('$WORK/plot.png', cv2.IMREAD_COLOR)
assert im is not None and im.shape == (440, 640, 3), None if im is None else im.shape
rgb = im[..., ::-1].reshape(-1, 3)
# point 0 (fp32) is palette entry 1: (128, 0, 0); a 11x11 square
assert (rgb == (128, 0, 0)).all(1).sum() >= 100
assert (rgb == (0, 0, 0)).all(1).sum() > 500   # axes and text
"
# Segmentation: saved label maps.
expect seg_wrong_size 3 "is 8x8 but the prediction" -- "$EI" eval --segmentation "$WORK/seg_gt" --predictions "$WORK/seg_pred" --classes 2
expect seg_rgb_label 3 "label maps are 8-bit grey or palette" -- "$EI" eval --segmentation "$WORK/seg_rgb" --predictions "$WORK/seg_gt" --classes 2
expect seg_label_range 3 "ground-truth label 9 at (0, 0) is not a class (0..1)" -- "$EI" eval --segmentation "$WORK/seg_range" --predictions "$WORK/seg_gt" --classes 2
expect seg_missing_pred 5 "cannot open label PNG" -- "$EI" eval --segmentation "$WORK/seg_gt" --predictions "$WORK/nope" --classes 2
expect seg_needs_classes 2 "needs both --predictions DIR and --classes N" -- "$EI" eval --segmentation "$WORK/seg_gt" --predictions "$WORK/seg_gt"
expect seg_ok 0 "mIoU = 1.0000" -- "$EI" eval --segmentation "$WORK/seg_gt" --predictions "$WORK/seg_gt" --classes 2
expect seg_model 0 "mIoU = " -- "$EI" eval -c "$WORK/tseg.ini" --segmentation "$WORK/seg_labels" --images "$WORK/images" --json "$WORK/s.json"
expect seg_model_json 0 "" -- "$PY" -c "import json; r = json.load(open('$WORK/s.json'))['results'][0]; assert r['images'] == 2 and len(r['classes']) == 2 and 0 <= r['miou'] <= 1"
expect seg_model_wrong_size 3 "is 60x40 but the image" -- "$EI" eval -c "$WORK/tseg.ini" --segmentation "$WORK/seg_labels_small" --images "$WORK/images"
expect seg_model_missing_label 5 "cannot open label PNG" -- "$EI" eval -c "$WORK/tseg.ini" --segmentation "$WORK/seg_gt" --images "$WORK/images"
expect seg_precision_table 0 "mIoU" -- "$EI" eval -c "$WORK/tseg.ini" --segmentation "$WORK/seg_labels" --images "$WORK/images" --precision fp32 --plot "$WORK/seg_plot.png" --quiet
expect seg_plot 0 "" -- test -s "$WORK/seg_plot.png"
expect detector_for_seg 3 "is not a segmentation network" -- "$EI" eval -c "$WORK/det.ini" --segmentation "$WORK/seg_gt" --images "$WORK/images"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
