#!/bin/bash
# Tests of `edgeinfer run` (docs/app-run.md) on --pipeline descriptions of stock elements.
# usage: app_run_test.sh CASE EDGEINFER WORKDIR [PYTHON]
set -u
case_name=$1
EI=$2
W=$3
PY=${4:-python3}
[ -x "$PY" ] || PY=python3
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
command -v gst-launch-1.0 > /dev/null || { echo "skip: gst-launch-1.0 missing"; exit 77; }

fail() { echo "FAIL: $*"; for f in *.log; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }

# Decoded frames of an MP4 (0 when it does not parse: an unfinalised file has no moov).
frames_of() {
    gst-launch-1.0 filesrc location="$1" ! qtdemux ! h264parse ! avdec_h264 ! fakesink silent=false -v 2>/dev/null |
        grep -c "chain"
}

ENC="videoconvert ! x264enc speed-preset=ultrafast tune=zerolatency name=enc0 ! h264parse ! mp4mux ! filesink name=sink0"
CAPS="video/x-raw,width=160,height=120,framerate=30/1"

case $case_name in
options)
    "$EI" run --help > help.log 2>&1 || fail "--help exit"
    grep -q "edgeinfer run APP.ini" help.log || fail "--help lacks the APP.ini form"
    grep -q "edgeinfer run MODEL.onnx" help.log || fail "--help lacks the model form"
    "$EI" run missing.ini > missing.log 2>&1; rc=$?
    [ $rc = 5 ] || fail "missing APP.ini: exit $rc, expected 5"
    grep -q "missing.ini" missing.log || fail "missing APP.ini: message does not name the file"
    "$EI" run --pipeline "videotestsrc name=src0 ! fakesink" --bogus > bogus.log 2>&1; rc=$?
    [ $rc = 2 ] || fail "unknown option: exit $rc, expected 2"
    "$EI" run --pipeline "videotestsrc name=src0 ! nosuchelement ! fakesink" > parse.log 2>&1; rc=$?
    [ $rc = 3 ] || fail "bad description: exit $rc, expected 3"
    grep -q nosuchelement parse.log || fail "bad description: message does not name the element"
    "$EI" run --pipeline "videotestsrc name=src0 num-buffers=5 ! fakesink" --print-pipeline --dry-run > dry.log 2>&1 ||
        fail "--dry-run exit"
    grep -q "videotestsrc name=src0" dry.log || fail "--print-pipeline does not print the description"
    grep -q "PERF SUMMARY" dry.log && fail "--dry-run ran the pipeline"
    "$EI" run --pipeline "videotestsrc name=src0 num-buffers=5 ! fakesink" --dry-run > dry2.log 2>&1; rc=$?
    [ $rc = 2 ] || fail "--dry-run without --print-pipeline: exit $rc, expected 2"
    # an error outside the sources stops the run with exit 1
    "$EI" run --pipeline "videotestsrc name=src0 num-buffers=10 ! filesink location=$W/no/such/dir/x" > err.log 2>&1; rc=$?
    [ $rc = 1 ] || fail "sink error: exit $rc, expected 1"
    grep -q "error: filesink" err.log || fail "sink error: message does not name the element"
    ;;
source_error)
    # source 1 fails mid-stream: its 11th JPEG is cut short (jpegdec errors); source 0 goes on
    mkdir jpg
    gst-launch-1.0 -q videotestsrc num-buffers=20 pattern=ball ! video/x-raw,width=160,height=120 ! jpegenc ! \
        multifilesink location=jpg/f%03d.jpg || fail "making JPEGs"
    head -c 20 jpg/f009.jpg > jpg/f010.jpg
    "$EI" run --perf-json perf.json --pipeline "videotestsrc name=src0 num-buffers=60 ! $CAPS ! compositor name=mux ! $ENC location=out.mp4 \
        ( name=src1 multifilesrc location=jpg/f%03d.jpg index=0 caps=image/jpeg,framerate=30/1 ! jpegdec max-errors=0 ! videoconvert ) ! mux." \
        > run.log 2>&1; rc=$?
    [ $rc = 0 ] || fail "exit $rc, expected 0 (one source of two failed)"
    grep -q "warning: source 1 ended" run.log || fail "no 'source 1 ended' message"
    n=$(frames_of out.mp4)
    [ "$n" = 60 ] || fail "out.mp4 has $n frames, expected 60 (finalised, every frame of source 0)"
    "$PY" -c "import json,sys; d=json.load(open('perf.json')); s=d['sources']; sys.exit(0 if s[0]['frames']==60 and s[1]['frames']==10 else 1)" ||
        fail "perf.json: per-source frames are not 60 and 10: $(cat perf.json)"

    # source 1 is a truncated MP4 (cut with head -c: no moov) that fails at once
    gst-launch-1.0 -q videotestsrc num-buffers=30 ! $CAPS ! x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! \
        filesink location=full.mp4 || fail "making the MP4"
    head -c $(( $(stat -c %s full.mp4) / 2 )) full.mp4 > cut.mp4
    "$EI" run --pipeline "videotestsrc name=src0 num-buffers=45 ! $CAPS ! compositor name=mux ! $ENC location=out2.mp4 \
        uridecodebin name=src1 uri=file://$W/cut.mp4 ! videoconvert ! videoscale ! $CAPS ! mux." > run2.log 2>&1; rc=$?
    [ $rc = 0 ] || fail "truncated MP4: exit $rc, expected 0"
    grep -q "warning: source 1 ended" run2.log || fail "truncated MP4: no 'source 1 ended' message"
    n=$(frames_of out2.mp4)
    [ "$n" = 45 ] || fail "truncated MP4: out2.mp4 has $n frames, expected 45"

    # every source fails: exit 1
    "$EI" run --eos-timeout 2 --pipeline "uridecodebin name=src0 uri=file://$W/cut.mp4 ! fakesink" > run3.log 2>&1; rc=$?
    [ $rc = 1 ] || fail "every source failed: exit $rc, expected 1"
    grep -q "every source failed" run3.log || fail "no 'every source failed' message"
    ;;
sigint)
    "$EI" run --pipeline "videotestsrc name=src0 is-live=true ! $CAPS ! $ENC location=live.mp4" > run.log 2>&1 &
    pid=$!
    sleep 2
    kill -INT $pid
    wait $pid; rc=$?
    [ $rc = 0 ] || fail "SIGINT: exit $rc, expected 0"
    grep -q "interrupted" run.log || fail "no 'interrupted' message"
    n=$(frames_of live.mp4)
    [ "$n" -gt 10 ] || fail "live.mp4 has $n frames: not finalised"
    ;;
perf)
    "$EI" run --perf-interval 1 --perf-json perf.json --dot dot --pipeline \
        "videotestsrc name=src0 is-live=true num-buffers=75 ! $CAPS ! $ENC location=out.mp4 \
         videotestsrc name=src1 is-live=true num-buffers=75 pattern=ball ! $CAPS ! fakesink sync=true" > run.log 2>&1; rc=$?
    [ $rc = 0 ] || fail "exit $rc"
    grep -q "^\*\*PERF:  FPS 0 (Avg)	FPS 1 (Avg)" run.log || fail "no **PERF header line"
    grep -qE "^\*\*PERF:  [0-9]+\.[0-9]+ \([0-9]+\.[0-9]+\)	[0-9]+\.[0-9]+ \([0-9]+\.[0-9]+\)" run.log || fail "no **PERF values line"
    grep -q "^\*\*PERF SUMMARY: 150 frames from 2 sources" run.log || fail "no summary with 150 frames"
    for st in decode preprocess inference postprocess osd; do grep -qE "^  $st +[0-9]" run.log || fail "no $st row"; done
    grep -qE "^  encode +75 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +100\.0%" run.log || fail "encode row is not 75 frames, 100%"
    "$PY" - <<'PYEOF' || fail "perf.json: $(cat perf.json)"
import json
d = json.load(open("perf.json"))
assert d["frames"] == 150, d["frames"]
assert [s["frames"] for s in d["sources"]] == [75, 75]
assert d["fps"] > 0 and d["wall_s"] > 0
assert set(d["stages"]) == {"decode", "preprocess", "inference", "postprocess", "osd", "encode"}
e = d["stages"]["encode"]
assert e["frames"] == 75 and 0 < e["median_ms"] <= e["p90_ms"] <= e["p99_ms"] and abs(e["share"] - 1) < 1e-6, e
assert d["stages"]["inference"]["median_ms"] is None
PYEOF
    for s in playing end; do grep -q "digraph" dot/pipeline-$s.dot || fail "no dot/pipeline-$s.dot"; done
    [ "$(frames_of out.mp4)" = 75 ] || fail "out.mp4 does not have 75 frames"
    ;;
udp_wait)
    # a UDP source without data waits (does not end the run); SIGINT ends it
    port=$(( 40000 + RANDOM % 20000 ))
    "$EI" run --reconnect-interval 1 --pipeline "udpsrc name=src0 port=$port ! fakesink" > run.log 2>&1 &
    pid=$!
    sleep 3
    kill -INT $pid
    wait $pid; rc=$?
    [ $rc = 0 ] || fail "exit $rc, expected 0"
    grep -q "source 0: no data for 1 s, waiting" run.log || fail "no 'no data ... waiting' message"
    ;;
reconnect_giveup)
    # a source that cannot start is restarted with back-off, then ended when its attempts are spent
    "$EI" run --eos-timeout 1 --reconnect-interval 1 --reconnect-attempts 2 \
        --pipeline "udpsrc name=src0 address=203.0.113.7 port=5000 ! fakesink" > run.log 2>&1; rc=$?
    [ $rc = 1 ] || fail "exit $rc, expected 1 (the only source failed)"
    grep -q "reconnecting in 1 s (attempt 1 of 2)" run.log || fail "no first attempt"
    grep -q "reconnecting in 2 s (attempt 2 of 2)" run.log || fail "no doubled back-off"
    grep -q "gave up after 2 reconnect attempts" run.log || fail "no 'gave up'"
    ;;
config)
    # a real APP.ini: an MP4 and an image folder (fed by the runner) through edgemux, edgeosd,
    # edgedemux and the tiler into an MP4 in a folder the runner creates
    mkdir imgs
    gst-launch-1.0 -q videotestsrc num-buffers=30 ! $CAPS ! x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! \
        filesink location=in.mp4 || fail "making the MP4"
    gst-launch-1.0 -q videotestsrc num-buffers=12 pattern=ball ! video/x-raw,width=160,height=120 ! jpegenc ! \
        multifilesink location=imgs/i%03d.jpg || fail "making JPEGs"
    printf 'not an image' > imgs/zz_broken.jpg
    cat > app.ini <<'INI'
[application]
enable-perf-measurement=1
perf-measurement-interval-sec=1
[source0]
enable=1
type=2
uri=in.mp4
[source1]
enable=1
type=101
dir=imgs
[streammux]
batch-size=2
width=160
height=120
[osd]
enable=1
[tiled-display]
enable=1
rows=1
columns=2
width=320
height=120
[sink0]
enable=1
type=3
container=1
codec=1
output-file=out/tiled.mp4
INI
    "$EI" run app.ini --print-pipeline --perf-json perf.json > run.log 2>&1; rc=$?
    [ $rc = 0 ] || fail "exit $rc"
    grep -q "appsrc name=src1" run.log || fail "--print-pipeline does not show the pipeline"
    grep -q "skipping .*zz_broken.jpg" run.log || fail "the broken image is not reported"
    "$PY" -c "import json,sys; d=json.load(open('perf.json')); sys.exit(0 if [s['frames'] for s in d['sources']]==[30,12] else 1)" ||
        fail "perf.json: sources are not 30 and 12 frames: $(cat perf.json)"
    [ "$(frames_of out/tiled.mp4)" -ge 30 ] || fail "out/tiled.mp4 does not have 30 frames"
    # --jsonl adds the JSON output: one record per frame
    "$EI" run app.ini --quiet --jsonl out/r.jsonl > jsonl.log 2>&1 || fail "--jsonl: exit $?"
    [ "$(wc -l < out/r.jsonl)" = 42 ] || fail "--jsonl: $(wc -l < out/r.jsonl) records, expected 42"
    # a bad value: exit 3, the message names the group and key
    sed 's/^batch-size=2/batch-size=two/' app.ini > bad.ini
    "$EI" run bad.ini > bad.log 2>&1; rc=$?
    [ $rc = 3 ] || fail "bad config: exit $rc, expected 3"
    grep -q "streammux" bad.log && grep -q "batch-size" bad.log || fail "bad config: message lacks group and key"
    ;;
*)
    echo "unknown case $case_name"; exit 2 ;;
esac
echo "ok: $case_name"
