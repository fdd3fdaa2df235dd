#!/usr/bin/env bash
# `edgeinfer build --precision bf16|fp16`: what it prints (what is stored, that compute stays fp32
# here), the engine half the size of the weights, and `info` / `bench` showing the precision.
# usage: cli_half.sh EDGEINFER SOURCE_DIR WORKDIR
set -u
EI=$1 SRC=$2 WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
MODEL=$SRC/models/tiny_cnn.onnx
pass=0 fail=0
check() { # NAME OUTPUT SUBSTRING
  if grep -qF -- "$3" <<<"$2" && ! grep -qE "AddressSanitizer|runtime error|LeakSanitizer" <<<"$2"; then
    pass=$((pass+1)); echo "ok   $1"
  else
    fail=$((fail+1)); echo "FAIL $1: no '$3' in:"; echo "$2" | head -20 | sed 's/^/     /'
  fi
}
out=$("$EI" build "$MODEL" -o "$WORK/fp32.engine" 2>&1)
check build_fp32 "$out" "built"
for p in bf16 fp16; do
  out=$("$EI" build "$MODEL" -o "$WORK/$p.engine" --precision $p 2>&1)
  check "build_$p" "$out" "stored in $p"
  check "build_${p}_fp32_note" "$out" "compute stays fp32, so this engine is no faster than fp32"
  check "build_${p}_kept_layers" "$out" "LayerNorm, Softmax, reductions"
  out=$("$EI" info "$WORK/$p.engine" 2>&1)
  check "info_$p" "$out" "precision: $p"
  out=$("$EI" bench "$WORK/$p.engine" --iterations 3 --warmup 1 2>&1)
  check "bench_$p" "$out" "(engine file, $p)"
  out=$("$EI" build "$MODEL" --cache "$WORK/cache" --precision $p 2>&1)
  check "cache_$p" "$out" "stored in $p"
done
s32=$(stat -c %s "$WORK/fp32.engine") s16=$(stat -c %s "$WORK/bf16.engine")
if [ "$s16" -lt "$s32" ]; then pass=$((pass+1)); echo "ok   smaller ($s16 < $s32 bytes)"
else fail=$((fail+1)); echo "FAIL smaller: bf16 $s16 bytes, fp32 $s32"; fi
out=$("$EI" build "$MODEL" -o "$WORK/x.engine" --precision fp8 2>&1); rc=$?
if [ $rc -eq 2 ]; then check bad_precision "$out" "not 'fp8'"; else fail=$((fail+1)); echo "FAIL bad_precision rc=$rc"; fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
