/* The "pipeline detections equal edgeinfer detect's on the same decoded frames", at C level:
 * filesrc car-detection.mp4 ! decodebin ! videoconvert ! BGR ! edgeinfer (YOLOX-nano) ! appsink; for
 * each of 40 frames from 5 s on (where cars show; the flushing seek there exercises flushing) a
 * separate ei_infer in the test on the same pixels gives identical detections. */
#include "gst_infer_common.h"

/* extra: more edgeinfer properties (two model copies must give the same frames, in order). */
static void test_video(const char * extra) {
    char * video = asset_path("videos/car-detection.mp4");
    char * model = asset_path("models/coco_detection/yolox_nano_416.onnx");
    char * config = localised_config("yolox_nano.ini", NULL);
    Ref    ref;
    ref_open(&ref, config);
    gchar *      desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! videoconvert ! video/x-raw,format=BGR ! "
                                             "edgeinfer name=infer config-file-path=\"%s\" %s ! appsink name=sink sync=false",
                                        video, config, extra);
    GError *     err = NULL;
    GstElement * p = gst_parse_launch(desc, &err);
    EI_CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "%s\n", err ? err->message : "?");
        exit(1);
    }
    GstAppSink * sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p), "sink"));
    EI_CHECK(gst_element_set_state(p, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
    EI_CHECK(gst_element_get_state(p, NULL, NULL, 60 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS);
    EI_CHECK(gst_element_seek_simple(p, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, 5 * GST_SECOND));
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    const int want = frames_budget(40);
    int       n = 0, objects = 0;
    guint64   first = 0;
    for (; n < want; n++) {
        GstSample * s = gst_app_sink_pull_sample(sink);
        EI_CHECK(s != NULL);
        if (!s) break;
        GstVideoInfo info;
        EI_CHECK(gst_video_info_from_caps(&info, gst_sample_get_caps(s)));
        GstBuffer *      buf = gst_sample_get_buffer(s);
        GstEiFrameMeta * meta = gst_buffer_get_ei_frame_meta(buf);
        char             what[32];
        g_snprintf(what, sizeof what, "frame %d", n);
        objects += check_against_ref(&ref, buf, &info, meta, what);
        if (meta && n == 0) first = meta->frame_number;
        if (meta) EI_CHECK(meta->frame_number == first + (guint64)n && meta->unique_id == 1);
        if (n == 0) EI_CHECK(GST_BUFFER_PTS(buf) >= 5 * GST_SECOND - GST_SECOND / 10);
        gst_sample_unref(s);
    }
    gchar * error = bus_error(p);
    EI_CHECK(error == NULL);
    if (error) fprintf(stderr, "pipeline error: %s\n", error);
    g_free(error);
    printf("%d frames of car-detection.mp4 (%s), %d objects, equal to ei_infer\n", n, extra[0] ? extra : "defaults",
           objects);
    EI_CHECK(n == want && objects > 0);
    /* Stopping mid-stream with frames queued must neither hang nor leak. */
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(p);
    g_free(desc);
    ref_close(&ref);
    remove(config);
    g_free(config);
    g_free(model);
    g_free(video);
}

static void test_video_defaults(void) { test_video(""); }
static void test_video_two_copies(void) { test_video("instances=2 threads=1"); }

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    EI_RUN(test_video_defaults);
    EI_RUN(test_video_two_copies);
    gst_deinit();
    EI_TEST_EXIT();
}
