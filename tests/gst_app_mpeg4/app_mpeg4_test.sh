#!/bin/bash
# `edgeinfer run APP.ini` with a codec=3 (MPEG-4 part 2) file sink, file source -> shapes detector ->
# OSD -> avenc_mpeg4 (docs/app-config.md). Checks: exit 0, --print-pipeline shows avenc_mpeg4 !
# mpeg4videoparse ! the container's muxer, the output is MPEG-4 part 2 in that container and decodes
# to exactly the input's frames at the input's size, and the source's avdec_h264 runs with the
# max-threads decoder-threads gives (--dot: the running pipeline's non-default properties).
#   mp4: container=1, bitrate=2000000, decoder-threads left to the app (1 on <= 4 cores, else libav's)
#   mkv: container=2, no bitrate (a constant quantizer), decoder-threads=2
# usage: app_mpeg4_test.sh CASE EDGEINFER WORKDIR SOURCE_DIR
set -u
case_name=$1
EI=$2
W=$3
SRC=$4
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
command -v gst-launch-1.0 > /dev/null || { echo "skip: gst-launch-1.0 missing"; exit 77; }
for e in avenc_mpeg4 mpeg4videoparse avdec_mpeg4 x264enc; do
    gst-inspect-1.0 $e > /dev/null 2>&1 || { echo "skip: GStreamer element $e missing (gstreamer1.0-libav, -ugly)"; exit 77; }
done
GIE=$SRC/configs/demo_shapes.ini
[ -f "$GIE" ] || { echo "FAIL: $GIE missing"; exit 1; }
F=50

fail() {
    echo "FAIL [$case_name]: $*"
    for f in *.log; do [ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; }; done
    exit 1
}
check() { echo "check: $*"; }

case $case_name in
mp4) ext=mp4; container=1; demux=qtdemux; extra="bitrate=2000000"; enc_opt=$extra; dec_threads=""; mux=mp4mux ;;
mkv) ext=mkv; container=2; demux=matroskademux; extra=""; enc_opt="pass=quant qmin=4 qmax=4"; dec_threads="decoder-threads=2"; mux=matroskamux ;;
*) fail "unknown case $case_name" ;;
esac

timeout 120 gst-launch-1.0 -q videotestsrc num-buffers=$F pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! \
    x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! filesink location=in.mp4 || fail "making in.mp4"
cat > app.ini <<INI
[source0]
enable=1
type=2
uri=in.mp4
$dec_threads
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
container=$container
codec=3
$extra
sync=0
output-file=out.$ext
INI
timeout -s INT -k 20 240 "$EI" run app.ini --quiet --print-pipeline --dot dot > run.log 2>&1; rc=$?
check "exit code 0"
[ $rc = 0 ] || fail "exit $rc, expected 0"
check "--print-pipeline: avenc_mpeg4 ! mpeg4videoparse ! $mux"
grep -q "avenc_mpeg4 name=enc0 $enc_opt ! mpeg4videoparse ! $mux ! filesink name=sink0" run.log ||
    fail "the printed pipeline lacks the MPEG-4 encoder chain"

# Frames of the output and its caps, decoded as MPEG-4 part 2 (fails for any other codec).
timeout 120 gst-launch-1.0 -v filesrc location=out.$ext ! $demux ! mpeg4videoparse ! avdec_mpeg4 ! \
    fakesink silent=false > decode.log 2>&1 || fail "out.$ext does not decode as MPEG-4 part 2 in $demux"
nf=$(grep -c "chain" decode.log)
check "out.$ext decodes to exactly $F frames (got $nf)"
[ "$nf" = $F ] || fail "out.$ext decodes to $nf frames, expected $F"
check "out.$ext holds video/mpeg, mpegversion 4, 320x240"
grep -q "video/mpeg.*mpegversion=(int)4" decode.log || fail "no video/mpeg mpegversion=4 stream in out.$ext"
grep "avdec_mpeg4.*src.*video/x-raw" decode.log | grep -q "width=(int)320, height=(int)240" ||
    fail "out.$ext is not 320x240"

# The source's decoder in the running pipeline: max-threads shows among the non-default properties.
dotf=dot/pipeline-playing.dot
[ -f $dotf ] || fail "no $dotf"
line=$(grep -o 'label="avdec_h264\\navdec_h264[^"]*"' $dotf | head -1)
[ -n "$line" ] || fail "no avdec_h264 in $dotf"
if [ -n "$dec_threads" ]; then want=2; elif [ "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)" -le 4 ]; then want=1; else want=0; fi
check "avdec_h264 runs with max-threads=$want"
if [ $want = 0 ]; then
    echo "$line" | grep -q "max-threads=" && fail "avdec_h264 has max-threads set; expected libav's default: $line"
else
    echo "$line" | grep -Eq "max-threads=$want(\\\\n|\")" || fail "avdec_h264 lacks max-threads=$want: $line"
fi
echo "PASS [$case_name]"
exit 0
