/* edgejson: writes one JSON Lines record per frame (plain frames and each frame of a batch) with the
 * results of its GstEiFrameMeta(s), and passes the buffers on untouched.
 *
 * A record: {"source_id":0,"frame":12,"pts":1.234500,"unique_id":1,"inferred":true,"width":768,
 * "height":432,"objects":[{"class_id":2,"label":"car","confidence":0.9123,"bbox":[x,y,w,h]}],
 * "times_ms":{"preprocess":0.4,"infer":12.1,"postprocess":0.2,"osd":0.3}} plus "segmentation" for
 * masks. Several metas on a frame (several models) give one record whose objects carry
 * "unique_id"; docs/gst-osd-json.md has the details. Numbers are written locale-independently. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_ei_json_debug);
#define GST_CAT_DEFAULT gst_ei_json_debug

#define GST_TYPE_EI_JSON (gst_ei_json_get_type())
G_DECLARE_FINAL_TYPE(GstEiJson, gst_ei_json, GST, EI_JSON, GstBaseTransform)

#define EI_JSON_MAX_FRAMES 256
#define EI_JSON_MAX_METAS  64

struct _GstEiJson {
    GstBaseTransform parent;
    gchar *          location; /* under the object lock */
    FILE *           out;      /* open between start and stop */
    gboolean         batch;
    GstVideoInfo     info;
    guint64          frame_count;
    GString *        line;
};

enum { PROP_0, PROP_LOCATION };

#define EI_JSON_CAPS "video/x-raw, format = (string) " GST_EI_VIDEO_FORMATS "; " GST_EI_BATCH_CAPS

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(EI_JSON_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(EI_JSON_CAPS));

G_DEFINE_TYPE(GstEiJson, gst_ei_json, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(edgejson, "edgejson", GST_RANK_NONE, GST_TYPE_EI_JSON)

static void gst_ei_json_set_property(GObject * object, guint id, const GValue * value, GParamSpec * pspec) {
    GstEiJson * self = GST_EI_JSON(object);
    switch (id) {
    case PROP_LOCATION: {
        GstState state;
        GST_OBJECT_LOCK(self);
        state = GST_STATE(self);
        if (state > GST_STATE_READY) {
            GST_OBJECT_UNLOCK(self);
            GST_WARNING_OBJECT(self, "location can only be changed in the NULL or READY state");
            return;
        }
        g_free(self->location);
        self->location = g_value_dup_string(value);
        if (!self->location) self->location = g_strdup("-");
        GST_OBJECT_UNLOCK(self);
        break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
}

static void gst_ei_json_get_property(GObject * object, guint id, GValue * value, GParamSpec * pspec) {
    GstEiJson * self = GST_EI_JSON(object);
    switch (id) {
    case PROP_LOCATION:
        GST_OBJECT_LOCK(self);
        g_value_set_string(value, self->location);
        GST_OBJECT_UNLOCK(self);
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
}

static void gst_ei_json_finalize(GObject * object) {
    GstEiJson * self = GST_EI_JSON(object);
    g_free(self->location);
    g_string_free(self->line, TRUE);
    G_OBJECT_CLASS(gst_ei_json_parent_class)->finalize(object);
}

static gboolean gst_ei_json_start(GstBaseTransform * trans) {
    GstEiJson * self = GST_EI_JSON(trans);
    GST_OBJECT_LOCK(self);
    gchar * location = g_strdup(self->location);
    GST_OBJECT_UNLOCK(self);
    self->frame_count = 0;
    if (!location || strcmp(location, "-") == 0) {
        self->out = stdout;
    } else {
        self->out = g_fopen(location, "w");
        if (!self->out) {
            const int err = errno;
            GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                              ("edgejson: cannot open \"%s\" for writing: %s", location, g_strerror(err)), (NULL));
            g_free(location);
            return FALSE;
        }
    }
    g_free(location);
    return TRUE;
}

/* Flushes the output; FALSE (with an element error) when the data could not be written. */
static gboolean flush_out(GstEiJson * self) {
    if (!self->out) return TRUE;
    if (fflush(self->out) != 0 || ferror(self->out)) {
        const int err = errno;
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                          ("edgejson: cannot write to \"%s\": %s", self->location, g_strerror(err)), (NULL));
        return FALSE;
    }
    return TRUE;
}

static gboolean gst_ei_json_stop(GstBaseTransform * trans) {
    GstEiJson * self = GST_EI_JSON(trans);
    gboolean    ok = flush_out(self);
    if (self->out && self->out != stdout && fclose(self->out) != 0 && ok) {
        const int err = errno;
        GST_ELEMENT_ERROR(self, RESOURCE, CLOSE, ("edgejson: cannot close \"%s\": %s", self->location, g_strerror(err)),
                          (NULL));
        ok = FALSE;
    }
    self->out = NULL;
    return ok;
}

static gboolean gst_ei_json_set_caps(GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps) {
    GstEiJson * self = GST_EI_JSON(trans);
    (void)outcaps;
    self->batch = gst_ei_caps_is_batch(incaps);
    if (!self->batch && !gst_video_info_from_caps(&self->info, incaps)) {
        gchar * str = gst_caps_to_string(incaps);
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("edgejson: cannot parse caps %s", str), (NULL));
        g_free(str);
        return FALSE;
    }
    return TRUE;
}

static gboolean gst_ei_json_sink_event(GstBaseTransform * trans, GstEvent * event) {
    GstEiJson * self = GST_EI_JSON(trans);
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) flush_out(self);
    return GST_BASE_TRANSFORM_CLASS(gst_ei_json_parent_class)->sink_event(trans, event);
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes that are not UTF-8
 * become U+FFFD, so the line always parses. */
static void append_string(GString * s, const char * str) {
    g_string_append_c(s, '"');
    for (const char * p = str; *p;) {
        const guchar c = (guchar)*p;
        if (c < 0x80) {
            switch (c) {
            case '"': g_string_append(s, "\\\""); break;
            case '\\': g_string_append(s, "\\\\"); break;
            case '\b': g_string_append(s, "\\b"); break;
            case '\f': g_string_append(s, "\\f"); break;
            case '\n': g_string_append(s, "\\n"); break;
            case '\r': g_string_append(s, "\\r"); break;
            case '\t': g_string_append(s, "\\t"); break;
            default:
                if (c < 0x20)
                    g_string_append_printf(s, "\\u%04x", c);
                else
                    g_string_append_c(s, (gchar)c);
            }
            p++;
            continue;
        }
        const gunichar u = g_utf8_get_char_validated(p, -1);
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            g_string_append(s, "\\ufffd");
            p++;
        } else {
            const char * next = g_utf8_next_char(p);
            g_string_append_len(s, p, next - p);
            p = next;
        }
    }
    g_string_append_c(s, '"');
}

/* A number with a printf format, "." as decimal point whatever the locale; null when not finite. */
static void append_number(GString * s, const char * format, double v) {
    if (!isfinite(v)) {
        g_string_append(s, "null");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(s, g_ascii_formatd(buf, sizeof buf, format, v));
}

static void append_objects(GString * s, GstEiFrameMeta * const * metas, guint n_metas) {
    gboolean first = TRUE;
    g_string_append(s, "\"objects\":[");
    for (guint m = 0; m < n_metas; m++)
        for (guint i = 0; i < metas[m]->n_objects; i++) {
            const GstEiObject * o = &metas[m]->objects[i];
            if (!first) g_string_append_c(s, ',');
            first = FALSE;
            g_string_append_printf(s, "{\"class_id\":%d,\"label\":", o->class_id);
            if (o->label)
                append_string(s, g_quark_to_string(o->label));
            else
                g_string_append(s, "null");
            g_string_append(s, ",\"confidence\":");
            append_number(s, "%.4f", o->confidence);
            g_string_append(s, ",\"bbox\":[");
            append_number(s, "%.2f", o->x);
            g_string_append_c(s, ',');
            append_number(s, "%.2f", o->y);
            g_string_append_c(s, ',');
            append_number(s, "%.2f", o->w);
            g_string_append_c(s, ',');
            append_number(s, "%.2f", o->h);
            g_string_append_c(s, ']');
            if (n_metas > 1) g_string_append_printf(s, ",\"unique_id\":%u", metas[m]->unique_id);
            g_string_append_c(s, '}');
        }
    g_string_append_c(s, ']');
}

static void append_segmentation(GString * s, const GstEiFrameMeta * m, gboolean with_id) {
    g_string_append_printf(s, ",\"segmentation\":{\"width\":%d,\"height\":%d,", m->mask_width, m->mask_height);
    if (with_id) g_string_append_printf(s, "\"unique_id\":%u,", m->unique_id);
    g_string_append(s, "\"class_pixels\":{");
    gboolean first = TRUE;
    for (gint c = 0; m->class_pixels && c < m->n_classes; c++) {
        if (m->class_pixels[c] <= 0) continue;
        g_string_append_printf(s, "%s\"%d\":%" G_GINT64_FORMAT, first ? "" : ",", c, m->class_pixels[c]);
        first = FALSE;
    }
    g_string_append(s, "}}");
}

/* The record of one frame into self->line (without the newline). */
static void format_record(GstEiJson * self, GstBuffer * buf, const GstVideoInfo * info, guint source_id,
                          guint64 frame_number, GstClockTime batch_pts) {
    GstEiFrameMeta * metas[EI_JSON_MAX_METAS];
    guint            n = 0;
    gpointer         state = NULL;
    GstMeta *        m;
    while (n < EI_JSON_MAX_METAS && (m = gst_buffer_iterate_meta_filtered(buf, &state, GST_EI_FRAME_META_API_TYPE)))
        metas[n++] = (GstEiFrameMeta *)m;

    GString * s = self->line;
    g_string_truncate(s, 0);
    /* The results name their frame; a frame without results is named by its place in the stream. */
    g_string_append_printf(s, "{\"source_id\":%u,\"frame\":%" G_GUINT64_FORMAT ",\"pts\":",
                           n ? metas[0]->source_id : source_id, n ? metas[0]->frame_number : frame_number);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = batch_pts;
    if (GST_CLOCK_TIME_IS_VALID(pts))
        append_number(s, "%.6f", (double)pts / GST_SECOND);
    else
        g_string_append(s, "null");
    gboolean               inferred = FALSE;
    GstEiStageTimes        t = {0, 0, 0, 0};
    const GstEiFrameMeta * seg = NULL;
    guint                  n_seg = 0;
    for (guint i = 0; i < n; i++) {
        inferred |= metas[i]->inferred;
        t.preprocess_ms += metas[i]->times.preprocess_ms;
        t.infer_ms += metas[i]->times.infer_ms;
        t.postprocess_ms += metas[i]->times.postprocess_ms;
        t.osd_ms = MAX(t.osd_ms, metas[i]->times.osd_ms);
        if (metas[i]->mask) n_seg++;
    }
    if (n)
        g_string_append_printf(s, ",\"unique_id\":%u", metas[0]->unique_id);
    else
        g_string_append(s, ",\"unique_id\":null");
    g_string_append_printf(s, ",\"inferred\":%s,\"width\":%d,\"height\":%d,", inferred ? "true" : "false",
                           GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info));
    append_objects(s, metas, n);
    g_string_append(s, ",\"times_ms\":{\"preprocess\":");
    append_number(s, "%.3f", t.preprocess_ms);
    g_string_append(s, ",\"infer\":");
    append_number(s, "%.3f", t.infer_ms);
    g_string_append(s, ",\"postprocess\":");
    append_number(s, "%.3f", t.postprocess_ms);
    g_string_append(s, ",\"osd\":");
    append_number(s, "%.3f", t.osd_ms);
    g_string_append_c(s, '}');
    for (guint i = 0; i < n && n_seg; i++) {
        if (!metas[i]->mask) continue;
        seg = metas[i];
        break;
    }
    if (seg) append_segmentation(s, seg, n > 1);
    g_string_append(s, "}\n");
}

static GstFlowReturn gst_ei_json_transform_ip(GstBaseTransform * trans, GstBuffer * buf) {
    GstEiJson *   self = GST_EI_JSON(trans);
    GstEiFrameRef refs[EI_JSON_MAX_FRAMES];
    GstBuffer *   b = buf;
    const guint   n = gst_ei_frames_collect(&b, self->batch ? NULL : &self->info, self->frame_count++, FALSE, refs,
                                            EI_JSON_MAX_FRAMES);
    if (!self->out) return GST_FLOW_OK;
    for (guint i = 0; i < n; i++) {
        format_record(self, *refs[i].slot, refs[i].info, refs[i].source_id, refs[i].frame_number, GST_BUFFER_PTS(buf));
        if (fwrite(self->line->str, 1, self->line->len, self->out) != self->line->len) {
            const int err = errno;
            GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                              ("edgejson: cannot write to \"%s\": %s", self->location, g_strerror(err)), (NULL));
            return GST_FLOW_ERROR;
        }
    }
    return GST_FLOW_OK;
}

static void gst_ei_json_class_init(GstEiJsonClass * klass) {
    GObjectClass *          gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass *       element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass * trans_class = GST_BASE_TRANSFORM_CLASS(klass);

    gobject_class->set_property = gst_ei_json_set_property;
    gobject_class->get_property = gst_ei_json_get_property;
    gobject_class->finalize = gst_ei_json_finalize;

    g_object_class_install_property(gobject_class, PROP_LOCATION,
                                    g_param_spec_string("location", "Location",
                                                        "JSON Lines file to write (\"-\" = standard output)", "-",
                                                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);
    gst_element_class_set_static_metadata(element_class, "edgeinfer JSON writer", "Filter/Video",
                                          "Writes edgeinfer results as one JSON Lines record per frame", "edgeinfer");

    trans_class->start = GST_DEBUG_FUNCPTR(gst_ei_json_start);
    trans_class->stop = GST_DEBUG_FUNCPTR(gst_ei_json_stop);
    trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_ei_json_set_caps);
    trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_ei_json_sink_event);
    trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ei_json_transform_ip);
    trans_class->transform_ip_on_passthrough = TRUE;

    GST_DEBUG_CATEGORY_INIT(gst_ei_json_debug, "edgejson", 0, "edgeinfer JSON writer");
}

static void gst_ei_json_init(GstEiJson * self) {
    self->location = g_strdup("-");
    self->line = g_string_sized_new(1024);
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
    gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
