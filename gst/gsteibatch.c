#include "gsteibatch.h"

#include <string.h>

static gboolean batch_meta_init(GstMeta * meta, gpointer params, GstBuffer * buffer) {
    (void)params;
    (void)buffer;
    GstEiBatchMeta * m = (GstEiBatchMeta *)meta;
    m->n_frames = 0;
    m->capacity = 0;
    m->frames = NULL;
    return TRUE;
}

static void batch_meta_free(GstMeta * meta, GstBuffer * buffer) {
    (void)buffer;
    GstEiBatchMeta * m = (GstEiBatchMeta *)meta;
    for (guint i = 0; i < m->n_frames; i++) gst_buffer_unref(m->frames[i].buffer);
    g_free(m->frames);
    m->frames = NULL;
    m->n_frames = m->capacity = 0;
}

/* Only copies: the frames are whole buffers of their own, so no other transform applies to them. */
static gboolean batch_meta_transform(GstBuffer * dest, GstMeta * meta, GstBuffer * buffer, GQuark type, gpointer data) {
    (void)buffer;
    (void)data;
    if (!GST_META_TRANSFORM_IS_COPY(type)) return FALSE;
    GstEiBatchMeta * src = (GstEiBatchMeta *)meta;
    GstEiBatchMeta * dst = gst_buffer_add_ei_batch_meta(dest);
    if (!dst) return FALSE;
    for (guint i = 0; i < src->n_frames; i++) {
        const GstEiBatchFrame * f = &src->frames[i];
        gst_ei_batch_meta_append(dst, gst_buffer_ref(f->buffer), &f->info, f->source_id, f->frame_number);
    }
    return TRUE;
}

GType gst_ei_batch_meta_api_get_type(void) {
    static GType         type;
    static const gchar * tags[] = {NULL};
    if (g_once_init_enter(&type)) {
        GType t = gst_meta_api_type_register("GstEiBatchMetaAPI", tags);
        g_once_init_leave(&type, t);
    }
    return type;
}

const GstMetaInfo * gst_ei_batch_meta_get_info(void) {
    static const GstMetaInfo * info = NULL;
    if (g_once_init_enter((GstMetaInfo **)&info)) {
        const GstMetaInfo * mi = gst_meta_register(GST_EI_BATCH_META_API_TYPE, "GstEiBatchMeta", sizeof(GstEiBatchMeta),
                                                   batch_meta_init, batch_meta_free, batch_meta_transform);
        g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
    }
    return info;
}

GstEiBatchMeta * gst_buffer_add_ei_batch_meta(GstBuffer * buffer) {
    g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
    return (GstEiBatchMeta *)gst_buffer_add_meta(buffer, GST_EI_BATCH_META_INFO, NULL);
}

GstEiBatchMeta * gst_buffer_get_ei_batch_meta(GstBuffer * buffer) {
    return (GstEiBatchMeta *)gst_buffer_get_meta(buffer, GST_EI_BATCH_META_API_TYPE);
}

void gst_ei_batch_meta_append(GstEiBatchMeta * meta, GstBuffer * frame, const GstVideoInfo * info, guint source_id,
                              guint64 frame_number) {
    if (meta->n_frames == meta->capacity) {
        meta->capacity = meta->capacity ? meta->capacity * 2 : 4;
        meta->frames = g_renew(GstEiBatchFrame, meta->frames, meta->capacity);
    }
    GstEiBatchFrame * f = &meta->frames[meta->n_frames++];
    f->buffer = frame;
    f->info = *info;
    f->source_id = source_id;
    f->frame_number = frame_number;
}

GstBuffer * gst_ei_batch_frame_make_writable(GstEiBatchMeta * meta, guint i) {
    g_return_val_if_fail(i < meta->n_frames, NULL);
    meta->frames[i].buffer = gst_buffer_make_writable(meta->frames[i].buffer);
    return meta->frames[i].buffer;
}

guint gst_ei_frames_collect(GstBuffer ** buffer, const GstVideoInfo * single, guint64 single_frame_number,
                            gboolean writable, GstEiFrameRef * refs, guint max_refs) {
    GstEiBatchMeta * bm = gst_buffer_get_ei_batch_meta(*buffer);
    if (!bm) {
        if (!single || max_refs == 0) return 0;
        refs[0].slot = buffer;
        refs[0].info = single;
        refs[0].source_id = 0;
        refs[0].frame_number = single_frame_number;
        return 1;
    }
    guint n = MIN(bm->n_frames, max_refs);
    for (guint i = 0; i < n; i++) {
        if (writable) gst_ei_batch_frame_make_writable(bm, i);
        refs[i].slot = &bm->frames[i].buffer;
        refs[i].info = &bm->frames[i].info;
        refs[i].source_id = bm->frames[i].source_id;
        refs[i].frame_number = bm->frames[i].frame_number;
    }
    return n;
}

gboolean gst_ei_caps_is_batch(const GstCaps * caps) {
    if (!caps || gst_caps_get_size(caps) == 0) return FALSE;
    return gst_structure_has_name(gst_caps_get_structure(caps, 0), GST_EI_BATCH_MEDIA_TYPE);
}
