/* Batches through several model copies (issue 5's "4 sources batched at batch-size 4"): four appsrc
 * sources of still images (a different image each frame, so a result attached to the wrong frame
 * shows) through edgemux (batch-size 4) ! edgeinfer (batch-size 1, 2 or 3 copies: the copies take
 * the runs of one batch and of the next ones from a shared queue) ! edgedemux ! queue ! one appsink
 * per source (the queues: edgedemux's one thread must not wait in a prerolled sink). Every frame's
 * GstEiFrameMeta equals a direct ei_infer_run on its pixels, frames leave each source in order with
 * their source id and frame number, interval skips the same frames as with one copy, and stopping
 * with runs in flight neither hangs nor leaks. */
#include "gst_infer_common.h"

#define N_SOURCES 4

static const char * k_images[] = {"dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg"};
#define N_IMAGES ((int)(sizeof k_images / sizeof k_images[0]))

static ei_image g_bgr[N_IMAGES];
static char *   g_config;
static Ref      g_ref;

static void load_images(void) {
    for (int i = 0; i < N_IMAGES; i++) {
        gchar * rel = g_build_filename("images", "darknet", k_images[i], NULL);
        char *  path = asset_path(rel);
        EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, &g_bgr[i]));
        g_free(path);
        g_free(rel);
    }
}

/* Image i as a BGR GstBuffer with GStreamer's default stride. */
static GstBuffer * make_frame(int i, GstVideoInfo * info) {
    const ei_image * src = &g_bgr[i];
    gst_video_info_set_format(info, GST_VIDEO_FORMAT_BGR, (guint)src->width, (guint)src->height);
    GstBuffer *   buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
    GstVideoFrame vf;
    gst_video_frame_map(&vf, info, buf, GST_MAP_WRITE);
    for (int y = 0; y < src->height; y++)
        memcpy((guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0),
               src->plane[0] + (size_t)y * (size_t)src->stride[0], (size_t)src->width * 3);
    gst_video_frame_unmap(&vf);
    return buf;
}

/* The image source s shows as its frame k. */
static int image_of(int s, int k) { return (s + 2 * k) % N_IMAGES; }

typedef struct {
    GstElement * pipeline;
    GstAppSrc *  src[N_SOURCES];
    GstAppSink * sink[N_SOURCES];
    GstElement * infer;
} Pipe;

static void pipe_open(Pipe * p, const char * props) {
    GString * d = g_string_new(NULL);
    g_string_append_printf(d,
                           "edgemux name=mux batch-size=%d batched-push-timeout=-1 ! edgeinfer name=infer "
                           "config-file-path=\"%s\" batch-size=1 threads=1 %s ! edgedemux name=demux ",
                           N_SOURCES, g_config, props);
    for (int s = 0; s < N_SOURCES; s++)
        g_string_append_printf(
            d,
            " appsrc name=src%d format=time ! mux.sink_%d  demux.src_%d ! queue ! appsink name=sink%d "
            "sync=false",
            s, s, s, s);
    GError * err = NULL;
    p->pipeline = gst_parse_launch(d->str, &err);
    if (!p->pipeline) {
        fprintf(stderr, "%s: %s\n", d->str, err ? err->message : "?");
        exit(1);
    }
    g_string_free(d, TRUE);
    for (int s = 0; s < N_SOURCES; s++) {
        gchar * name = g_strdup_printf("src%d", s);
        p->src[s] = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(p->pipeline), name));
        g_free(name);
        name = g_strdup_printf("sink%d", s);
        p->sink[s] = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p->pipeline), name));
        g_free(name);
    }
    p->infer = gst_bin_get_by_name(GST_BIN(p->pipeline), "infer");
    EI_CHECK(gst_element_set_state(p->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
}

/* n frames on every source, then EOS when eos. */
static void pipe_feed(Pipe * p, int n, gboolean eos) {
    for (int k = 0; k < n; k++)
        for (int s = 0; s < N_SOURCES; s++) {
            GstVideoInfo info;
            GstBuffer *  buf = make_frame(image_of(s, k), &info);
            GstCaps *    caps = gst_video_info_to_caps(&info);
            GST_BUFFER_PTS(buf) = (GstClockTime)k * GST_SECOND / 25;
            GST_BUFFER_DURATION(buf) = GST_SECOND / 25;
            GstSample * sample = gst_sample_new(buf, caps, NULL, NULL);
            EI_CHECK(gst_app_src_push_sample(p->src[s], sample) == GST_FLOW_OK);
            gst_sample_unref(sample);
            gst_caps_unref(caps);
            gst_buffer_unref(buf);
        }
    if (eos)
        for (int s = 0; s < N_SOURCES; s++) gst_app_src_end_of_stream(p->src[s]);
}

static void pipe_close(Pipe * p) {
    gst_element_set_state(p->pipeline, GST_STATE_NULL);
    for (int s = 0; s < N_SOURCES; s++) {
        gst_object_unref(p->src[s]);
        gst_object_unref(p->sink[s]);
    }
    gst_object_unref(p->infer);
    gst_object_unref(p->pipeline);
}

/* Checks frame k of source s; returns its objects. interval: frames skipped between inferences. */
static int check_frame(GstSample * sample, int s, int k, int interval) {
    GstVideoInfo info;
    EI_CHECK(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
    GstBuffer *      buf = gst_sample_get_buffer(sample);
    GstEiFrameMeta * meta = gst_buffer_get_ei_frame_meta(buf);
    const ei_image * img = &g_bgr[image_of(s, k)];
    EI_CHECK(GST_VIDEO_INFO_WIDTH(&info) == img->width && GST_VIDEO_INFO_HEIGHT(&info) == img->height);
    EI_CHECK(meta != NULL);
    if (!meta) return 0;
    EI_CHECK(meta->source_id == (guint)s && meta->frame_number == (guint64)k);
    if (k % (interval + 1) != 0) {
        EI_CHECK(!meta->inferred && meta->n_objects == 0);
        return 0;
    }
    char what[64];
    g_snprintf(what, sizeof what, "source %d frame %d", s, k);
    return check_against_ref(&g_ref, buf, &info, meta, what);
}

/* Every frame of every source, in order, equal to ei_infer. */
static void run_copies(const char * props, int interval) {
    Pipe p;
    pipe_open(&p, props);
    const int n = frames_budget(8);
    pipe_feed(&p, n, TRUE);
    int objects = 0, got = 0;
    /* Round-robin: each batch holds one frame of every source. */
    for (int k = 0; k < n; k++)
        for (int s = 0; s < N_SOURCES; s++) {
            GstSample * sample = gst_app_sink_pull_sample(p.sink[s]);
            EI_CHECK(sample != NULL);
            if (!sample) continue;
            objects += check_frame(sample, s, k, interval);
            got++;
            gst_sample_unref(sample);
        }
    for (int s = 0; s < N_SOURCES; s++) EI_CHECK(gst_app_sink_pull_sample(p.sink[s]) == NULL); /* EOS */
    gchar * error = bus_error(p.pipeline);
    EI_CHECK(error == NULL);
    if (error) fprintf(stderr, "pipeline error: %s\n", error);
    g_free(error);
    guint64 processed = 0;
    g_object_get(p.infer, "frames-processed", &processed, NULL);
    EI_CHECK(processed == (guint64)(n * N_SOURCES));
    printf("%s: %d sources x %d frames, %d objects, equal to ei_infer\n", props, N_SOURCES, got / N_SOURCES, objects);
    EI_CHECK(got == n * N_SOURCES && objects > 0);
    pipe_close(&p);
}

static void test_two_copies(void) { run_copies("instances=2", 0); }
/* Three copies on batches of four: runs of one batch and the next go side by side. */
static void test_three_copies(void) { run_copies("instances=3", 0); }
static void test_two_copies_interval(void) { run_copies("instances=2 interval=1", 1); }

/* Stopping with batches queued and runs in flight. */
static void test_stop_in_flight(void) {
    Pipe p;
    pipe_open(&p, "instances=3");
    pipe_feed(&p, frames_budget(8), FALSE);
    GstSample * sample = gst_app_sink_pull_sample(p.sink[0]);
    EI_CHECK(sample != NULL);
    if (sample) {
        check_frame(sample, 0, 0, 0);
        gst_sample_unref(sample);
    }
    pipe_close(&p);
}

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    char * model = asset_path("models/coco_detection/yolox_nano_416.onnx");
    g_free(model);
    load_images();
    g_config = localised_config("yolox_nano.ini", NULL);
    /* The reference on one thread (the element's copies run beside it; OpenMP's spinning teams
     * crawl on a loaded 2-core machine). */
    memset(&g_ref, 0, sizeof g_ref);
    EI_CHECK_OK(ei_infer_config_load(g_config, &g_ref.cfg));
    if (!g_ref.cfg) exit(1);
    ei_infer_options io = ei_infer_options_default();
    io.cache_dir = getenv("EI_ENGINE_CACHE_DIR");
    io.n_threads = 1;
    EI_CHECK_OK(ei_infer_create(g_ref.cfg, &io, &g_ref.inf));
    if (!g_ref.inf) exit(1);
    EI_RUN(test_two_copies);
    EI_RUN(test_three_copies);
    EI_RUN(test_two_copies_interval);
    EI_RUN(test_stop_in_flight);
    ref_close(&g_ref);
    for (int i = 0; i < N_IMAGES; i++) ei_image_free(&g_bgr[i]);
    remove(g_config);
    g_free(g_config);
    gst_deinit();
    EI_TEST_EXIT();
}
