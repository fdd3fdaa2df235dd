#!/bin/bash
# Real pipelines through `edgeinfer run APP.ini` (docs/app-run.md) with the demo shapes detector
# (configs/demo_shapes.ini): UDP RTP H.264/H.265 in, 2 and 4 sources batched by edgemux, file to file.
# usage: app_streams_test.sh CASE EDGEINFER WORKDIR SOURCE_DIR PYTHON [UDP_PORT]
set -u
case_name=$1
EI=$2
W=$3
SRC=$4
PY=$5
PORT=${6:-5600}
if [ -x "$PY" ]; then PY=$(realpath -s "$PY"); else PY=python3; fi
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
command -v gst-launch-1.0 > /dev/null || { echo "skip: gst-launch-1.0 missing"; exit 77; }
GIE=$SRC/configs/demo_shapes.ini
[ -f "$GIE" ] || { echo "FAIL: $GIE missing"; exit 1; }

fail() {
    echo "FAIL [$case_name]: $*"
    for f in *.log; do [ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; }; done
    exit 1
}
check() { echo "check: $*"; }

# Decoded frames of an MP4 (0 when it does not parse: an unfinalised file has no moov).
frames_of() {
    timeout 120 gst-launch-1.0 filesrc location="$1" ! qtdemux ! h264parse ! avdec_h264 ! fakesink silent=false -v 2>/dev/null |
        grep -c "chain"
}
# "WxH" of the decoded MP4
size_of() {
    timeout 60 gst-launch-1.0 -v filesrc location="$1" ! qtdemux ! h264parse ! avdec_h264 ! fakesink num-buffers=1 2>/dev/null |
        grep -o "video/x-raw.*" | head -1 | sed -E 's/.*width=\(int\)([0-9]+).*height=\(int\)([0-9]+).*/\1x\2/'
}
# JSON Lines statistics: PY -c with the file
jsonl_py() { "$PY" -c "$1" "$2"; }

# Run the app in the background on app.ini; its pid in APP_PID. --foreground: GNU timeout passes a
# signal it receives to the app and, without it, to the whole process group as well, so the app
# would see a second SIGINT (which means "stop now") while it finalises its files.
start_app() {
    # --eos-timeout 60: after SIGINT the frames already queued are still inferred before EOS reaches
    # the MP4 (seconds in the sanitizer build on a loaded machine; the default 5 s cut it short)
    timeout --foreground -s INT -k 20 "$1" "$EI" run app.ini --eos-timeout 60 "${@:2}" > run.log 2>&1 &
    APP_PID=$!
}

make_test_mp4() { # FILE FRAMES
    timeout 120 gst-launch-1.0 -q videotestsrc num-buffers="$2" pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! \
        x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! filesink location="$1" || fail "making $1"
}

case $case_name in
udp_h264 | udp_h265)
    N=100
    if [ $case_name = udp_h264 ]; then codec=1; ENC="x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay config-interval=1 pt=96"
    else codec=2; ENC="x265enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph265pay config-interval=1 pt=96"; fi
    gst-inspect-1.0 ${ENC%% *} > /dev/null 2>&1 || { echo "skip: ${ENC%% *} missing"; exit 77; }
    cat > app.ini <<INI
[application]
jsonl-output-file=out.jsonl
[source0]
enable=1
type=100
udp-port=$PORT
codec=$codec
latency=200
rtsp-reconnect-interval-sec=0
[streammux]
batch-size=1
[primary-gie]
enable=1
config-file=$GIE
[osd]
enable=1
[sink0]
enable=1
type=3
container=1
codec=1
sync=0
output-file=out.mp4
INI
    start_app 180 --perf-interval 1
    # the app's udpsrc listens once its main loop runs (the first **PERF line); start-up can take
    # seconds in the sanitizer build (edgeinfer re-executes itself for its OpenMP policy)
    for _ in $(seq 600); do
        grep -q "^\*\*PERF" run.log 2>/dev/null && break
        kill -0 $APP_PID 2> /dev/null || break
        sleep 0.1
    done
    kill -0 $APP_PID 2> /dev/null || { wait $APP_PID; fail "the app ended before the sender started (exit $?)"; }
    grep -q "^\*\*PERF" run.log || fail "the app did not start within 60 s"
    echo "sending $N frames ($ENC) to 127.0.0.1:$PORT"
    timeout 120 gst-launch-1.0 -q videotestsrc num-buffers=$N is-live=true pattern=ball ! \
        video/x-raw,width=320,height=240,framerate=25/1 ! $ENC ! udpsink host=127.0.0.1 port=$PORT > sender.log 2>&1 ||
        fail "the sender failed"
    sleep 2 # the jitter buffer and inference drain
    kill -INT $APP_PID
    wait $APP_PID; rc=$?
    check "exit code 0 after SIGINT"
    [ $rc = 0 ] || fail "app exit $rc, expected 0"
    nrec=$(wc -l < out.jsonl)
    check "out.jsonl has >= 0.8*$N records (got $nrec)"
    [ "$nrec" -ge $((N * 8 / 10)) ] || fail "out.jsonl has $nrec records, expected >= $((N * 8 / 10))"
    nf=$(frames_of out.mp4)
    check "out.mp4 decodes to as many frames as JSON records ($nf vs $nrec)"
    [ "$nf" = "$nrec" ] || fail "out.mp4 decodes to $nf frames, out.jsonl has $nrec records"
    sz=$(size_of out.mp4)
    check "out.mp4 is 320x240 (got $sz)"
    [ "$sz" = 320x240 ] || fail "out.mp4 is $sz, expected 320x240"
    ;;
sources2 | sources4)
    NS=${case_name#sources}
    F=40
    make_test_mp4 in.mp4 $F
    {
        printf '[application]\njsonl-output-file=out.jsonl\n'
        # two sources: one [sourceK] group each; four: one multi-URI group (type=3, num-sources)
        if [ $NS = 2 ]; then
            for ((k = 0; k < NS; k++)); do printf '[source%d]\nenable=1\ntype=2\nuri=in.mp4\n' $k; done
        else
            printf '[source0]\nenable=1\ntype=3\nuri=in.mp4\nnum-sources=%d\n' $NS
        fi
        printf '[streammux]\nbatch-size=%d\nbatched-push-timeout=40000\n' $NS
        # The shapes detector's graph fixes batch 1 (as YOLOX-nano's, configs/app/yolox_4_tiled.ini):
        # edgeinfer runs the muxer's N-frame batches one frame at a time.
        printf '[primary-gie]\nenable=1\nconfig-file=%s\nbatch-size=1\n' "$GIE"
        printf '[osd]\nenable=1\n'
    } > base.ini
    if [ $NS = 2 ]; then TW=640; TH=240; else TW=640; TH=480; fi
    { cat base.ini; printf '[tiled-display]\nenable=1\nwidth=%d\nheight=%d\n' $TW $TH
      printf '[sink0]\nenable=1\ntype=3\ncontainer=1\ncodec=1\nsync=0\noutput-file=tiled.mp4\n'; } > app.ini
    echo "run 1: $NS sources of $F frames, batch-size $NS, tiled ${TW}x${TH} into tiled.mp4"
    timeout -s INT -k 20 240 "$EI" run app.ini --quiet --perf-json perf1.json > run.log 2>&1; rc=$?
    check "exit code 0"
    [ $rc = 0 ] || fail "exit $rc, expected 0"
    check "out.jsonl: exactly $F records per source 0..$((NS - 1)), frame numbers 0..$((F - 1)) each"
    msg=$(jsonl_py "
import json, sys
from collections import defaultdict
fr = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line); fr[r['source_id']].append(r['frame'])
ns, f = $NS, $F
bad = []
if sorted(fr) != list(range(ns)): bad.append('source ids %s, expected 0..%d' % (sorted(fr), ns - 1))
for s in range(ns):
    if sorted(fr.get(s, [])) != list(range(f)):
        bad.append('source %d: %d records, frames %s' % (s, len(fr.get(s, [])), sorted(set(fr.get(s, [])))[:5]))
print('; '.join(bad))
" out.jsonl) || fail "out.jsonl does not parse"
    [ -z "$msg" ] || fail "out.jsonl: $msg"
    nf=$(frames_of tiled.mp4)
    check "tiled.mp4 decodes to $F (+-1) frames (got $nf)"
    [ "$nf" -ge $((F - 1)) ] && [ "$nf" -le $((F + 1)) ] || fail "tiled.mp4 decodes to $nf frames, expected $F +-1"
    sz=$(size_of tiled.mp4)
    check "tiled.mp4 is ${TW}x${TH} (got $sz)"
    [ "$sz" = "${TW}x${TH}" ] || fail "tiled.mp4 is $sz, expected ${TW}x${TH}"

    # run 2: no tiler, one fake sink per source
    { cat base.ini; printf '[tiled-display]\nenable=0\n'
      for ((k = 0; k < NS; k++)); do printf '[sink%d]\nenable=1\ntype=1\nsync=0\nsource-id=%d\n' $k $k; done; } > app.ini
    rm -f out.jsonl
    echo "run 2: $NS sources, tiled-display off, one fake sink per source-id"
    timeout -s INT -k 20 240 "$EI" run app.ini --quiet --perf-json perf2.json > run2.log 2>&1; rc=$?
    check "exit code 0"
    [ $rc = 0 ] || fail "run 2 (fake sinks): exit $rc, expected 0"
    check "perf2.json: $NS sources with $F frames each"
    "$PY" -c "import json,sys; d=json.load(open('perf2.json')); s=d['sources']; sys.exit(0 if [x['frames'] for x in s]==[$F]*$NS else 1)" ||
        fail "perf2.json: sources are not $NS x $F frames: $(cat perf2.json)"
    ;;
file_to_file)
    F=50
    "$PY" -c "import cv2, numpy" 2> /dev/null || { echo "skip: $PY lacks cv2/numpy for make_video.py (scripts/setup.sh)"; exit 77; }
    timeout 180 "$PY" "$SRC/models/shapes/make_video.py" --out in.mp4 --seconds 2 --fps 25 --width 640 --height 360 > make.log 2>&1 ||
        fail "make_video.py failed"
    nin=$(frames_of in.mp4)
    [ "$nin" = $F ] || fail "the input in.mp4 has $nin frames, expected $F"
    cat > app.ini <<INI
[application]
jsonl-output-file=out.jsonl
[source0]
enable=1
type=2
uri=in.mp4
[streammux]
batch-size=1
[primary-gie]
enable=1
config-file=$GIE
[osd]
enable=1
[sink0]
enable=1
type=3
container=1
codec=1
sync=0
output-file=out.mp4
INI
    timeout -s INT -k 20 240 "$EI" run app.ini --quiet > run.log 2>&1; rc=$?
    check "exit code 0"
    [ $rc = 0 ] || fail "exit $rc, expected 0"
    nf=$(frames_of out.mp4)
    check "out.mp4 decodes to exactly $F frames (got $nf)"
    [ "$nf" = $F ] || fail "out.mp4 decodes to $nf frames, expected $F"
    sz=$(size_of out.mp4)
    check "out.mp4 is 640x360, the input size (got $sz)"
    [ "$sz" = 640x360 ] || fail "out.mp4 is $sz, expected 640x360"
    check "out.jsonl: $F records, frames 0..$((F - 1)), most frames (>= 80%) with >= 1 object"
    msg=$(jsonl_py "
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
f = $F
bad = []
if sorted(r['frame'] for r in recs) != list(range(f)): bad.append('%d records, expected frames 0..%d' % (len(recs), f - 1))
withobj = sum(1 for r in recs if len(r.get('objects', [])) >= 1)
if withobj < 0.8 * f: bad.append('only %d of %d frames have an object' % (withobj, len(recs)))
print('; '.join(bad))
" out.jsonl) || fail "out.jsonl does not parse"
    [ -z "$msg" ] || fail "out.jsonl: $msg"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
echo "PASS [$case_name]"
exit 0
