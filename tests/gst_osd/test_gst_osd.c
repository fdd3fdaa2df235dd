/* edgeosd and edgejson in a pipeline: appsrc (frames made here, each with a GstEiFrameMeta of known
 * objects and a mask) -> edgeosd -> edgejson location=FILE -> appsink.
 *  - every frame leaves edgeosd byte-identical to the same drawing done by the library
 *    (ei_draw_seg_overlay + ei_draw_detections_named) on a copy, in RGB, BGR, NV12 and I420, with a
 *    mask of the frame's size and one of half its size (scaled nearest-neighbour);
 *  - the JSON file has one parsable line per frame with the right values (labels with quotes,
 *    backslashes and control characters round-trip; frames without results get a record too);
 *  - a batch (built by hand) is drawn frame by frame, one record per frame with its source id;
 *  - the GstEiSourceEos custom event passes both elements;
 *  - an unwritable location fails the state change with an error naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "edgeinfer/draw.h"
#include "ei_test.h"
#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"
#include "vision/json.h"

#define W 96
#define H 64

static const char * const LABEL_QUOTE = "say \"hi\" \\ \t\x01";

/* Class names as the meta's label quarks give them (NULL: no label, "class N"). */
static const char * names[8] = {[2] = "car", [7] = NULL};

static void init_names(void) { names[7] = LABEL_QUOTE; }

static GstBuffer * make_frame(GstVideoFormat fmt, guint seed, GstVideoInfo * info) {
    gst_video_info_set_format(info, fmt, W, H);
    GstBuffer * buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
    GstMapInfo  map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; i++) map.data[i] = (guint8)((i * 7 + seed * 13) % 251);
    gst_buffer_unmap(buf, &map);
    gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, fmt, W, H, GST_VIDEO_INFO_N_PLANES(info),
                                   info->offset, info->stride);
    return buf;
}

/* Objects (one with a quoted label, one without a label) and a mask of mw x mh. */
static void add_results(GstBuffer * buf, guint source_id, guint64 frame, gint mw, gint mh) {
    GstEiFrameMeta * m = gst_buffer_add_ei_frame_meta(buf);
    m->source_id = source_id;
    m->frame_number = frame;
    m->unique_id = 3;
    m->inferred = TRUE;
    m->frame_width = W;
    m->frame_height = H;
    m->times.infer_ms = 12.5;
    const GstEiObject objs[3] = {
        {10.4f, 12.0f, 40.0f, 30.0f, 0.8712f, 2, g_quark_from_string("car")},
        {50.0f, 30.0f, 30.0f, 25.5f, 0.5f, 5, 0},
        {-5.0f, 40.0f, 20.0f, 30.0f, 0.25f, 7, g_quark_from_string(LABEL_QUOTE)},
    };
    gst_ei_frame_meta_set_objects(m, objs, 3);
    if (mw > 0) {
        guint8 * mask = g_malloc((gsize)mw * (gsize)mh);
        gint64   pixels[21] = {0};
        for (gint y = 0; y < mh; y++)
            for (gint x = 0; x < mw; x++) {
                guint8 k = 0;
                if (x >= mw / 4 && x < mw / 2 && y >= mh / 3) k = 15;
                if (x > mw - 4) k = 255;
                mask[y * mw + x] = k;
                if (k < 21) pixels[k]++;
            }
        gst_ei_frame_meta_set_mask(m, mw, mh, 21, mask, pixels);
        g_free(mask);
    }
}

static void image_of(GstVideoFrame * vf, ei_image * img) {
    memset(img, 0, sizeof *img);
    switch (GST_VIDEO_FRAME_FORMAT(vf)) {
    case GST_VIDEO_FORMAT_RGB: img->format = EI_PIXEL_RGB; break;
    case GST_VIDEO_FORMAT_BGR: img->format = EI_PIXEL_BGR; break;
    case GST_VIDEO_FORMAT_NV12: img->format = EI_PIXEL_NV12; break;
    default: img->format = EI_PIXEL_I420; break;
    }
    img->width = GST_VIDEO_FRAME_WIDTH(vf);
    img->height = GST_VIDEO_FRAME_HEIGHT(vf);
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(vf); p++) {
        img->plane[p] = GST_VIDEO_FRAME_PLANE_DATA(vf, p);
        img->stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(vf, p);
    }
}

/* What edgeosd must make of frame (which carries add_results' meta): drawn by the library. */
static GstBuffer * reference(GstBuffer * frame, const GstVideoInfo * info) {
    GstBuffer *      ref = gst_buffer_copy_deep(frame);
    GstEiFrameMeta * m = gst_buffer_get_ei_frame_meta(ref);
    GstVideoFrame    vf;
    EI_CHECK(gst_video_frame_map(&vf, info, ref, GST_MAP_READWRITE));
    ei_image img;
    image_of(&vf, &img);
    if (m->mask) {
        guint8 * full = g_malloc(W * H);
        for (gint y = 0; y < H; y++)
            for (gint x = 0; x < W; x++)
                full[y * W + x] = m->mask[(y * m->mask_height / H) * m->mask_width + x * m->mask_width / W];
        ei_seg_map map = {W, H, 21, full, NULL};
        EI_CHECK_OK(ei_draw_seg_overlay(&img, &map, 0.5f, 0));
        g_free(full);
    }
    ei_detection d[3];
    for (guint i = 0; i < m->n_objects; i++) {
        const GstEiObject * o = &m->objects[i];
        d[i] = (ei_detection){o->x, o->y, o->x + o->w, o->y + o->h, o->confidence, o->class_id};
    }
    EI_CHECK_OK(ei_draw_detections_named(&img, d, (int32_t)m->n_objects, names, 8));
    gst_video_frame_unmap(&vf);
    return ref;
}

static gboolean same_pixels(GstBuffer * a, GstBuffer * b) {
    GstMapInfo ma, mb;
    gst_buffer_map(a, &ma, GST_MAP_READ);
    gst_buffer_map(b, &mb, GST_MAP_READ);
    gboolean same = ma.size == mb.size && memcmp(ma.data, mb.data, ma.size) == 0;
    gst_buffer_unmap(a, &ma);
    gst_buffer_unmap(b, &mb);
    return same;
}

static guint source_eos_seen;

static GstPadProbeReturn count_source_eos(GstPad * pad, GstPadProbeInfo * info, gpointer data) {
    (void)pad, (void)data;
    GstEvent * ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_DOWNSTREAM &&
        gst_structure_has_name(gst_event_get_structure(ev), "GstEiSourceEos"))
        source_eos_seen++;
    return GST_PAD_PROBE_OK;
}

typedef struct {
    GstElement *pipe, *src, *sink;
    gchar *     path;
} Pipe;

static Pipe pipe_new(const char * caps, const char * location) {
    Pipe     p;
    gchar *  desc = g_strdup_printf("appsrc name=src format=time caps=\"%s\" ! edgeosd name=osd ! "
                                     "edgejson name=json location=\"%s\" ! appsink name=sink sync=false",
                                    caps, location);
    GError * err = NULL;
    p.pipe = gst_parse_launch(desc, &err);
    if (err) {
        printf("parse: %s\n", err->message);
        g_error_free(err);
    }
    g_free(desc);
    p.src = gst_bin_get_by_name(GST_BIN(p.pipe), "src");
    p.sink = gst_bin_get_by_name(GST_BIN(p.pipe), "sink");
    p.path = g_strdup(location);
    GstPad * pad = gst_element_get_static_pad(p.sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, count_source_eos, NULL, NULL);
    gst_object_unref(pad);
    return p;
}

static void pipe_free(Pipe * p) {
    gst_element_set_state(p->pipe, GST_STATE_NULL);
    gst_object_unref(p->src);
    gst_object_unref(p->sink);
    gst_object_unref(p->pipe);
    g_free(p->path);
}

/* Waits for EOS; returns TRUE when no error came. */
static gboolean pipe_finish(Pipe * p) {
    gst_app_src_end_of_stream(GST_APP_SRC(p->src));
    GstBus *     bus = gst_element_get_bus(p->pipe);
    GstMessage * msg = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    gboolean     ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    if (msg) gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(p->pipe, GST_STATE_NULL); /* closes the file */
    return ok;
}

/* The JSON lines of path, parsed. */
static gint read_records(const char * path, ei_json ** recs, gint max) {
    gchar * text = NULL;
    gsize   len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL)) return -1;
    gint    n = 0;
    gchar * start = text;
    for (gchar * nl; (nl = strchr(start, '\n')); start = nl + 1) {
        if (n == max) break;
        ei_json * j = NULL;
        EI_CHECK_OK(ei_json_parse(start, (size_t)(nl - start), path, &j));
        recs[n++] = j;
    }
    EI_CHECK(*start == '\0'); /* every record ends its line */
    g_free(text);
    return n;
}

static double num(const ei_json * o, const char * key) {
    const ei_json * v = ei_json_object_get(o, key);
    return v && v->type == EI_JSON_TYPE_NUMBER ? v->number : NAN;
}

static const ei_json * nth(const ei_json * arr, gint i) {
    const ei_json * c = arr ? arr->child : NULL;
    while (c && i-- > 0) c = c->next;
    return c;
}

static void check_record(const ei_json * r, guint source, guint64 frame, gboolean with_results) {
    EI_CHECK(r && r->type == EI_JSON_TYPE_OBJECT);
    EI_CHECK(num(r, "source_id") == source);
    EI_CHECK(num(r, "frame") == (double)frame);
    EI_CHECK(num(r, "width") == W && num(r, "height") == H);
    const ei_json * objs = ei_json_object_get(r, "objects");
    EI_CHECK(objs && objs->type == EI_JSON_TYPE_ARRAY);
    const ei_json * inferred = ei_json_object_get(r, "inferred");
    if (!with_results) {
        EI_CHECK(objs && objs->n_children == 0);
        EI_CHECK(inferred && inferred->type == EI_JSON_TYPE_FALSE);
        return;
    }
    EI_CHECK(inferred && inferred->type == EI_JSON_TYPE_TRUE);
    EI_CHECK(num(r, "unique_id") == 3);
    EI_CHECK(objs && objs->n_children == 3);
    const ei_json * o0 = nth(objs, 0);
    EI_CHECK(num(o0, "class_id") == 2);
    EI_CHECK_NEAR(num(o0, "confidence"), 0.8712, 1e-9);
    const ei_json * l0 = ei_json_object_get(o0, "label");
    EI_CHECK(l0 && l0->type == EI_JSON_TYPE_STRING && strcmp(l0->str, "car") == 0);
    const ei_json * bbox = ei_json_object_get(o0, "bbox");
    EI_CHECK(bbox && bbox->n_children == 4);
    EI_CHECK_NEAR(nth(bbox, 0)->number, 10.4, 1e-9);
    EI_CHECK_NEAR(nth(bbox, 1)->number, 12.0, 1e-9);
    EI_CHECK_NEAR(nth(bbox, 2)->number, 40.0, 1e-9);
    EI_CHECK_NEAR(nth(bbox, 3)->number, 30.0, 1e-9);
    const ei_json * l1 = ei_json_object_get(nth(objs, 1), "label");
    EI_CHECK(l1 && l1->type == EI_JSON_TYPE_NULL);
    EI_CHECK_NEAR(nth(ei_json_object_get(nth(objs, 1), "bbox"), 3)->number, 25.5, 1e-9);
    const ei_json * l2 = ei_json_object_get(nth(objs, 2), "label");
    EI_CHECK(l2 && l2->type == EI_JSON_TYPE_STRING && strcmp(l2->str, LABEL_QUOTE) == 0);
    const ei_json * times = ei_json_object_get(r, "times_ms");
    EI_CHECK_NEAR(num(times, "infer"), 12.5, 1e-9);
    EI_CHECK(num(times, "osd") >= 0.0);
    const ei_json * seg = ei_json_object_get(r, "segmentation");
    if (seg) {
        const ei_json * px = ei_json_object_get(seg, "class_pixels");
        EI_CHECK(px && px->n_children == 2); /* classes 0 and 15 */
        EI_CHECK(num(px, "15") > 0 && num(px, "0") > 0);
    }
}

/* Plain frames of one format: one frame with a full-size mask, one with a half-size mask, one
 * without a mask, one without any results. */
static void test_frames(GstVideoFormat fmt) {
    gchar *      path = g_build_filename(g_get_tmp_dir(), "ei_test_gst_osd_XXXXXX", NULL);
    const gint   fd = g_mkstemp(path);
    GstVideoInfo info;
    gst_video_info_set_format(&info, fmt, W, H);
    info.fps_n = 30;
    info.fps_d = 1;
    GstCaps * c = gst_video_info_to_caps(&info);
    gchar *   cs = gst_caps_to_string(c);
    gst_caps_unref(c);
    close(fd);
    Pipe p = pipe_new(cs, path);
    g_free(cs);
    EI_CHECK(gst_element_set_state(p.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    enum { N = 4 };
    GstBuffer * refs[N];
    for (guint i = 0; i < N; i++) {
        GstBuffer * f = make_frame(fmt, i, &info);
        if (i < 3) add_results(f, 0, i, i == 0 ? W : i == 1 ? W / 2 : 0, i == 0 ? H : H / 2);
        GST_BUFFER_PTS(f) = i * GST_SECOND / 30;
        GST_BUFFER_DURATION(f) = GST_SECOND / 30;
        refs[i] = i < 3 ? reference(f, &info) : gst_buffer_copy_deep(f);
        if (i < 3) EI_CHECK(!same_pixels(refs[i], f)); /* the drawing changes the frame */
        EI_CHECK(gst_app_src_push_buffer(GST_APP_SRC(p.src), f) == GST_FLOW_OK);
    }
    source_eos_seen = 0;
    gst_element_send_event(
        p.src, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                                    gst_structure_new("GstEiSourceEos", "source-id", G_TYPE_UINT, 0u, NULL)));
    for (guint i = 0; i < N; i++) {
        GstSample * s = gst_app_sink_try_pull_sample(GST_APP_SINK(p.sink), 10 * GST_SECOND);
        EI_CHECK(s != NULL);
        if (!s) break;
        GstBuffer * out = gst_sample_get_buffer(s);
        if (!same_pixels(out, refs[i]))
            printf("%s frame %u differs from the library's drawing\n", gst_video_format_to_string(fmt), i);
        EI_CHECK(same_pixels(out, refs[i]));
        GstEiFrameMeta * m = gst_buffer_get_ei_frame_meta(out);
        if (i < 3) EI_CHECK(m && m->times.osd_ms > 0.0);
        gst_sample_unref(s);
    }
    EI_CHECK(pipe_finish(&p));
    EI_CHECK(source_eos_seen == 1);
    ei_json * recs[8];
    gint      n = read_records(path, recs, 8);
    EI_CHECK(n == N);
    for (gint i = 0; i < n; i++) {
        check_record(recs[i], 0, (guint64)i, i < 3);
        EI_CHECK_NEAR(num(recs[i], "pts"), i / 30.0, 1e-6);
        EI_CHECK((ei_json_object_get(recs[i], "segmentation") != NULL) == (i < 2));
        ei_json_destroy(recs[i]);
    }
    for (guint i = 0; i < N; i++) gst_buffer_unref(refs[i]);
    pipe_free(&p);
    g_unlink(path);
    g_free(path);
}

static void test_rgb(void) { test_frames(GST_VIDEO_FORMAT_RGB); }
static void test_bgr(void) { test_frames(GST_VIDEO_FORMAT_BGR); }
static void test_nv12(void) { test_frames(GST_VIDEO_FORMAT_NV12); }
static void test_i420(void) { test_frames(GST_VIDEO_FORMAT_I420); }

/* A batch of an I420 frame from source 3 and an RGB frame from source 5 (one without results). */
static void test_batch(void) {
    gchar * path = g_build_filename(g_get_tmp_dir(), "ei_test_gst_osd_XXXXXX", NULL);
    close(g_mkstemp(path));
    Pipe p = pipe_new(GST_EI_BATCH_CAPS, path);
    EI_CHECK(gst_element_set_state(p.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    GstVideoInfo ia, ib;
    GstBuffer *  fa = make_frame(GST_VIDEO_FORMAT_I420, 7, &ia), *fb = make_frame(GST_VIDEO_FORMAT_RGB, 8, &ib);
    GstBuffer *  fc = make_frame(GST_VIDEO_FORMAT_NV12, 9, &ib);
    GstVideoInfo ic;
    gst_video_info_set_format(&ic, GST_VIDEO_FORMAT_NV12, W, H);
    gst_video_info_set_format(&ib, GST_VIDEO_FORMAT_RGB, W, H);
    add_results(fa, 3, 10, W, H);
    add_results(fb, 5, 20, 0, 0);
    GstBuffer *ra = reference(fa, &ia), *rb = reference(fb, &ib), *rc = gst_buffer_copy_deep(fc);
    /* A second reference to fa, as if an upstream element still held it: edgeosd must not draw
     * on the shared buffer (gst_ei_frames_collect makes the frame writable). */
    GstBuffer *      held = gst_buffer_ref(fa);
    GstBuffer *      orig = gst_buffer_copy_deep(fa);
    GstBuffer *      batch = gst_buffer_new();
    GstEiBatchMeta * bm = gst_buffer_add_ei_batch_meta(batch);
    gst_ei_batch_meta_append(bm, fa, &ia, 3, 10);
    gst_ei_batch_meta_append(bm, fb, &ib, 5, 20);
    gst_ei_batch_meta_append(bm, fc, &ic, 6, 30);
    GST_BUFFER_PTS(batch) = 2 * GST_SECOND;
    EI_CHECK(gst_app_src_push_buffer(GST_APP_SRC(p.src), batch) == GST_FLOW_OK);
    GstSample * s = gst_app_sink_try_pull_sample(GST_APP_SINK(p.sink), 10 * GST_SECOND);
    EI_CHECK(s != NULL);
    if (s) {
        GstEiBatchMeta * out = gst_buffer_get_ei_batch_meta(gst_sample_get_buffer(s));
        EI_CHECK(out && out->n_frames == 3);
        if (out && out->n_frames == 3) {
            EI_CHECK(same_pixels(out->frames[0].buffer, ra));
            EI_CHECK(same_pixels(out->frames[1].buffer, rb));
            EI_CHECK(same_pixels(out->frames[2].buffer, rc));
        }
        gst_sample_unref(s);
    }
    EI_CHECK(same_pixels(held, orig));
    EI_CHECK(pipe_finish(&p));
    ei_json * recs[8];
    gint      n = read_records(path, recs, 8);
    EI_CHECK(n == 3);
    if (n == 3) {
        check_record(recs[0], 3, 10, TRUE);
        check_record(recs[1], 5, 20, TRUE);
        check_record(recs[2], 6, 30, FALSE);
        EI_CHECK_NEAR(num(recs[2], "pts"), 2.0, 1e-9); /* a frame without its own pts: the batch's */
    }
    for (gint i = 0; i < n; i++) ei_json_destroy(recs[i]);
    gst_buffer_unref(ra), gst_buffer_unref(rb), gst_buffer_unref(rc);
    gst_buffer_unref(held), gst_buffer_unref(orig);
    pipe_free(&p);
    g_unlink(path);
    g_free(path);
}

static void test_unwritable(void) {
    const char * bad = "/nonexistent-ei-dir/results.json";
    Pipe         p = pipe_new("video/x-raw,format=RGB,width=96,height=64,framerate=30/1", bad);
    EI_CHECK(gst_element_set_state(p.pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
    GstBus *     bus = gst_element_get_bus(p.pipe);
    GstMessage * msg = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
    EI_CHECK(msg != NULL);
    if (msg) {
        GError * err = NULL;
        gst_message_parse_error(msg, &err, NULL);
        EI_CHECK(strstr(err->message, bad) != NULL);
        g_error_free(err);
        gst_message_unref(msg);
    }
    gst_object_unref(bus);
    pipe_free(&p);
}

int main(int argc, char ** argv) {
    gst_init(&argc, &argv);
    if (!gst_ei_register_static()) EI_SKIP("the edgeinfer elements could not be registered");
    init_names();
    EI_RUN(test_rgb);
    EI_RUN(test_bgr);
    EI_RUN(test_nv12);
    EI_RUN(test_i420);
    EI_RUN(test_batch);
    EI_RUN(test_unwritable);
    gst_deinit();
    EI_TEST_EXIT();
}
