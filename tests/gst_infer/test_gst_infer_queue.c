/* edgeinfer's queue: leaky=downstream with queue-size=1 and frames pushed faster than the model
 * runs drops frames and counts them (processed + dropped == pushed); leaky=no blocks upstream
 * instead (nothing dropped); serialized events, the custom GstEiSourceEos among them, leave in
 * their place among the buffers and EOS comes after every queued frame. No timing is asserted. */
#include "gst_infer_common.h"

static char * g_config;

static ei_image g_dog;

static GstBuffer * dog_frame(GstVideoInfo * info) {
    ei_image * img = &g_dog;
    if (!img->plane[0]) {
        char * path = asset_path("images/darknet/dog.jpg");
        EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, img));
        g_free(path);
    }
    gst_video_info_set_format(info, GST_VIDEO_FORMAT_BGR, (guint)img->width, (guint)img->height);
    GstBuffer *   buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
    GstVideoFrame vf;
    gst_video_frame_map(&vf, info, buf, GST_MAP_WRITE);
    for (int y = 0; y < img->height; y++)
        memcpy((guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0),
               img->plane[0] + (size_t)y * (size_t)img->stride[0], (size_t)img->width * 3);
    gst_video_frame_unmap(&vf);
    return buf;
}

static void run_leaky(const char * leaky, int n_frames, guint64 * processed, guint64 * dropped, int * received) {
    gchar *      desc = g_strdup_printf("appsrc name=src format=time ! edgeinfer name=infer config-file-path=\"%s\" "
                                             "queue-size=1 leaky=%s ! appsink name=sink sync=false",
                                        g_config, leaky);
    GstElement * p = gst_parse_launch(desc, NULL);
    EI_CHECK(p != NULL);
    if (!p) exit(1);
    GstAppSrc *  src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(p), "src"));
    GstAppSink * sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p), "sink"));
    GstElement * infer = gst_bin_get_by_name(GST_BIN(p), "infer");
    GstVideoInfo info;
    GstBuffer *  first = dog_frame(&info);
    GstCaps *    caps = gst_video_info_to_caps(&info);
    gst_app_src_set_caps(src, caps);
    gst_caps_unref(caps);
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    for (int i = 0; i < n_frames; i++) {
        GstBuffer * buf = i == 0 ? first : gst_buffer_copy_deep(first);
        GST_BUFFER_PTS(buf) = (GstClockTime)i * GST_SECOND / 25;
        if (i == 0) gst_buffer_ref(first);
        EI_CHECK(gst_app_src_push_buffer(src, buf) == GST_FLOW_OK);
    }
    gst_buffer_unref(first);
    gst_app_src_end_of_stream(src);
    *received = 0;
    for (GstSample * s; (s = gst_app_sink_pull_sample(sink)) != NULL; (*received)++) {
        EI_CHECK(gst_buffer_get_ei_frame_meta(gst_sample_get_buffer(s)) != NULL);
        gst_sample_unref(s);
    }
    g_object_get(infer, "frames-processed", processed, "frames-dropped", dropped, NULL);
    printf("leaky=%s: %d pushed, %" G_GUINT64_FORMAT " processed, %" G_GUINT64_FORMAT " dropped, %d received\n", leaky,
           n_frames, *processed, *dropped, *received);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(infer);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(p);
    g_free(desc);
}

static void test_leaky_downstream(void) {
    const int n = frames_budget(30) < 30 ? 12 : 30;
    guint64   processed = 0, dropped = 0;
    int       received = 0;
    run_leaky("downstream", n, &processed, &dropped, &received);
    EI_CHECK(dropped > 0);
    EI_CHECK(processed + dropped == (guint64)n);
    EI_CHECK((guint64)received == processed);
}

static void test_leaky_no(void) {
    const int n = frames_budget(10) < 10 ? 4 : 10;
    guint64   processed = 0, dropped = 1;
    int       received = 0;
    run_leaky("no", n, &processed, &dropped, &received);
    EI_CHECK(dropped == 0 && processed == (guint64)n && received == n);
}

/* ---- event order, with bare pads around the element ---- */

typedef struct {
    GMutex    lock;
    GCond     cond;
    GString * log; /* B = buffer, S = GstEiSourceEos, E = EOS */
    guint     source_id;
    gboolean  eos;
} Record;

static Record g_rec;

static GstFlowReturn rec_chain(GstPad * pad, GstObject * parent, GstBuffer * buf) {
    (void)pad;
    (void)parent;
    g_mutex_lock(&g_rec.lock);
    g_string_append_c(g_rec.log, gst_buffer_get_ei_frame_meta(buf) ? 'B' : 'b');
    g_mutex_unlock(&g_rec.lock);
    gst_buffer_unref(buf);
    return GST_FLOW_OK;
}

static gboolean rec_event(GstPad * pad, GstObject * parent, GstEvent * event) {
    (void)pad;
    (void)parent;
    g_mutex_lock(&g_rec.lock);
    const GstStructure * s = gst_event_get_structure(event);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM && s && gst_structure_has_name(s, "GstEiSourceEos")) {
        g_string_append_c(g_rec.log, 'S');
        gst_structure_get_uint(s, "source-id", &g_rec.source_id);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        g_string_append_c(g_rec.log, 'E');
        g_rec.eos = TRUE;
        g_cond_broadcast(&g_rec.cond);
    }
    g_mutex_unlock(&g_rec.lock);
    gst_event_unref(event);
    return TRUE;
}

static void test_event_order(void) {
    g_mutex_init(&g_rec.lock);
    g_cond_init(&g_rec.cond);
    g_rec.log = g_string_new(NULL);
    GstElement * e = gst_element_factory_make("edgeinfer", NULL);
    g_object_set(e, "config-file-path", g_config, "queue-size", 2, NULL);
    GstPad * src = gst_pad_new("src", GST_PAD_SRC);
    GstPad * sink = gst_pad_new("sink", GST_PAD_SINK);
    gst_pad_set_chain_function(sink, rec_chain);
    gst_pad_set_event_function(sink, rec_event);
    GstPad * esink = gst_element_get_static_pad(e, "sink");
    GstPad * esrc = gst_element_get_static_pad(e, "src");
    EI_CHECK(gst_pad_link(src, esink) == GST_PAD_LINK_OK && gst_pad_link(esrc, sink) == GST_PAD_LINK_OK);
    gst_pad_set_active(src, TRUE);
    gst_pad_set_active(sink, TRUE);
    EI_CHECK(gst_element_set_state(e, GST_STATE_PLAYING) == GST_STATE_CHANGE_SUCCESS);
    GstVideoInfo info;
    GstBuffer *  frame = dog_frame(&info);
    GstCaps *    caps = gst_video_info_to_caps(&info);
    GstSegment   seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    EI_CHECK(gst_pad_push_event(src, gst_event_new_stream_start("order")));
    EI_CHECK(gst_pad_push_event(src, gst_event_new_caps(caps)));
    EI_CHECK(gst_pad_push_event(src, gst_event_new_segment(&seg)));
    for (int i = 0; i < 3; i++) EI_CHECK(gst_pad_push(src, gst_buffer_copy(frame)) == GST_FLOW_OK);
    EI_CHECK(gst_pad_push_event(
        src, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                                  gst_structure_new("GstEiSourceEos", "source-id", G_TYPE_UINT, 3u, NULL))));
    EI_CHECK(gst_pad_push(src, gst_buffer_copy(frame)) == GST_FLOW_OK);
    EI_CHECK(gst_pad_push_event(src, gst_event_new_eos()));
    g_mutex_lock(&g_rec.lock);
    gint64 deadline = g_get_monotonic_time() + 120 * G_TIME_SPAN_SECOND;
    while (!g_rec.eos && g_cond_wait_until(&g_rec.cond, &g_rec.lock, deadline)) {
    }
    printf("order: %s\n", g_rec.log->str);
    EI_CHECK(g_rec.eos && strcmp(g_rec.log->str, "BBBSBE") == 0 && g_rec.source_id == 3);
    g_mutex_unlock(&g_rec.lock);
    EI_CHECK(gst_element_set_state(e, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
    gst_pad_set_active(src, FALSE);
    gst_pad_set_active(sink, FALSE);
    gst_buffer_unref(frame);
    gst_caps_unref(caps);
    gst_object_unref(esink);
    gst_object_unref(esrc);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(e);
    g_string_free(g_rec.log, TRUE);
    g_mutex_clear(&g_rec.lock);
    g_cond_clear(&g_rec.cond);
}

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    char * model = asset_path("models/coco_detection/yolox_nano_416.onnx");
    g_free(model);
    g_config = localised_config("yolox_nano.ini", NULL);
    EI_RUN(test_leaky_downstream);
    EI_RUN(test_leaky_no);
    EI_RUN(test_event_order);
    ei_image_free(&g_dog);
    remove(g_config);
    g_free(g_config);
    gst_deinit();
    EI_TEST_EXIT();
}
