/* edgeosd: draws the results of every GstEiFrameMeta (or one model's) on its frame, in place.
 *
 * Boxes and "label 0.87" captions look as ei_draw_detections draws them; segmentation masks are
 * blended with mask-alpha (a mask of another size than the frame is scaled nearest-neighbour).
 * RGB, BGR, NV12 and I420 are drawn directly (no colour conversion), plain frames and batches
 * alike; the time spent on a frame goes into each of its metas' times.osd_ms. */
#include <string.h>

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "edgeinfer/draw.h"
#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_ei_osd_debug);
#define GST_CAT_DEFAULT gst_ei_osd_debug

#define GST_TYPE_EI_OSD (gst_ei_osd_get_type())
G_DECLARE_FINAL_TYPE(GstEiOsd, gst_ei_osd, GST, EI_OSD, GstBaseTransform)

/* Frames of one batch drawn at most (a batch holds one frame per source). */
#define EI_OSD_MAX_FRAMES 256

typedef struct {
    gboolean display_bbox, display_text, display_mask;
    gdouble  mask_alpha;
    guint    border_width, text_scale, unique_id;
} GstEiOsdSettings;

struct _GstEiOsd {
    GstBaseTransform parent;
    GstEiOsdSettings settings; /* under the object lock */
    gboolean         batch;
    GstVideoInfo     info;
    guint64          frame_count;
    guint8 *         scaled_mask; /* a mask scaled to the frame's size */
    gsize            scaled_size;
};

enum {
    PROP_0,
    PROP_DISPLAY_BBOX,
    PROP_DISPLAY_TEXT,
    PROP_DISPLAY_MASK,
    PROP_MASK_ALPHA,
    PROP_BORDER_WIDTH,
    PROP_TEXT_SCALE,
    PROP_UNIQUE_ID,
};

#define EI_OSD_CAPS "video/x-raw, format = (string) " GST_EI_VIDEO_FORMATS "; " GST_EI_BATCH_CAPS

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(EI_OSD_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(EI_OSD_CAPS));

G_DEFINE_TYPE(GstEiOsd, gst_ei_osd, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(edgeosd, "edgeosd", GST_RANK_NONE, GST_TYPE_EI_OSD)

static void gst_ei_osd_set_property(GObject * object, guint id, const GValue * value, GParamSpec * pspec) {
    GstEiOsd * self = GST_EI_OSD(object);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_DISPLAY_BBOX: self->settings.display_bbox = g_value_get_boolean(value); break;
    case PROP_DISPLAY_TEXT: self->settings.display_text = g_value_get_boolean(value); break;
    case PROP_DISPLAY_MASK: self->settings.display_mask = g_value_get_boolean(value); break;
    case PROP_MASK_ALPHA: self->settings.mask_alpha = g_value_get_double(value); break;
    case PROP_BORDER_WIDTH: self->settings.border_width = g_value_get_uint(value); break;
    case PROP_TEXT_SCALE: self->settings.text_scale = g_value_get_uint(value); break;
    case PROP_UNIQUE_ID: self->settings.unique_id = g_value_get_uint(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void gst_ei_osd_get_property(GObject * object, guint id, GValue * value, GParamSpec * pspec) {
    GstEiOsd * self = GST_EI_OSD(object);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_DISPLAY_BBOX: g_value_set_boolean(value, self->settings.display_bbox); break;
    case PROP_DISPLAY_TEXT: g_value_set_boolean(value, self->settings.display_text); break;
    case PROP_DISPLAY_MASK: g_value_set_boolean(value, self->settings.display_mask); break;
    case PROP_MASK_ALPHA: g_value_set_double(value, self->settings.mask_alpha); break;
    case PROP_BORDER_WIDTH: g_value_set_uint(value, self->settings.border_width); break;
    case PROP_TEXT_SCALE: g_value_set_uint(value, self->settings.text_scale); break;
    case PROP_UNIQUE_ID: g_value_set_uint(value, self->settings.unique_id); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void gst_ei_osd_finalize(GObject * object) {
    GstEiOsd * self = GST_EI_OSD(object);
    g_free(self->scaled_mask);
    G_OBJECT_CLASS(gst_ei_osd_parent_class)->finalize(object);
}

static gboolean gst_ei_osd_set_caps(GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps) {
    GstEiOsd * self = GST_EI_OSD(trans);
    (void)outcaps;
    self->batch = gst_ei_caps_is_batch(incaps);
    if (!self->batch && !gst_video_info_from_caps(&self->info, incaps)) {
        gchar * str = gst_caps_to_string(incaps);
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("edgeosd: cannot parse caps %s", str), (NULL));
        g_free(str);
        return FALSE;
    }
    return TRUE;
}

static gboolean gst_ei_osd_start(GstBaseTransform * trans) {
    GST_EI_OSD(trans)->frame_count = 0;
    return TRUE;
}

/* The frame as an ei_image view, FALSE for a format drawing does not know. */
static gboolean image_from_frame(const GstVideoFrame * vf, ei_image * img) {
    memset(img, 0, sizeof *img);
    switch (GST_VIDEO_FRAME_FORMAT(vf)) {
    case GST_VIDEO_FORMAT_RGB: img->format = EI_PIXEL_RGB; break;
    case GST_VIDEO_FORMAT_BGR: img->format = EI_PIXEL_BGR; break;
    case GST_VIDEO_FORMAT_NV12: img->format = EI_PIXEL_NV12; break;
    case GST_VIDEO_FORMAT_I420: img->format = EI_PIXEL_I420; break;
    default: return FALSE;
    }
    img->width = GST_VIDEO_FRAME_WIDTH(vf);
    img->height = GST_VIDEO_FRAME_HEIGHT(vf);
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(vf) && p < 3; p++) {
        img->plane[p] = GST_VIDEO_FRAME_PLANE_DATA(vf, p);
        img->stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(vf, p);
    }
    return TRUE;
}

/* The meta's mask at the frame's size: itself, or scaled nearest-neighbour into scratch. */
static const guint8 * mask_for_frame(GstEiOsd * self, const GstEiFrameMeta * meta, gint w, gint h) {
    if (meta->mask_width == w && meta->mask_height == h) return meta->mask;
    const gsize need = (gsize)w * (gsize)h;
    if (self->scaled_size < need) {
        g_free(self->scaled_mask);
        self->scaled_mask = g_malloc(need);
        self->scaled_size = need;
    }
    for (gint y = 0; y < h; y++) {
        const gint     sy = (gint)(((gint64)y * meta->mask_height) / h);
        const guint8 * src = meta->mask + (gsize)sy * (gsize)meta->mask_width;
        guint8 *       dst = self->scaled_mask + (gsize)y * (gsize)w;
        for (gint x = 0; x < w; x++) dst[x] = src[((gint64)x * meta->mask_width) / w];
    }
    return self->scaled_mask;
}

static void draw_meta(GstEiOsd * self, const GstEiOsdSettings * s, ei_image * img, const GstEiFrameMeta * meta) {
    if (s->display_mask && meta->mask && meta->mask_width > 0 && meta->mask_height > 0) {
        ei_seg_map  map = {img->width, img->height, meta->n_classes,
                           (uint8_t *)mask_for_frame(self, meta, img->width, img->height), NULL};
        ei_status * st = ei_draw_seg_overlay(img, &map, (float)s->mask_alpha, 0);
        if (st) {
            GST_WARNING_OBJECT(self, "mask overlay: %s", ei_status_message(st));
            ei_status_destroy(st);
        }
    }
    if (!s->display_bbox && !s->display_text) return;
    /* The boxes refer to frame_width x frame_height: scale them to the frame when it differs. */
    const double        sx = meta->frame_width > 0 ? (double)img->width / meta->frame_width : 1.0;
    const double        sy = meta->frame_height > 0 ? (double)img->height / meta->frame_height : 1.0;
    const ei_draw_style style = {(int32_t)MIN(s->border_width, 4096u), (int32_t)MIN(s->text_scale, 256u),
                                 !s->display_bbox, !s->display_text};
    for (guint i = 0; i < meta->n_objects; i++) {
        const GstEiObject * o = &meta->objects[i];
        ei_detection        d = {(float)(o->x * sx),          (float)(o->y * sy), (float)((o->x + o->w) * sx),
                                 (float)((o->y + o->h) * sy), o->confidence,      o->class_id};
        ei_draw_detection(img, &d, o->label ? g_quark_to_string(o->label) : NULL, &style);
    }
}

static gboolean meta_selected(const GstEiFrameMeta * m, guint unique_id) {
    return unique_id == 0 || m->unique_id == unique_id;
}

/* Draws every selected meta of the frame in *slot (writable). */
static GstFlowReturn draw_frame(GstEiOsd * self, const GstEiOsdSettings * s, GstBuffer * buf,
                                const GstVideoInfo * info) {
    gpointer  state = NULL;
    GstMeta * m;
    gboolean  any = FALSE;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_EI_FRAME_META_API_TYPE)))
        any |= meta_selected((GstEiFrameMeta *)m, s->unique_id);
    if (!any) return GST_FLOW_OK;

    const gint64  t0 = g_get_monotonic_time();
    GstVideoFrame vf;
    if (!gst_video_frame_map(&vf, info, buf, GST_MAP_READWRITE)) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED,
                          ("edgeosd: cannot map a %dx%d %s frame for writing", GST_VIDEO_INFO_WIDTH(info),
                           GST_VIDEO_INFO_HEIGHT(info), gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(info))),
                          (NULL));
        return GST_FLOW_ERROR;
    }
    ei_image img;
    if (!image_from_frame(&vf, &img)) {
        gst_video_frame_unmap(&vf);
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("edgeosd: cannot draw on format %s (RGB, BGR, NV12 or I420)",
                           gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(info))),
                          (NULL));
        return GST_FLOW_ERROR;
    }
    state = NULL;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_EI_FRAME_META_API_TYPE)))
        if (meta_selected((GstEiFrameMeta *)m, s->unique_id)) draw_meta(self, s, &img, (GstEiFrameMeta *)m);
    gst_video_frame_unmap(&vf);

    const gdouble ms = (gdouble)(g_get_monotonic_time() - t0) / 1000.0;
    state = NULL;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_EI_FRAME_META_API_TYPE)))
        if (meta_selected((GstEiFrameMeta *)m, s->unique_id)) ((GstEiFrameMeta *)m)->times.osd_ms = ms;
    return GST_FLOW_OK;
}

static GstFlowReturn gst_ei_osd_transform_ip(GstBaseTransform * trans, GstBuffer * buf) {
    GstEiOsd *       self = GST_EI_OSD(trans);
    GstEiOsdSettings s;
    GST_OBJECT_LOCK(self);
    s = self->settings;
    GST_OBJECT_UNLOCK(self);
    if (!s.display_bbox && !s.display_text && !s.display_mask) return GST_FLOW_OK;

    GstEiFrameRef refs[EI_OSD_MAX_FRAMES];
    GstBuffer *   b = buf;
    const guint   n =
        gst_ei_frames_collect(&b, self->batch ? NULL : &self->info, self->frame_count++, TRUE, refs, EI_OSD_MAX_FRAMES);
    for (guint i = 0; i < n; i++) {
        GstFlowReturn ret = draw_frame(self, &s, *refs[i].slot, refs[i].info);
        if (ret != GST_FLOW_OK) return ret;
    }
    return GST_FLOW_OK;
}

static void gst_ei_osd_class_init(GstEiOsdClass * klass) {
    GObjectClass *          gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass *       element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass * trans_class = GST_BASE_TRANSFORM_CLASS(klass);

    gobject_class->set_property = gst_ei_osd_set_property;
    gobject_class->get_property = gst_ei_osd_get_property;
    gobject_class->finalize = gst_ei_osd_finalize;

    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
    g_object_class_install_property(
        gobject_class, PROP_DISPLAY_BBOX,
        g_param_spec_boolean("display-bbox", "Display boxes", "Draw the outline of each object's box", TRUE, rw));
    g_object_class_install_property(gobject_class, PROP_DISPLAY_TEXT,
                                    g_param_spec_boolean("display-text", "Display captions",
                                                         "Draw a \"label 0.87\" caption above each box", TRUE, rw));
    g_object_class_install_property(
        gobject_class, PROP_DISPLAY_MASK,
        g_param_spec_boolean("display-mask", "Display masks", "Blend segmentation masks over the frame", TRUE, rw));
    g_object_class_install_property(gobject_class, PROP_MASK_ALPHA,
                                    g_param_spec_double("mask-alpha", "Mask alpha",
                                                        "Opacity of the mask colours (0 = invisible, 1 = opaque)", 0.0,
                                                        1.0, 0.5, rw));
    g_object_class_install_property(
        gobject_class, PROP_BORDER_WIDTH,
        g_param_spec_uint("border-width", "Border width",
                          "Box outline width in pixels (0 = automatic: max(2, min(width, height) / 300))", 0, 4096, 0,
                          rw));
    g_object_class_install_property(
        gobject_class, PROP_TEXT_SCALE,
        g_param_spec_uint("text-scale", "Text scale",
                          "Integer scale of the 8x8 font (0 = automatic: max(1, min(width, height) / 540))", 0, 256, 0,
                          rw));
    g_object_class_install_property(gobject_class, PROP_UNIQUE_ID,
                                    g_param_spec_uint("unique-id", "Unique id",
                                                      "Draw only the results of this model (0 = every model's)", 0,
                                                      G_MAXUINT, 0, rw));

    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);
    gst_element_class_set_static_metadata(element_class, "edgeinfer on-screen display", "Filter/Effect/Video",
                                          "Draws edgeinfer detections and segmentation masks on frames in place",
                                          "edgeinfer");

    trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_ei_osd_set_caps);
    trans_class->start = GST_DEBUG_FUNCPTR(gst_ei_osd_start);
    trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ei_osd_transform_ip);
    trans_class->passthrough_on_same_caps = FALSE;

    GST_DEBUG_CATEGORY_INIT(gst_ei_osd_debug, "edgeosd", 0, "edgeinfer on-screen display");
}

static void gst_ei_osd_init(GstEiOsd * self) {
    self->settings = (GstEiOsdSettings){TRUE, TRUE, TRUE, 0.5, 0, 0, 0};
    gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
