/* Shared helpers of the edgeinfer element tests: assets, configs pointed at the assets, a reference
 * ei_infer, appsrc/appsink pipelines and the comparison of GstEiFrameMeta with ei_frame_result. */
#ifndef GST_INFER_COMMON_H
#define GST_INFER_COMMON_H

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeinfer/config.h"
#include "edgeinfer/infer.h"
#include "ei_test.h"
#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"

G_GNUC_UNUSED static const char * assets_dir(void) {
    const char * d = getenv("EI_ASSETS_DIR");
    return d && *d ? d : EI_DEFAULT_ASSETS_DIR;
}

/* Skips (exit 77) when an asset is missing. */
G_GNUC_UNUSED static char * asset_path(const char * rel) {
    char * p = g_build_filename(assets_dir(), rel, NULL);
    if (access(p, R_OK) != 0) EI_SKIP("asset %s is missing (set EI_ASSETS_DIR)", p);
    return p;
}

/* configs/NAME with its asset paths (written relative to configs/) pointed at the assets; extra
 * lines are appended to [property] when given. Returns the path of the copy (g_free). */
G_GNUC_UNUSED static char * localised_config(const char * name, const char * extra) {
    char *  src = g_build_filename(EI_SOURCE_DIR, "configs", name, NULL);
    gchar * text = NULL;
    if (!g_file_get_contents(src, &text, NULL, NULL)) {
        fprintf(stderr, "cannot read %s\n", src);
        exit(1);
    }
    gchar ** parts = g_strsplit(text, "../../shared/assets", -1);
    gchar *  fixed = g_strjoinv(assets_dir(), parts);
    if (extra) {
        gchar ** halves = g_strsplit(fixed, "[property]\n", 2);
        gchar *  joined = g_strdup_printf("%s[property]\n%s\n%s", halves[0], extra, halves[1] ? halves[1] : "");
        g_strfreev(halves);
        g_free(fixed);
        fixed = joined;
    }
    g_mkdir_with_parents(EI_TEST_WORK_DIR, 0755);
    gchar * out = g_strdup_printf("%s/%d-%s", EI_TEST_WORK_DIR, (int)getpid(), name);
    if (!g_file_set_contents(out, fixed, -1, NULL)) {
        fprintf(stderr, "cannot write %s\n", out);
        exit(1);
    }
    g_free(fixed);
    g_strfreev(parts);
    g_free(text);
    g_free(src);
    return out;
}

/* gst_init, static registration, and an engine cache shared by the element and the reference. */
G_GNUC_UNUSED static void test_setup(int * argc, char *** argv) {
    gchar * cache = g_build_filename(EI_TEST_WORK_DIR, "engine-cache", NULL);
    g_mkdir_with_parents(cache, 0755);
    g_setenv("EI_ENGINE_CACHE_DIR", cache, TRUE);
    g_free(cache);
    gst_init(argc, argv);
    if (!gst_ei_register_static()) {
        fprintf(stderr, "gst_ei_register_static failed\n");
        exit(1);
    }
}

/* The reference: the same config through ei_infer directly. */
typedef struct {
    ei_infer_config * cfg;
    ei_infer *        inf;
} Ref;

G_GNUC_UNUSED static void ref_open(Ref * r, const char * config) {
    memset(r, 0, sizeof *r);
    EI_CHECK_OK(ei_infer_config_load(config, &r->cfg));
    if (!r->cfg) exit(1);
    ei_infer_options io = ei_infer_options_default();
    io.cache_dir = getenv("EI_ENGINE_CACHE_DIR");
    EI_CHECK_OK(ei_infer_create(r->cfg, &io, &r->inf));
    if (!r->inf) exit(1);
}

G_GNUC_UNUSED static void ref_close(Ref * r) {
    ei_infer_destroy(r->inf);
    ei_infer_config_destroy(r->cfg);
}

/* The ei_image format of a GstVideoFormat the tests use. */
G_GNUC_UNUSED static ei_pixel_format ei_format_of(GstVideoFormat f) {
    switch (f) {
    case GST_VIDEO_FORMAT_RGB: return EI_PIXEL_RGB;
    case GST_VIDEO_FORMAT_NV12: return EI_PIXEL_NV12;
    case GST_VIDEO_FORMAT_I420: return EI_PIXEL_I420;
    default: return EI_PIXEL_BGR;
    }
}

/* Runs the reference on the pixels of buf (described by info) and checks meta against it. */
G_GNUC_UNUSED static int check_against_ref(Ref * ref, GstBuffer * buf, const GstVideoInfo * info,
                                           const GstEiFrameMeta * meta, const char * what) {
    int before = ei_test_failures;
    EI_CHECK(meta != NULL);
    if (!meta) return 0;
    GstVideoFrame vf;
    EI_CHECK(gst_video_frame_map(&vf, info, buf, GST_MAP_READ));
    ei_image img = {0};
    img.format = ei_format_of(GST_VIDEO_INFO_FORMAT(info));
    img.width = GST_VIDEO_INFO_WIDTH(info);
    img.height = GST_VIDEO_INFO_HEIGHT(info);
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&vf); p++) {
        img.plane[p] = GST_VIDEO_FRAME_PLANE_DATA(&vf, p);
        img.stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p);
    }
    ei_frame_result res = {0};
    EI_CHECK_OK(ei_infer_run(ref->inf, &img, 1, &res));
    gst_video_frame_unmap(&vf);
    EI_CHECK(meta->inferred);
    EI_CHECK(meta->frame_width == img.width && meta->frame_height == img.height);
    EI_CHECK(meta->n_objects == (guint)res.detections.count);
    const ei_labels * labels = ei_infer_labels(ref->inf);
    for (guint k = 0; k < meta->n_objects && k < (guint)res.detections.count; k++) {
        const GstEiObject *  o = &meta->objects[k];
        const ei_detection * d = &res.detections.items[k];
        EI_CHECK(o->x == d->x1 && o->y == d->y1 && o->w == d->x2 - d->x1 && o->h == d->y2 - d->y1);
        EI_CHECK(o->confidence == d->score && o->class_id == d->class_id);
        const char * name = labels ? ei_labels_name(labels, d->class_id) : NULL;
        EI_CHECK(name && o->label && strcmp(g_quark_to_string(o->label), name) == 0);
    }
    /* One ROI meta per object. */
    guint    n_roi = 0;
    gpointer state = NULL;
    while (gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) n_roi++;
    EI_CHECK(n_roi == meta->n_objects);
    if (ei_test_failures != before)
        fprintf(stderr, "%s: %u objects in the meta, %d from ei_infer\n", what, meta->n_objects, res.detections.count);
    int n = res.detections.count;
    ei_frame_result_free(&res);
    return n;
}

/* The first error message on the bus (g_free), or NULL. */
G_GNUC_UNUSED static gchar * bus_error(GstElement * pipeline) {
    GstBus *     bus = gst_element_get_bus(pipeline);
    GstMessage * msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gchar *      text = NULL;
    if (msg) {
        GError * err = NULL;
        gst_message_parse_error(msg, &err, NULL);
        text = g_strdup(err->message);
        g_error_free(err);
        gst_message_unref(msg);
    }
    gst_object_unref(bus);
    return text;
}

/* Waits for EOS or an error; returns TRUE on EOS. */
G_GNUC_UNUSED static gboolean wait_eos(GstElement * pipeline) {
    GstBus *     bus = gst_element_get_bus(pipeline);
    GstMessage * msg =
        gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gboolean eos = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    if (msg && !eos) {
        GError * err = NULL;
        gchar *  dbg = NULL;
        gst_message_parse_error(msg, &err, &dbg);
        fprintf(stderr, "pipeline error: %s (%s)\n", err->message, dbg ? dbg : "");
        g_error_free(err);
        g_free(dbg);
    }
    if (msg) gst_message_unref(msg);
    gst_object_unref(bus);
    return eos;
}

/* How many frames the model tests run: fewer in the (slow) sanitizer / debug build. */
G_GNUC_UNUSED static int frames_budget(int release) {
#ifdef EI_GST_INFER_SMALL
    (void)release;
    return 6;
#else
    return release;
#endif
}

#endif
