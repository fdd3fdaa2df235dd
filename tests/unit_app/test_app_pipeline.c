/* The pipeline description of app configs: 1, 2 and 4 sources, tiled or not, file/UDP/fake/display
 * sinks, every source type; each description is parsed by gst_parse_launch (fully where the edgeinfer
 * elements are registered; where one is missing, the parse must fail only for that element, never
 * on syntax). Values with spaces and quotes survive quoting; drop probes keep 1 of N buffers. */
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "app_config.h"
#include "app_pipeline.h"
#include "ei_test.h"
#include "gsteielements.h"

static void quiet(void * user, const char * msg) {
    (void)user;
    (void)msg;
}

static ei_app_config * parse(const char * text) {
    ei_app_config * cfg = NULL;
    ei_status *     st = ei_app_config_parse(text, strlen(text), "app.ini", "/data/cfg dir", quiet, NULL, &cfg);
    if (st) fprintf(stderr, "parse: %s\n", ei_status_message(st));
    EI_CHECK(st == NULL);
    ei_status_destroy(st);
    return cfg;
}

static int edge_elements_present(void) {
    static const char * const names[] = {"edgemux", "edgeinfer", "edgeosd", "edgejson", "edgedemux"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        GstElementFactory * f = gst_element_factory_find(names[i]);
        if (!f) return 0;
        gst_object_unref(f);
    }
    return 1;
}

/* gst_parse_launch on the description. Elements this machine lacks (edge* before they land, or a
 * plugin like v4l2src) may only fail as "no element"; anything else is a bad description. */
static void check_parses(const char * desc) {
    GError *     err = NULL;
    GstElement * p = gst_parse_launch(desc, &err);
    if (err) {
        int missing = err->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT;
        int edge = missing && strstr(err->message, "\"edge");
        if (!(edge && !edge_elements_present()) && !(missing && strstr(err->message, "v4l2src")))
            fprintf(stderr, "gst_parse_launch: %s\n  on: %s\n", err->message, desc);
        EI_CHECK(missing);
        g_error_free(err);
    }
    if (p) {
        EI_CHECK(GST_IS_BIN(p));
        gst_object_unref(p);
    } else {
        EI_CHECK(err != NULL);
    }
}

/* The description with its edgeinfer part (the first chain, mux to demux) swapped for stand-ins with
 * the same pad names (funnel: sink_%u, tee: src_%u), parsed with every link checked: this checks the
 * sources, tiler, tees and sinks even before the edgeinfer elements exist. */
static void check_parses_standins(const char * desc) {
    const char * end = strstr(desc, "edgedemux name=demux");
    EI_CHECK(end != NULL);
    if (!end) return;
    char *       swapped = g_strconcat("funnel name=mux ! tee name=demux", end + strlen("edgedemux name=demux"), NULL);
    GError *     err = NULL;
    GstElement * p = gst_parse_launch_full(swapped, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    int          ok = p && !err;
    if (!ok && err && err->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT && strstr(err->message, "v4l2src"))
        ok = 1; /* no video4linux plugin on this machine */
    if (!ok) fprintf(stderr, "stand-in parse: %s\n  on: %s\n", err ? err->message : "?", swapped);
    EI_CHECK(ok);
    if (err) g_error_free(err);
    if (p) gst_object_unref(p);
    g_free(swapped);
}

static char * describe(const ei_app_config * cfg) {
    ei_status * st = NULL;
    char *      d = ei_app_pipeline_describe(cfg, &st);
    EI_CHECK(d != NULL && st == NULL);
    ei_status_destroy(st);
    if (d) {
        check_parses(d);
        check_parses_standins(d);
    }
    return d;
}

#define HAS(d, s)                                                                                                      \
    do {                                                                                                               \
        if (!strstr((d), (s))) fprintf(stderr, "missing '%s' in: %s\n", (s), (d));                                     \
        EI_CHECK(strstr((d), (s)) != NULL);                                                                            \
    } while (0)

static void test_one_source_file(void) {
    ei_app_config * cfg = parse("[application]\njsonl-output-file=out/my det.jsonl\n"
                                "[source0]\ntype=2\nuri=../clips/car \"x\".mp4\n"
                                "[primary-gie]\nconfig-file=yolox nano.ini\ninterval=2\ngie-unique-id=3\n"
                                "[osd]\nborder-width=2\ntext-size=15\ndisplay-mask=0\n"
                                "[sink0]\ntype=3\ncontainer=1\ncodec=1\nbitrate=4000000\niframeinterval=30\n"
                                "output-file=out/car x.mp4\n");
    if (!cfg) return;
    char * d = describe(cfg);
    if (d) {
        HAS(d, "edgemux name=mux batch-size=1 batched-push-timeout=40000 ! edgeinfer name=infer "
               "config-file-path=\"/data/cfg dir/yolox nano.ini\" batch-size=1 interval=2 unique-id=3");
        HAS(d, "! edgeosd name=osd display-bbox=true display-text=true display-mask=false border-width=2 text-scale=2");
        HAS(d, "! edgejson name=json location=\"out/my det.jsonl\" ! edgedemux name=demux");
        HAS(d, "uridecodebin name=src0 uri=\"file:///data/clips/car%20%22x%22.mp4\" ! video/x-raw "
               "! queue ! videoconvert ! video/x-raw,format=I420 ! mux.sink_0");
        HAS(d, "demux.src_0 ! queue ! videoconvert ! video/x-raw,format=I420 ! x264enc name=enc0 bitrate=4000 "
               "speed-preset=ultrafast tune=zerolatency key-int-max=30 ! h264parse ! mp4mux ! filesink name=sink0 "
               "location=\"out/car x.mp4\" sync=false");
        EI_CHECK(!strstr(d, "tiler") && !strstr(d, "tee"));
    }
    g_free(d);
    ei_app_config_free(cfg);
}

static void test_two_sources_untiled(void) {
    ei_app_config * cfg = parse("[source0]\ntype=100\nudp-port=5000\n[source1]\ntype=udp\ncodec=2\nudp-port=5002\n"
                                "drop-frame-interval=3\n[streammux]\nwidth=640\nheight=480\nlive-source=1\n"
                                "[sink0]\ntype=1\nsource-id=0\n[sink1]\ntype=4\nsource-id=1\ncodec=2\nhost=10.0.0.2\n"
                                "udp-port=5400\nrtsp-port=8554\n[sink2]\ntype=3\ncontainer=2\ncodec=2\nsource-id=1\n"
                                "output-file=/tmp/o.mkv\n");
    if (!cfg) return;
    char * d = describe(cfg);
    if (d) {
        HAS(d, "edgemux name=mux batch-size=2 batched-push-timeout=40000 width=640 height=480 live-source=true ! "
               "edgedemux name=demux");
        HAS(d, "udpsrc name=src0 port=5000 caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H264\" "
               "! rtpjitterbuffer latency=100 ! rtph264depay ! h264parse ! avdec_h264 ! queue ! videoconvert ! "
               "videoscale ! video/x-raw,format=I420,width=640,height=480 ! mux.sink_0");
        HAS(d, "udpsrc name=src1 port=5002 caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H265\" "
               "! rtpjitterbuffer latency=100 ! rtph265depay ! h265parse ! avdec_h265 ! queue ! identity name=drop1 "
               "silent=true ! videoconvert");
        HAS(d, "demux.src_0 ! queue ! fakesink name=sink0 sync=false");
        HAS(d, "demux.src_1 ! tee name=tee1  tee1. ! queue ! videoconvert ! video/x-raw,format=I420 ! x265enc "
               "name=enc1 speed-preset=ultrafast tune=zerolatency ! rtph265pay config-interval=1 pt=96 ! udpsink "
               "name=sink1 host=\"10.0.0.2\" port=5400 sync=false async=false");
        HAS(d, "tee1. ! queue ! videoconvert ! video/x-raw,format=I420 ! x265enc name=enc2 speed-preset=ultrafast "
               "tune=zerolatency ! h265parse ! matroskamux ! filesink name=sink2 location=\"/tmp/o.mkv\"");
        EI_CHECK(!strstr(d, "edgeinfer") && !strstr(d, "edgeosd") && !strstr(d, "edgejson"));
        EI_CHECK(!strstr(d, "unshown"));
    }
    int                  n = 0;
    ei_app_rtsp_server * rs = ei_app_rtsp_servers(cfg, &n);
    EI_CHECK(n == 1);
    if (n == 1) {
        EI_CHECK(rs[0].sink_group == 1 && rs[0].rtsp_port == 8554 && rs[0].udp_port == 5400);
        EI_CHECK(!strcmp(rs[0].mount, "/ds-test"));
        HAS(rs[0].launch, "( udpsrc name=pay0 port=5400 ");
        HAS(rs[0].launch, "encoding-name=H265, payload=96\" )");
        check_parses(rs[0].launch);
    }
    ei_app_rtsp_servers_free(rs, n);
    g_free(d);
    ei_app_config_free(cfg);
}

/* A stream no sink shows ends in a fakesink of its own, so that the run waits for it too. */
static void test_unshown_stream(void) {
    ei_app_config * cfg = parse("[source0]\ntype=3\nuri=/v/a.mp4\nnum-sources=3\n[sink0]\ntype=1\nsource-id=1\n");
    if (!cfg) return;
    char * d = describe(cfg);
    if (d) {
        HAS(d, "demux.src_0 ! fakesink name=unshown0 sync=false async=false");
        HAS(d, "demux.src_1 ! queue ! fakesink name=sink0 sync=false");
        HAS(d, "demux.src_2 ! fakesink name=unshown2 sync=false async=false");
        EI_CHECK(!strstr(d, "unshown1"));
    }
    g_free(d);
    ei_app_config_free(cfg);
}

static void test_four_sources_tiled(void) {
    ei_app_config * cfg =
        parse("[source0]\ntype=3\nuri=/v/a.mp4\nnum-sources=3\n"
              "[source1]\ntype=4\nuri=rtsp://cam/live\nlatency=200\nselect-rtp-protocol=4\n"
              "[primary-gie]\nconfig-file=/c/m.ini\nmodel-engine-file=/c/m.engine\n"
              "[osd]\nenable=1\n[tiled-display]\nenable=1\nrows=2\ncolumns=2\nwidth=1280\nheight=720\n"
              "[sink0]\ntype=3\noutput-file=tiled.mp4\n[sink1]\ntype=1\n"
              "[sink2]\ntype=1\nlink-to-demux=1\nsource-id=2\n");
    if (!cfg) return;
    char * d = describe(cfg);
    if (d) {
        HAS(d, "edgemux name=mux batch-size=4 batched-push-timeout=40000 ! edgeinfer name=infer "
               "config-file-path=\"/c/m.ini\" model-engine-file=\"/c/m.engine\" batch-size=4 unique-id=1 threads=");
        for (int i = 0; i < 3; i++) {
            char want[128];
            g_snprintf(want, sizeof want, "uridecodebin name=src%d uri=\"file:///v/a.mp4\"", i);
            HAS(d, want);
        }
        HAS(d, "rtspsrc name=src3 location=\"rtsp://cam/live\" latency=200 protocols=tcp ! "
               "application/x-rtp,media=video ! decodebin name=dec3 ! video/x-raw ! queue ! videoconvert");
        HAS(d, "compositor name=tiler background=black sink_0::xpos=0 sink_0::ypos=0 sink_0::width=640 "
               "sink_0::height=360 sink_1::xpos=640 sink_1::ypos=0");
        HAS(d, "sink_3::xpos=640 sink_3::ypos=360 sink_3::width=640 sink_3::height=360 ! "
               "video/x-raw,width=1280,height=720 ! tee name=tiledtee");
        HAS(d, "tiledtee. ! queue ! videoconvert ! video/x-raw,format=I420 ! x264enc name=enc0");
        HAS(d, "tiledtee. ! queue ! fakesink name=sink1 sync=false");
        HAS(d, "demux.src_0 ! queue ! tiler.sink_0");
        HAS(d, "demux.src_3 ! queue ! tiler.sink_3");
        HAS(d, "demux.src_2 ! tee name=tee2  tee2. ! queue ! tiler.sink_2  tee2. ! queue ! fakesink name=sink2");
    }
    g_free(d);
    ei_app_config_free(cfg);

    /* Four streams, not tiled, one sink each; the camera and image-folder heads. */
    cfg = parse("[source0]\ntype=1\ncamera-v4l2-dev-node=/dev/video1\ncamera-width=640\ncamera-height=480\n"
                "camera-fps-n=30\ncamera-fps-d=1\n[source1]\ntype=101\ndir=images\n[source2]\ntype=2\nuri=/a.mp4\n"
                "[source3]\ntype=2\nuri=/b.mp4\n[sink0]\ntype=1\nsource-id=0\n[sink1]\ntype=1\nsource-id=1\n"
                "[sink2]\ntype=2\nsource-id=2\nwidth=320\nheight=240\n[sink3]\ntype=1\nsource-id=3\nsync=1\n");
    if (!cfg) return;
    d = describe(cfg);
    if (d) {
        HAS(d, "v4l2src name=src0 device=\"/dev/video1\" ! video/x-raw,width=640,height=480,framerate=30/1 ! queue");
        HAS(d, "appsrc name=src1 format=time ! queue ! videoconvert ! video/x-raw,format=I420 ! mux.sink_1");
        HAS(d, "demux.src_2 ! queue ! videoconvert ! videoscale ! video/x-raw,width=320,height=240 ! autovideosink "
               "name=sink2 sync=true");
        HAS(d, "demux.src_3 ! queue ! fakesink name=sink3 sync=true");
        EI_CHECK(!strstr(d, "tiler"));
    }
    g_free(d);
    ei_app_config_free(cfg);
}

static void test_quote(void) {
    char * q = ei_app_pipeline_quote("a b\"c\\d");
    EI_CHECK(!strcmp(q, "\"a b\\\"c\\\\d\""));
    /* The quoted value reaches the property unchanged. */
    char *       desc = g_strdup_printf("fakesrc ! filesink name=f location=%s", q);
    GError *     err = NULL;
    GstElement * p = gst_parse_launch(desc, &err);
    EI_CHECK(p && !err);
    if (p) {
        GstElement * f = gst_bin_get_by_name(GST_BIN(p), "f");
        char *       loc = NULL;
        g_object_get(f, "location", &loc, NULL);
        EI_CHECK(loc && !strcmp(loc, "a b\"c\\d"));
        g_free(loc);
        gst_object_unref(f);
        gst_object_unref(p);
    }
    if (err) g_error_free(err);
    g_free(desc);
    g_free(q);
}

static GstPadProbeReturn count_buffers(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    (void)info;
    (*(int *)user)++;
    return GST_PAD_PROBE_OK;
}

static void test_drop_probe(void) {
    ei_app_config * cfg = parse("[source0]\ntype=2\nuri=/a.mp4\ndrop-frame-interval=3\n[sink0]\ntype=1\n");
    if (!cfg) return;
    GError *     err = NULL;
    GstElement * p = gst_parse_launch("fakesrc num-buffers=10 ! identity name=drop0 ! fakesink name=sink0", &err);
    EI_CHECK(p && !err);
    if (!p) return;
    EI_CHECK(ei_app_pipeline_install_drops(p, cfg));
    int          seen = 0;
    GstElement * sink = gst_bin_get_by_name(GST_BIN(p), "sink0");
    GstPad *     pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &seen, NULL);
    gst_object_unref(pad);
    gst_object_unref(sink);
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *     bus = gst_element_get_bus(p);
    GstMessage * m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    EI_CHECK(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS);
    if (m) gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    EI_CHECK(seen == 4); /* buffers 0, 3, 6, 9 */
    gst_object_unref(p);
    /* A pipeline without the drop element is reported. */
    p = gst_parse_launch("fakesrc ! fakesink", NULL);
    EI_CHECK(p && !ei_app_pipeline_install_drops(p, cfg));
    if (p) gst_object_unref(p);
    ei_app_config_free(cfg);
}

/* Frames without a timestamp (a live RTP source under load): stamped from the previous frame, or
 * dropped when nothing earlier gives a time; and the probes sit on every stream's muxer pad. */
static GstBuffer * timed(GstClockTime pts, GstClockTime dur) {
    GstBuffer * b = gst_buffer_new();
    GST_BUFFER_PTS(b) = pts;
    GST_BUFFER_DURATION(b) = dur;
    return b;
}

static void test_stamps(void) {
    ei_app_stamp_state st = {0};
    ei_app_stamp_reset(&st);
    const GstClockTime ms = GST_MSECOND, none = GST_CLOCK_TIME_NONE;
    GstBuffer *        b = timed(none, 40 * ms); /* no earlier frame: dropped */
    EI_CHECK(!ei_app_stamp_buffer(&st, &b));
    gst_buffer_unref(b);
    b = timed(100 * ms, 40 * ms);
    EI_CHECK(ei_app_stamp_buffer(&st, &b) && GST_BUFFER_PTS(b) == 100 * ms);
    gst_buffer_unref(b);
    b = timed(none, none); /* the previous duration */
    EI_CHECK(ei_app_stamp_buffer(&st, &b) && GST_BUFFER_PTS(b) == 140 * ms);
    gst_buffer_unref(b);
    b = timed(none, 20 * ms); /* its own duration first */
    EI_CHECK(ei_app_stamp_buffer(&st, &b) && GST_BUFFER_PTS(b) == 160 * ms);
    gst_buffer_unref(b);
    b = timed(300 * ms, 40 * ms); /* timed frames pass untouched */
    GstBuffer * same = b;
    EI_CHECK(ei_app_stamp_buffer(&st, &b) && b == same && GST_BUFFER_PTS(b) == 300 * ms);
    gst_buffer_unref(b);
    EI_CHECK(st.stamped == 2 && st.dropped == 1);
    ei_app_stamp_reset(&st); /* a new segment: the old times do not carry over */
    b = timed(none, 40 * ms);
    EI_CHECK(!ei_app_stamp_buffer(&st, &b));
    gst_buffer_unref(b);
    ei_app_stamp_reset(&st);
    b = timed(0, none); /* a time but never a duration: a later untimed frame cannot be placed */
    EI_CHECK(ei_app_stamp_buffer(&st, &b));
    gst_buffer_unref(b);
    b = timed(none, none);
    EI_CHECK(!ei_app_stamp_buffer(&st, &b));
    gst_buffer_unref(b);
    /* Installed on mux.sink_0 and sink_1 of two streams; a pipeline without them is reported. */
    ei_app_config * cfg = parse("[source0]\ntype=2\nuri=/a.mp4\n[source1]\ntype=2\nuri=/b.mp4\n[sink0]\ntype=1\n");
    if (!cfg) return;
    GstElement * p = gst_parse_launch(
        "edgemux name=mux batch-size=2 ! fakesink videotestsrc num-buffers=1 ! video/x-raw,format=I420 ! mux.sink_0 "
        "videotestsrc num-buffers=1 ! video/x-raw,format=I420 ! mux.sink_1",
        NULL);
    EI_CHECK(p && ei_app_pipeline_install_stamps(p, cfg));
    if (p) gst_object_unref(p);
    p = gst_parse_launch("edgemux name=mux ! fakesink videotestsrc ! video/x-raw,format=I420 ! mux.sink_0", NULL);
    EI_CHECK(p && !ei_app_pipeline_install_stamps(p, cfg)); /* no sink_1 */
    if (p) gst_object_unref(p);
    ei_app_config_free(cfg);
}

/* codec=3 file sinks: avenc_mpeg4 (bitrate in bits/s, else a constant quantizer; iframeinterval -> gop-size)
 * ! mpeg4videoparse into mp4mux or matroskamux. */
static void test_mpeg4_file_sink(void) {
    ei_app_config * cfg = parse("[source0]\ntype=3\nuri=/v.mp4\nnum-sources=3\n"
                                "[sink0]\ntype=3\ncodec=3\nbitrate=2500000\niframeinterval=25\nsource-id=0\n"
                                "output-file=o.mp4\n[sink1]\ntype=3\ncodec=mpeg4\ncontainer=2\nsource-id=1\n"
                                "output-file=o.mkv\n[sink2]\ntype=3\ncodec=3\nsource-id=2\nwidth=320\nheight=180\n"
                                "output-file=small.mp4\n");
    if (!cfg) return;
    char * d = describe(cfg);
    if (d) {
        HAS(d, "demux.src_0 ! queue ! videoconvert ! video/x-raw,format=I420 ! avenc_mpeg4 name=enc0 bitrate=2500000 "
               "gop-size=25 ! mpeg4videoparse ! mp4mux ! filesink name=sink0 location=\"o.mp4\" sync=false");
        HAS(d, "demux.src_1 ! queue ! videoconvert ! video/x-raw,format=I420 ! avenc_mpeg4 name=enc1 pass=quant qmin=4 "
               "qmax=4 ! mpeg4videoparse ! matroskamux ! filesink name=sink1 location=\"o.mkv\" sync=false");
        HAS(d, "demux.src_2 ! queue ! videoconvert ! videoscale ! video/x-raw,format=I420,width=320,height=180 ! "
               "avenc_mpeg4 name=enc2 pass=quant qmin=4 qmax=4 ! mpeg4videoparse ! mp4mux ! filesink name=sink2");
        EI_CHECK(!strstr(d, "x264enc") && !strstr(d, "h264parse"));
    }
    g_free(d);
    ei_app_config_free(cfg);
}

/* decoder-threads: the key where given; else 1 with inference on every core (cores <= 4: one
 * single-threaded model copy per core), else 0. UDP sources carry it in the description. */
static void test_decoder_threads_choice(void) {
    ei_app_config * cfg = parse("[source0]\ntype=100\n[source1]\ntype=100\nudp-port=5002\ndecoder-threads=3\n"
                                "[source2]\ntype=100\nudp-port=5004\ndecoder-threads=0\n"
                                "[primary-gie]\nconfig-file=x.ini\n[sink0]\ntype=1\nsource-id=0\n");
    if (!cfg) return;
    guint threads = 0, copies = 0, cores = g_get_num_processors();
    ei_app_pipeline_infer_threads(&threads, &copies);
    EI_CHECK(copies == MIN(MAX(cores, 1), 4) && threads >= 1);
    int auto_threads = cores <= 4 ? 1 : 0;
    EI_CHECK(ei_app_pipeline_decoder_threads(cfg, &cfg->sources[0]) == auto_threads);
    EI_CHECK(ei_app_pipeline_decoder_threads(cfg, &cfg->sources[1]) == 3);
    EI_CHECK(ei_app_pipeline_decoder_threads(cfg, &cfg->sources[2]) == 0);
    char * d = describe(cfg);
    if (d) {
        HAS(d, auto_threads ? "rtph264depay ! h264parse ! avdec_h264 max-threads=1 ! queue ! videoconvert ! "
                              "video/x-raw,format=I420 ! mux.sink_0"
                            : "rtph264depay ! h264parse ! avdec_h264 ! queue ! videoconvert ! video/x-raw,format=I420 "
                              "! mux.sink_0");
        HAS(d, "avdec_h264 max-threads=3 ! queue ! videoconvert ! video/x-raw,format=I420 ! mux.sink_1");
        HAS(d, "avdec_h264 ! queue ! videoconvert ! video/x-raw,format=I420 ! mux.sink_2");
    }
    g_free(d);
    /* Without inference the decoders keep libav's own choice. */
    cfg->gie_enabled = false;
    EI_CHECK(ei_app_pipeline_decoder_threads(cfg, &cfg->sources[0]) == 0);
    ei_app_config_free(cfg);
}

/* The avdec_* decoder of a file's uridecodebin, after preroll; NULL when none. */
static GstElement * find_avdec(GstElement * pipeline) {
    GstIterator * it = gst_bin_iterate_recurse(GST_BIN(pipeline));
    GValue        v = G_VALUE_INIT;
    GstElement *  found = NULL;
    while (!found && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *        e = g_value_get_object(&v);
        GstElementFactory * f = gst_element_get_factory(e);
        if (f && g_str_has_prefix(GST_OBJECT_NAME(f), "avdec_")) found = gst_object_ref(e);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return found;
}

/* ei_app_pipeline_install_codecs: the decoder uridecodebin creates (avdec_h264) gets max-threads=N
 * for decoder-threads=N, and keeps libav's 0 for decoder-threads=0; a missing src<I> is reported. */
static void test_decoder_threads_installed(void) {
    GstElementFactory * enc = gst_element_factory_find("x264enc");
    if (!enc) {
        printf("  (skipped: no x264enc to make the clip)\n");
        return;
    }
    gst_object_unref(enc);
    char *       dir = g_dir_make_tmp("ei_app_dec_XXXXXX", NULL);
    char *       clip = g_build_filename(dir, "clip.mp4", NULL);
    char *       make = g_strdup_printf("videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48,framerate=25/1 ! "
                                              "x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! filesink "
                                              "location=\"%s\"",
                                        clip);
    GstElement * mk = gst_parse_launch(make, NULL);
    EI_CHECK(mk != NULL);
    if (mk) {
        gst_element_set_state(mk, GST_STATE_PLAYING);
        GstBus *     bus = gst_element_get_bus(mk);
        GstMessage * m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        EI_CHECK(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS);
        if (m) gst_message_unref(m);
        gst_object_unref(bus);
        gst_element_set_state(mk, GST_STATE_NULL);
        gst_object_unref(mk);
    }
    for (int want = 0; want <= 2; want += 2) {
        char * ini = g_strdup_printf("[source0]\ntype=2\nuri=%s\ndecoder-threads=%d\n[sink0]\ntype=1\n", clip, want);
        ei_app_config * cfg = parse(ini);
        g_free(ini);
        if (!cfg) continue;
        char * desc =
            g_strdup_printf("uridecodebin name=src0 uri=\"%s\" ! video/x-raw ! fakesink", cfg->sources[0].uri);
        GstElement * p = gst_parse_launch(desc, NULL);
        g_free(desc);
        EI_CHECK(p != NULL);
        if (p) {
            EI_CHECK(ei_app_pipeline_install_codecs(p, cfg));
            gst_element_set_state(p, GST_STATE_PAUSED);
            EI_CHECK(gst_element_get_state(p, NULL, NULL, 30 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS);
            GstElement * dec = find_avdec(p);
            EI_CHECK(dec != NULL);
            if (dec) {
                int got = -1;
                g_object_get(dec, "max-threads", &got, NULL);
                if (got != want) fprintf(stderr, "decoder-threads=%d: max-threads=%d\n", want, got);
                EI_CHECK(got == want);
                gst_object_unref(dec);
            }
            gst_element_set_state(p, GST_STATE_NULL);
            gst_object_unref(p);
        }
        /* A pipeline without src0 is reported. */
        p = gst_parse_launch("fakesrc ! fakesink", NULL);
        EI_CHECK(p && ei_app_pipeline_install_codecs(p, cfg) == (want == 0));
        if (p) gst_object_unref(p);
        ei_app_config_free(cfg);
    }
    g_unlink(clip);
    g_rmdir(dir);
    g_free(make);
    g_free(clip);
    g_free(dir);
}

typedef struct pts_seen {
    int n, bad;
} pts_seen;

/* Buffer n out of the encoder: PTS = DTS at running time n x 40 ms in the pad's segment. */
static GstPadProbeReturn check_pts(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    pts_seen *  s = user;
    GstBuffer * b = GST_PAD_PROBE_INFO_BUFFER(info);
    GstEvent *  ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    GstSegment  seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    if (ev) {
        gst_event_copy_segment(ev, &seg);
        gst_event_unref(ev);
    }
    GstClockTime want = (GstClockTime)s->n * GST_SECOND / 25;
    GstClockTime rt = gst_segment_to_running_time(&seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
    if (rt != want || GST_BUFFER_DTS(b) != GST_BUFFER_PTS(b) || GST_BUFFER_DURATION(b) != GST_SECOND / 25) {
        if (!s->bad)
            fprintf(stderr,
                    "frame %d: PTS %" GST_TIME_FORMAT " (running time %" GST_TIME_FORMAT ") DTS %" GST_TIME_FORMAT
                    ", expected running time %" GST_TIME_FORMAT "\n",
                    s->n, GST_TIME_ARGS(GST_BUFFER_PTS(b)), GST_TIME_ARGS(rt), GST_TIME_ARGS(GST_BUFFER_DTS(b)),
                    GST_TIME_ARGS(want));
        s->bad++;
    }
    s->n++;
    return GST_PAD_PROBE_OK;
}

/* ei_app_pipeline_install_codecs on a codec=3 file sink: every buffer out of avenc_mpeg4 carries its
 * frame's time (running time 0, 40, 80 ms ...: PTS = DTS, duration 40 ms), and mp4mux writes the file (without the
 * repair, gst-libav 1.22.0 gives PTS 2^63 ns and mp4mux fails with "Buffer has no PTS"). A pipeline
 * without enc<N> is reported. */
static void test_mpeg4_timestamps(void) {
    GstElementFactory * f = gst_element_factory_find("avenc_mpeg4");
    if (!f) {
        printf("  (skipped: no avenc_mpeg4)\n");
        return;
    }
    gst_object_unref(f);
    ei_app_config * cfg = parse("[source0]\ntype=2\nuri=/a.mp4\n[sink1]\ntype=3\ncodec=3\noutput-file=x.mp4\n");
    if (!cfg) return;
    char *       dir = g_dir_make_tmp("ei_app_mpeg4_XXXXXX", NULL);
    char *       out = g_build_filename(dir, "out.mp4", NULL);
    char *       desc = g_strdup_printf("videotestsrc num-buffers=12 ! video/x-raw,width=64,height=48,framerate=25/1 ! "
                                              "avenc_mpeg4 name=enc1 ! mpeg4videoparse name=parse ! mp4mux ! filesink "
                                              "location=\"%s\"",
                                        out);
    GstElement * p = gst_parse_launch(desc, NULL);
    g_free(desc);
    EI_CHECK(p != NULL);
    if (p) {
        EI_CHECK(ei_app_pipeline_install_codecs(p, cfg));
        pts_seen     seen = {0, 0};
        GstElement * enc = gst_bin_get_by_name(GST_BIN(p), "enc1");
        GstPad *     pad = gst_element_get_static_pad(enc, "src");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, check_pts, &seen, NULL); /* after the repair's */
        gst_object_unref(pad);
        gst_object_unref(enc);
        gst_element_set_state(p, GST_STATE_PLAYING);
        GstBus *     bus = gst_element_get_bus(p);
        GstMessage * m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError * e = NULL;
            gst_message_parse_error(m, &e, NULL);
            fprintf(stderr, "error: %s\n", e ? e->message : "?");
            if (e) g_error_free(e);
        }
        EI_CHECK(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS);
        if (m) gst_message_unref(m);
        gst_object_unref(bus);
        gst_element_set_state(p, GST_STATE_NULL);
        gst_object_unref(p);
        EI_CHECK(seen.n == 12 && seen.bad == 0);
    }
    p = gst_parse_launch("fakesrc ! fakesink", NULL);
    EI_CHECK(p && !ei_app_pipeline_install_codecs(p, cfg));
    if (p) gst_object_unref(p);
    g_unlink(out);
    g_rmdir(dir);
    g_free(out);
    g_free(dir);
    ei_app_config_free(cfg);
}

int main(int argc, char ** argv) {
    gst_init(&argc, &argv);
    gst_ei_register_static();
    EI_RUN(test_one_source_file);
    EI_RUN(test_two_sources_untiled);
    EI_RUN(test_unshown_stream);
    EI_RUN(test_four_sources_tiled);
    EI_RUN(test_quote);
    EI_RUN(test_drop_probe);
    EI_RUN(test_stamps);
    EI_RUN(test_mpeg4_file_sink);
    EI_RUN(test_decoder_threads_choice);
    EI_RUN(test_decoder_threads_installed);
    EI_RUN(test_mpeg4_timestamps);
    if (argc > 1) {
        /* test_app_pipeline APP.ini: print the description (for looking at it). */
        ei_app_config * cfg = NULL;
        ei_status *     st = ei_app_config_load(argv[1], NULL, NULL, &cfg);
        char *          d = st ? NULL : ei_app_pipeline_describe(cfg, &st);
        printf("%s\n", d ? d : ei_status_message(st));
        g_free(d);
        ei_status_destroy(st);
        ei_app_config_free(cfg);
    }
    gst_deinit();
    EI_TEST_EXIT();
}
