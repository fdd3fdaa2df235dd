/* The pipeline description of app configs: 1, 2 and 4 sources, tiled or not, file/UDP/fake/display
 * sinks, every source type; each description is parsed by gst_parse_launch (fully where the edgeinfer
 * elements are registered; where one is missing, the parse must fail only for that element, never
 * on syntax). Values with spaces and quotes survive quoting; drop probes keep 1 of N buffers. */
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

int main(int argc, char ** argv) {
    gst_init(&argc, &argv);
    gst_ei_register_static();
    EI_RUN(test_one_source_file);
    EI_RUN(test_two_sources_untiled);
    EI_RUN(test_unshown_stream);
    EI_RUN(test_four_sources_tiled);
    EI_RUN(test_quote);
    EI_RUN(test_drop_probe);
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
