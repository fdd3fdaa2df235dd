/* edgeinfer on still images pushed through appsrc: the GstEiFrameMeta of each frame equals a direct
 * ei_infer_run on the same pixels (RGB, BGR, NV12, I420, with GStreamer's padded strides), ROI metas
 * come one per object, caps may change between frames, edgemux-style batches keep their frames'
 * source ids and frame numbers, and interval=2 infers frames 0, 3, 6, ... only. */
#include "gst_infer_common.h"

static const char * k_images[] = {"dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg"};
#define N_IMAGES ((int)(sizeof k_images / sizeof k_images[0]))

static ei_image g_bgr[N_IMAGES];
static int      g_n_images;
static char *   g_config;

static void load_images(void) {
    g_n_images = frames_budget(N_IMAGES) < N_IMAGES ? 2 : N_IMAGES;
    for (int i = 0; i < g_n_images; i++) {
        gchar * rel = g_build_filename("images", "darknet", k_images[i], NULL);
        char *  path = asset_path(rel);
        EI_CHECK_OK(ei_image_load(path, EI_PIXEL_BGR, &g_bgr[i]));
        /* NV12/I420 need even sizes: drop an odd last row/column. */
        g_bgr[i].width &= ~1;
        g_bgr[i].height &= ~1;
        g_free(path);
        g_free(rel);
    }
}

static guint8 clamp8(int v) { return (guint8)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* A GstBuffer in format f (GStreamer's default strides and offsets) holding image i. */
static GstBuffer * make_frame(int i, GstVideoFormat f, GstVideoInfo * info) {
    const ei_image * src = &g_bgr[i];
    gst_video_info_set_format(info, f, (guint)src->width, (guint)src->height);
    GstBuffer *   buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
    GstVideoFrame vf;
    gst_video_frame_map(&vf, info, buf, GST_MAP_WRITE);
    for (int y = 0; y < src->height; y++) {
        const guint8 * s = src->plane[0] + (size_t)y * (size_t)src->stride[0];
        for (int x = 0; x < src->width; x++) {
            int b = s[3 * x], g = s[3 * x + 1], r = s[3 * x + 2];
            if (f == GST_VIDEO_FORMAT_BGR || f == GST_VIDEO_FORMAT_RGB) {
                guint8 * d = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
                d[3 * x] = (guint8)(f == GST_VIDEO_FORMAT_BGR ? b : r);
                d[3 * x + 1] = (guint8)g;
                d[3 * x + 2] = (guint8)(f == GST_VIDEO_FORMAT_BGR ? r : b);
                continue;
            }
            guint8 * yp = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 0);
            yp[x] = clamp8(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
            if ((x | y) & 1) continue;
            guint8 u = clamp8(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
            guint8 v = clamp8(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
            if (f == GST_VIDEO_FORMAT_NV12) {
                guint8 * uv =
                    (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 1) + (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 1);
                uv[x] = u;
                uv[x + 1] = v;
            } else {
                guint8 * up =
                    (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 1) + (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 1);
                guint8 * vp =
                    (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&vf, 2) + (y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE(&vf, 2);
                up[x / 2] = u;
                vp[x / 2] = v;
            }
        }
    }
    gst_video_frame_unmap(&vf);
    return buf;
}

static GstElement * make_pipeline(const char * props, GstAppSrc ** src, GstAppSink ** sink) {
    gchar *      desc = g_strdup_printf("appsrc name=src format=time ! edgeinfer name=infer config-file-path=\"%s\" "
                                             "%s ! appsink name=sink sync=false",
                                        g_config, props ? props : "");
    GError *     err = NULL;
    GstElement * p = gst_parse_launch(desc, &err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", desc, err ? err->message : "?");
        exit(1);
    }
    g_free(desc);
    GstElement * s = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement * k = gst_bin_get_by_name(GST_BIN(p), "sink");
    *src = GST_APP_SRC(s);
    *sink = GST_APP_SINK(k);
    return p;
}

static void push_frame(GstAppSrc * src, GstBuffer * buf, const GstVideoInfo * info, int index) {
    GstCaps * caps = gst_video_info_to_caps(info);
    GST_BUFFER_PTS(buf) = (GstClockTime)index * GST_SECOND / 25;
    GST_BUFFER_DURATION(buf) = GST_SECOND / 25;
    GstSample * sample = gst_sample_new(buf, caps, NULL, NULL);
    EI_CHECK(gst_app_src_push_sample(src, sample) == GST_FLOW_OK);
    gst_sample_unref(sample);
    gst_caps_unref(caps);
    gst_buffer_unref(buf);
}

static void finish(GstElement * p, GstAppSrc * src, GstAppSink * sink) {
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(p);
}

/* Every image in format f, one caps change per image, against the reference. */
static void run_format(Ref * ref, GstVideoFormat f) {
    GstAppSrc *  src;
    GstAppSink * sink;
    GstElement * p = make_pipeline(NULL, &src, &sink);
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    for (int i = 0; i < g_n_images; i++) {
        GstVideoInfo info;
        push_frame(src, make_frame(i, f, &info), &info, i);
    }
    gst_app_src_end_of_stream(src);
    int n = 0, objects = 0;
    for (GstSample * s; (s = gst_app_sink_pull_sample(sink)) != NULL; n++) {
        GstVideoInfo info;
        EI_CHECK(gst_video_info_from_caps(&info, gst_sample_get_caps(s)));
        GstBuffer *      buf = gst_sample_get_buffer(s);
        GstEiFrameMeta * meta = gst_buffer_get_ei_frame_meta(buf);
        char             what[64];
        g_snprintf(what, sizeof what, "%s frame %d", gst_video_format_to_string(f), n);
        objects += check_against_ref(ref, buf, &info, meta, what);
        if (meta) {
            EI_CHECK(meta->frame_number == (guint64)n && meta->source_id == 0 && meta->unique_id == 1);
            EI_CHECK(meta->times.infer_ms > 0);
        }
        gst_sample_unref(s);
    }
    EI_CHECK(n == g_n_images);
    EI_CHECK(objects > 0);
    guint64      processed = 0, dropped = 1;
    GstElement * infer = gst_bin_get_by_name(GST_BIN(p), "infer");
    g_object_get(infer, "frames-processed", &processed, "frames-dropped", &dropped, NULL);
    EI_CHECK(processed == (guint64)g_n_images && dropped == 0);
    gst_object_unref(infer);
    printf("%s: %d frames, %d objects, equal to ei_infer\n", gst_video_format_to_string(f), n, objects);
    finish(p, src, sink);
}

static Ref g_ref;

static void test_bgr(void) { run_format(&g_ref, GST_VIDEO_FORMAT_BGR); }
static void test_rgb(void) { run_format(&g_ref, GST_VIDEO_FORMAT_RGB); }
static void test_nv12(void) { run_format(&g_ref, GST_VIDEO_FORMAT_NV12); }
static void test_i420(void) { run_format(&g_ref, GST_VIDEO_FORMAT_I420); }

/* An edgemux-style batch: frames of different sources, formats and sizes in one buffer. */
static void test_batch(void) {
    GstAppSrc *  src;
    GstAppSink * sink;
    GstElement * p = make_pipeline(NULL, &src, &sink);
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    const GstVideoFormat fmts[3] = {GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420};
    const guint          sources[3] = {2, 0, 1};
    const guint64        numbers[3] = {5, 7, 0};
    int                  n_frames = MIN(3, g_n_images);
    GstBuffer *          batch = gst_buffer_new();
    GstEiBatchMeta *     bm = gst_buffer_add_ei_batch_meta(batch);
    for (int i = 0; i < n_frames; i++) {
        GstVideoInfo info;
        GstBuffer *  frame = make_frame(i, fmts[i], &info);
        gst_ei_batch_meta_append(bm, frame, &info, sources[i], numbers[i]);
    }
    GstCaps * caps = gst_caps_new_empty_simple(GST_EI_BATCH_MEDIA_TYPE);
    gst_app_src_set_caps(src, caps);
    gst_caps_unref(caps);
    GST_BUFFER_PTS(batch) = 0;
    EI_CHECK(gst_app_src_push_buffer(src, batch) == GST_FLOW_OK);
    gst_app_src_end_of_stream(src);
    GstSample * s = gst_app_sink_pull_sample(sink);
    EI_CHECK(s != NULL);
    if (s) {
        EI_CHECK(gst_ei_caps_is_batch(gst_sample_get_caps(s)));
        GstEiBatchMeta * out = gst_buffer_get_ei_batch_meta(gst_sample_get_buffer(s));
        EI_CHECK(out && out->n_frames == (guint)n_frames);
        for (guint i = 0; out && i < out->n_frames; i++) {
            GstEiFrameMeta * meta = gst_buffer_get_ei_frame_meta(out->frames[i].buffer);
            check_against_ref(&g_ref, out->frames[i].buffer, &out->frames[i].info, meta, "batch frame");
            if (meta) EI_CHECK(meta->source_id == sources[i] && meta->frame_number == numbers[i]);
        }
        gst_sample_unref(s);
    }
    EI_CHECK(gst_app_sink_pull_sample(sink) == NULL);
    finish(p, src, sink);
}

/* interval=2: frames 0, 3, 6 are inferred; the others carry inferred=FALSE and no objects. */
static void test_interval(void) {
    GstAppSrc *  src;
    GstAppSink * sink;
    GstElement * p = make_pipeline("interval=2 unique-id=7", &src, &sink);
    EI_CHECK(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    const int n_frames = 7;
    for (int i = 0; i < n_frames; i++) {
        GstVideoInfo info;
        push_frame(src, make_frame(0, GST_VIDEO_FORMAT_BGR, &info), &info, i);
    }
    gst_app_src_end_of_stream(src);
    int n = 0;
    for (GstSample * s; (s = gst_app_sink_pull_sample(sink)) != NULL; n++) {
        GstVideoInfo info;
        gst_video_info_from_caps(&info, gst_sample_get_caps(s));
        GstBuffer *      buf = gst_sample_get_buffer(s);
        GstEiFrameMeta * meta = gst_buffer_get_ei_frame_meta(buf);
        EI_CHECK(meta != NULL);
        if (meta) {
            EI_CHECK(meta->unique_id == 7 && meta->frame_number == (guint64)n);
            EI_CHECK(gst_buffer_get_ei_frame_meta_by_id(buf, 7) == meta);
            if (n % 3 == 0) {
                EI_CHECK(check_against_ref(&g_ref, buf, &info, meta, "interval") > 0);
            } else {
                EI_CHECK(!meta->inferred && meta->n_objects == 0 && meta->mask == NULL);
                EI_CHECK(gst_buffer_get_meta(buf, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) == NULL);
            }
        }
        gst_sample_unref(s);
    }
    EI_CHECK(n == n_frames);
    finish(p, src, sink);
}

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    char * model = asset_path("models/coco_detection/yolox_nano_416.onnx");
    g_free(model);
    load_images();
    g_config = localised_config("yolox_nano.ini", NULL);
    ref_open(&g_ref, g_config);
    EI_RUN(test_bgr);
    EI_RUN(test_rgb);
    EI_RUN(test_nv12);
    EI_RUN(test_i420);
    EI_RUN(test_batch);
    EI_RUN(test_interval);
    ref_close(&g_ref);
    for (int i = 0; i < g_n_images; i++) ei_image_free(&g_bgr[i]);
    remove(g_config);
    g_free(g_config);
    gst_deinit();
    EI_TEST_EXIT();
}
