#include "gsteimeta.h"

#include <string.h>

static gboolean frame_meta_init(GstMeta * meta, gpointer params, GstBuffer * buffer) {
    (void)params;
    (void)buffer;
    GstEiFrameMeta * m = (GstEiFrameMeta *)meta;
    /* GstMeta's own fields are already set; clear everything after them. */
    memset((char *)m + sizeof(GstMeta), 0, sizeof(*m) - sizeof(GstMeta));
    return TRUE;
}

static void frame_meta_free(GstMeta * meta, GstBuffer * buffer) {
    (void)buffer;
    GstEiFrameMeta * m = (GstEiFrameMeta *)meta;
    g_free(m->objects);
    g_free(m->mask);
    g_free(m->class_pixels);
    m->objects = NULL;
    m->mask = NULL;
    m->class_pixels = NULL;
}

static void copy_fields(GstEiFrameMeta * dst, const GstEiFrameMeta * src) {
    dst->source_id = src->source_id;
    dst->frame_number = src->frame_number;
    dst->unique_id = src->unique_id;
    dst->inferred = src->inferred;
    dst->frame_width = src->frame_width;
    dst->frame_height = src->frame_height;
    dst->times = src->times;
    gst_ei_frame_meta_set_objects(dst, src->objects, src->n_objects);
    gst_ei_frame_meta_set_mask(dst, src->mask_width, src->mask_height, src->n_classes, src->mask, src->class_pixels);
}

/* Copies travel with buffer copies; on a scale (videoscale) the boxes follow the frame, the mask
 * keeps its own size (it covers the whole frame either way). Other transforms drop the meta,
 * since the coordinates would no longer mean anything. */
static gboolean frame_meta_transform(GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type, gpointer data) {
    (void)buffer;
    GstEiFrameMeta * src = (GstEiFrameMeta *)meta;
    if (GST_META_TRANSFORM_IS_COPY(type)) {
        GstEiFrameMeta * dst = gst_buffer_add_ei_frame_meta(dest);
        if (!dst) return FALSE;
        copy_fields(dst, src);
        return TRUE;
    }
    if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
        GstVideoMetaTransform * t = data;
        GstEiFrameMeta *        dst;
        if (src->frame_width <= 0 || src->frame_height <= 0) return FALSE;
        dst = gst_buffer_add_ei_frame_meta(dest);
        if (!dst) return FALSE;
        copy_fields(dst, src);
        gfloat sx = (gfloat)GST_VIDEO_INFO_WIDTH(t->out_info) / (gfloat)src->frame_width;
        gfloat sy = (gfloat)GST_VIDEO_INFO_HEIGHT(t->out_info) / (gfloat)src->frame_height;
        dst->frame_width = GST_VIDEO_INFO_WIDTH(t->out_info);
        dst->frame_height = GST_VIDEO_INFO_HEIGHT(t->out_info);
        for (guint i = 0; i < dst->n_objects; i++) {
            dst->objects[i].x *= sx;
            dst->objects[i].w *= sx;
            dst->objects[i].y *= sy;
            dst->objects[i].h *= sy;
        }
        return TRUE;
    }
    return FALSE;
}

GType gst_ei_frame_meta_api_get_type(void) {
    static GType         type;
    static const gchar * tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL};
    if (g_once_init_enter(&type)) {
        GType t = gst_meta_api_type_register("GstEiFrameMetaAPI", tags);
        g_once_init_leave(&type, t);
    }
    return type;
}

const GstMetaInfo * gst_ei_frame_meta_get_info(void) {
    static const GstMetaInfo * info = NULL;
    if (g_once_init_enter((GstMetaInfo **)&info)) {
        const GstMetaInfo * mi = gst_meta_register(GST_EI_FRAME_META_API_TYPE, "GstEiFrameMeta", sizeof(GstEiFrameMeta),
                                                   frame_meta_init, frame_meta_free, frame_meta_transform);
        g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
    }
    return info;
}

GstEiFrameMeta * gst_buffer_add_ei_frame_meta(GstBuffer * buffer) {
    g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
    return (GstEiFrameMeta *)gst_buffer_add_meta(buffer, GST_EI_FRAME_META_INFO, NULL);
}

GstEiFrameMeta * gst_buffer_get_ei_frame_meta(GstBuffer * buffer) {
    return (GstEiFrameMeta *)gst_buffer_get_meta(buffer, GST_EI_FRAME_META_API_TYPE);
}

GstEiFrameMeta * gst_buffer_get_ei_frame_meta_by_id(GstBuffer * buffer, guint unique_id) {
    gpointer  state = NULL;
    GstMeta * m;
    while ((m = gst_buffer_iterate_meta_filtered(buffer, &state, GST_EI_FRAME_META_API_TYPE))) {
        if (((GstEiFrameMeta *)m)->unique_id == unique_id) return (GstEiFrameMeta *)m;
    }
    return NULL;
}

void gst_ei_frame_meta_set_objects(GstEiFrameMeta * meta, const GstEiObject * objects, guint n) {
    g_free(meta->objects);
    meta->objects = (n && objects) ? g_memdup2(objects, sizeof(*objects) * n) : NULL;
    meta->n_objects = meta->objects ? n : 0;
}

void gst_ei_frame_meta_set_mask(GstEiFrameMeta * meta, gint width, gint height, gint n_classes, const guint8 * mask,
                                const gint64 * class_pixels) {
    g_free(meta->mask);
    g_free(meta->class_pixels);
    meta->mask = NULL;
    meta->class_pixels = NULL;
    meta->mask_width = meta->mask_height = meta->n_classes = 0;
    if (!mask || width <= 0 || height <= 0) return;
    meta->mask = g_memdup2(mask, (gsize)width * (gsize)height);
    meta->mask_width = width;
    meta->mask_height = height;
    meta->n_classes = n_classes;
    if (class_pixels && n_classes > 0) meta->class_pixels = g_memdup2(class_pixels, sizeof(gint64) * (gsize)n_classes);
}

void gst_ei_frame_meta_add_roi_metas(GstBuffer * buffer, const GstEiFrameMeta * meta) {
    for (guint i = 0; i < meta->n_objects; i++) {
        const GstEiObject * o = &meta->objects[i];
        gchar               name[32];
        const gchar *       type = o->label ? g_quark_to_string(o->label) : NULL;
        if (!type) {
            g_snprintf(name, sizeof name, "class-%d", o->class_id);
            type = name;
        }
        /* ROI coordinates are unsigned pixels: clip to the frame. */
        gfloat x0 = CLAMP(o->x, 0.f, (gfloat)meta->frame_width), y0 = CLAMP(o->y, 0.f, (gfloat)meta->frame_height);
        gfloat x1 = CLAMP(o->x + o->w, 0.f, (gfloat)meta->frame_width);
        gfloat y1 = CLAMP(o->y + o->h, 0.f, (gfloat)meta->frame_height);
        GstVideoRegionOfInterestMeta * roi = gst_buffer_add_video_region_of_interest_meta(
            buffer, type, (guint)(x0 + 0.5f), (guint)(y0 + 0.5f), (guint)(x1 - x0 + 0.5f), (guint)(y1 - y0 + 0.5f));
        if (!roi) continue;
        roi->id = (gint)i;
        gst_video_region_of_interest_meta_add_param(
            roi, gst_structure_new("detection", "class-id", G_TYPE_INT, o->class_id, "confidence", G_TYPE_DOUBLE,
                                   (gdouble)o->confidence, "unique-id", G_TYPE_UINT, meta->unique_id, NULL));
    }
}
