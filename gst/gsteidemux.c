/* edgedemux: splits batches (gsteibatch.h) again into one stream per source.
 *
 * Request src pads src_%u (u = source id). Each frame of a batch leaves on its source's pad as a
 * plain video/x-raw buffer, with the metadata it carries (GstEiFrameMeta, ROI metas); the pad
 * gets stream-start, caps (from the frame's GstVideoInfo, again when it changes) and the batch
 * stream's segment before the first frame. Frames of sources without a pad are dropped. The custom
 * event GstEiSourceEos(source-id) becomes EOS on that source's pad, EOS becomes EOS on every pad.
 * Plain video/x-raw input goes to src_0. Flow returns are combined with a GstFlowCombiner: a pad
 * that is not linked does not stop the others. */
#include "gsteielements.h"

#include <gst/base/gstflowcombiner.h>
#include <stdio.h>

#include "gsteibatch.h"

GST_DEBUG_CATEGORY_STATIC(gst_ei_demux_debug);
#define GST_CAT_DEFAULT gst_ei_demux_debug

#define GST_TYPE_EI_DEMUX_PAD (gst_ei_demux_pad_get_type())
G_DECLARE_FINAL_TYPE(GstEiDemuxPad, gst_ei_demux_pad, GST, EI_DEMUX_PAD, GstPad)

struct _GstEiDemuxPad {
    GstPad parent;
    /* Used from the streaming thread only (and reset in state changes). */
    guint        source_id;
    GstVideoInfo info;
    gboolean     have_caps;
    gboolean     need_stream_start;
    gboolean     need_segment;
    gboolean     eos_sent;
};

G_DEFINE_TYPE(GstEiDemuxPad, gst_ei_demux_pad, GST_TYPE_PAD)

static void gst_ei_demux_pad_class_init(GstEiDemuxPadClass * klass) { (void)klass; }
static void gst_ei_demux_pad_init(GstEiDemuxPad * pad) {
    pad->need_stream_start = TRUE;
    pad->need_segment = TRUE;
}

#define GST_TYPE_EI_DEMUX (gst_ei_demux_get_type())
G_DECLARE_FINAL_TYPE(GstEiDemux, gst_ei_demux, GST, EI_DEMUX, GstElement)

struct _GstEiDemux {
    GstElement parent;
    GstPad *   sinkpad;

    /* Streaming thread. */
    gboolean     batched; /* sink caps are batches, else plain video (info) */
    GstVideoInfo info;
    gboolean     have_info;
    GstSegment   segment;
    guint        group_id;
    gboolean     have_group_id;

    /* Object lock: the src pads (GstEiDemuxPad *, owned by the element) and the combiner. */
    GList *           srcpads;
    GstFlowCombiner * combiner;
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_EI_BATCH_CAPS "; " GST_VIDEO_CAPS_MAKE(GST_EI_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src_%u", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_EI_VIDEO_FORMATS)));

G_DEFINE_TYPE(GstEiDemux, gst_ei_demux, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(edgedemux, "edgedemux", GST_RANK_NONE, GST_TYPE_EI_DEMUX)

/* The pad of source_id, with a reference, or NULL. */
static GstEiDemuxPad * find_pad(GstEiDemux * self, guint source_id) {
    GstEiDemuxPad * found = NULL;
    GST_OBJECT_LOCK(self);
    for (GList * l = self->srcpads; l; l = l->next) {
        GstEiDemuxPad * p = l->data;
        if (p->source_id == source_id) {
            found = gst_object_ref(p);
            break;
        }
    }
    GST_OBJECT_UNLOCK(self);
    return found;
}

static void ref_pad(gpointer pad, gpointer unused) {
    (void)unused;
    gst_object_ref(pad);
}

/* References to every src pad. */
static GList * all_pads(GstEiDemux * self) {
    GList * pads;
    GST_OBJECT_LOCK(self);
    pads = g_list_copy(self->srcpads);
    g_list_foreach(pads, ref_pad, NULL);
    GST_OBJECT_UNLOCK(self);
    return pads;
}

static void push_stream_start_and_segment(GstEiDemux * self, GstEiDemuxPad * pad) {
    if (pad->need_stream_start) {
        gchar *    id = gst_pad_create_stream_id_printf(GST_PAD(pad), GST_ELEMENT(self), "%u", pad->source_id);
        GstEvent * ev = gst_event_new_stream_start(id);
        g_free(id);
        if (!self->have_group_id) {
            self->group_id = gst_util_group_id_next();
            self->have_group_id = TRUE;
        }
        gst_event_set_group_id(ev, self->group_id);
        gst_pad_push_event(GST_PAD(pad), ev);
        pad->need_stream_start = FALSE;
    }
}

static void push_segment(GstEiDemux * self, GstEiDemuxPad * pad) {
    if (pad->need_segment) {
        gst_pad_push_event(GST_PAD(pad), gst_event_new_segment(&self->segment));
        pad->need_segment = FALSE;
    }
}

/* Pushes frame (owned) on pad with its sticky events first. */
static GstFlowReturn push_frame(GstEiDemux * self, GstEiDemuxPad * pad, GstBuffer * frame, const GstVideoInfo * info) {
    if (pad->eos_sent) {
        gst_buffer_unref(frame);
        return GST_FLOW_EOS;
    }
    push_stream_start_and_segment(self, pad);
    if (!pad->have_caps || !gst_video_info_is_equal(&pad->info, info)) {
        GstCaps * caps = gst_video_info_to_caps(info);
        if (!caps) {
            gst_buffer_unref(frame);
            GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                              ("source %u: a frame's video info gives no caps", pad->source_id));
            return GST_FLOW_NOT_NEGOTIATED;
        }
        gst_pad_push_event(GST_PAD(pad), gst_event_new_caps(caps));
        gst_caps_unref(caps);
        pad->info = *info;
        pad->have_caps = TRUE;
    }
    push_segment(self, pad);
    return gst_pad_push(GST_PAD(pad), frame);
}

static GstFlowReturn combine(GstEiDemux * self, GstEiDemuxPad * pad, GstFlowReturn ret) {
    GstFlowReturn out;
    GST_OBJECT_LOCK(self);
    /* A pad released meanwhile is no longer in the combiner: only the others count. */
    if (g_list_find(self->srcpads, pad))
        out = gst_flow_combiner_update_pad_flow(self->combiner, GST_PAD(pad), ret);
    else
        out = gst_flow_combiner_update_flow(self->combiner, GST_FLOW_OK);
    GST_OBJECT_UNLOCK(self);
    return out;
}

static GstFlowReturn sink_chain(GstPad * sinkpad, GstObject * parent, GstBuffer * buffer) {
    GstEiDemux * self = GST_EI_DEMUX(parent);
    (void)sinkpad;

    if (!self->batched) {
        if (!self->have_info) {
            gst_buffer_unref(buffer);
            GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("a frame came before its caps"));
            return GST_FLOW_NOT_NEGOTIATED;
        }
        GstEiDemuxPad * pad = find_pad(self, 0);
        if (!pad) {
            gst_buffer_unref(buffer);
            return GST_FLOW_OK;
        }
        GstFlowReturn ret = push_frame(self, pad, buffer, &self->info);
        ret = combine(self, pad, ret);
        gst_object_unref(pad);
        return ret;
    }

    GstEiBatchMeta * bm = gst_buffer_get_ei_batch_meta(buffer);
    if (!bm) {
        gst_buffer_unref(buffer);
        GST_ELEMENT_ERROR(self, STREAM, FORMAT, (NULL), ("a batch buffer without a GstEiBatchMeta"));
        return GST_FLOW_ERROR;
    }
    /* Own the batch so that its frames can be taken out of it. */
    buffer = gst_buffer_make_writable(buffer);
    bm = gst_buffer_get_ei_batch_meta(buffer);
    guint             n = bm->n_frames;
    GstEiBatchFrame * frames = bm->frames;
    bm->frames = NULL;
    bm->n_frames = bm->capacity = 0;
    gst_buffer_unref(buffer);

    GstFlowReturn ret = GST_FLOW_OK;
    for (guint i = 0; i < n; i++) {
        GstEiBatchFrame * f = &frames[i];
        GstEiDemuxPad *   pad = find_pad(self, f->source_id);
        if (!pad) {
            GST_LOG_OBJECT(self, "source %u has no pad: frame %" G_GUINT64_FORMAT " dropped", f->source_id,
                           f->frame_number);
            gst_buffer_unref(f->buffer);
            continue;
        }
        GstBuffer * frame = gst_buffer_make_writable(f->buffer);
        ret = combine(self, pad, push_frame(self, pad, frame, &f->info));
        gst_object_unref(pad);
    }
    g_free(frames);
    return ret;
}

static void push_eos(GstEiDemux * self, GstEiDemuxPad * pad) {
    if (pad->eos_sent) return;
    push_stream_start_and_segment(self, pad);
    push_segment(self, pad);
    pad->eos_sent = TRUE;
    gst_pad_push_event(GST_PAD(pad), gst_event_new_eos());
}

static gboolean sink_event(GstPad * sinkpad, GstObject * parent, GstEvent * event) {
    GstEiDemux * self = GST_EI_DEMUX(parent);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START: {
        guint gid;
        if (gst_event_parse_group_id(event, &gid)) {
            self->group_id = gid;
            self->have_group_id = TRUE;
        }
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_CAPS: {
        GstCaps * caps;
        gst_event_parse_caps(event, &caps);
        self->batched = gst_ei_caps_is_batch(caps);
        if (!self->batched) {
            if (!gst_video_info_from_caps(&self->info, caps)) {
                gchar * str = gst_caps_to_string(caps);
                GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("caps are neither batches nor raw video: %s", str));
                g_free(str);
                gst_event_unref(event);
                return FALSE;
            }
            self->have_info = TRUE;
        }
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_SEGMENT: {
        const GstSegment * seg;
        gst_event_parse_segment(event, &seg);
        self->segment = *seg;
        GList * pads = all_pads(self);
        for (GList * l = pads; l; l = l->next) GST_EI_DEMUX_PAD(l->data)->need_segment = TRUE;
        g_list_free_full(pads, gst_object_unref);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM: {
        const GstStructure * s = gst_event_get_structure(event);
        guint                id;
        if (s && gst_structure_has_name(s, "GstEiSourceEos") && gst_structure_get_uint(s, "source-id", &id)) {
            GstEiDemuxPad * pad = find_pad(self, id);
            GST_DEBUG_OBJECT(self, "source %u ended", id);
            if (pad) {
                push_eos(self, pad);
                gst_object_unref(pad);
            }
            gst_event_unref(event);
            return TRUE;
        }
        return gst_pad_event_default(sinkpad, parent, event);
    }
    case GST_EVENT_EOS: {
        GList * pads = all_pads(self);
        for (GList * l = pads; l; l = l->next) push_eos(self, l->data);
        g_list_free_full(pads, gst_object_unref);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_FLUSH_STOP: {
        GList * pads = all_pads(self);
        for (GList * l = pads; l; l = l->next) {
            GstEiDemuxPad * p = l->data;
            p->eos_sent = FALSE;
            p->need_segment = TRUE;
        }
        g_list_free_full(pads, gst_object_unref);
        GST_OBJECT_LOCK(self);
        gst_flow_combiner_reset(self->combiner);
        GST_OBJECT_UNLOCK(self);
        return gst_pad_event_default(sinkpad, parent, event);
    }
    case GST_EVENT_GAP: gst_event_unref(event); return TRUE;
    default: return gst_pad_event_default(sinkpad, parent, event);
    }
}

static gboolean src_query(GstPad * pad, GstObject * parent, GstQuery * query) {
    switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
        GstCaps * filter;
        GstCaps * caps = gst_pad_get_current_caps(pad);
        gst_query_parse_caps(query, &filter);
        if (!caps) caps = gst_pad_get_pad_template_caps(pad);
        if (filter) {
            GstCaps * c = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
            gst_caps_unref(caps);
            caps = c;
        }
        gst_query_set_caps_result(query, caps);
        gst_caps_unref(caps);
        return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
        GstCaps * caps;
        gst_query_parse_accept_caps(query, &caps);
        GstCaps * templ = gst_pad_get_pad_template_caps(pad);
        gst_query_set_accept_caps_result(query, gst_caps_is_subset(caps, templ));
        gst_caps_unref(templ);
        return TRUE;
    }
    default: return gst_pad_query_default(pad, parent, query);
    }
}

static GstPad * gst_ei_demux_request_new_pad(GstElement * element, GstPadTemplate * templ, const gchar * name,
                                             const GstCaps * caps) {
    GstEiDemux * self = GST_EI_DEMUX(element);
    guint        id = 0;
    (void)caps;
    if (name) {
        if (sscanf(name, "src_%u", &id) != 1) return NULL;
        GstEiDemuxPad * existing = find_pad(self, id);
        if (existing) {
            gst_object_unref(existing);
            GST_WARNING_OBJECT(self, "pad %s exists already", name);
            return NULL;
        }
    } else {
        for (id = 0;; id++) {
            GstEiDemuxPad * existing = find_pad(self, id);
            if (!existing) break;
            gst_object_unref(existing);
        }
    }
    gchar *         pad_name = g_strdup_printf("src_%u", id);
    GstEiDemuxPad * pad =
        g_object_new(GST_TYPE_EI_DEMUX_PAD, "name", pad_name, "direction", GST_PAD_SRC, "template", templ, NULL);
    g_free(pad_name);
    pad->source_id = id;
    gst_pad_set_query_function(GST_PAD(pad), GST_DEBUG_FUNCPTR(src_query));
    gst_pad_use_fixed_caps(GST_PAD(pad));

    GST_OBJECT_LOCK(self);
    self->srcpads = g_list_append(self->srcpads, pad);
    gst_flow_combiner_add_pad(self->combiner, GST_PAD(pad));
    GST_OBJECT_UNLOCK(self);
    if (!gst_element_add_pad(element, GST_PAD(pad))) {
        GST_OBJECT_LOCK(self);
        self->srcpads = g_list_remove(self->srcpads, pad);
        gst_flow_combiner_remove_pad(self->combiner, GST_PAD(pad));
        GST_OBJECT_UNLOCK(self);
        return NULL;
    }
    return GST_PAD(pad);
}

static void gst_ei_demux_release_pad(GstElement * element, GstPad * pad) {
    GstEiDemux * self = GST_EI_DEMUX(element);
    GST_OBJECT_LOCK(self);
    GList * l = g_list_find(self->srcpads, pad);
    if (l) {
        self->srcpads = g_list_delete_link(self->srcpads, l);
        gst_flow_combiner_remove_pad(self->combiner, pad);
    }
    GST_OBJECT_UNLOCK(self);
    if (l) gst_element_remove_pad(element, pad);
}

static GstStateChangeReturn gst_ei_demux_change_state(GstElement * element, GstStateChange transition) {
    GstEiDemux * self = GST_EI_DEMUX(element);
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        GList * pads = all_pads(self);
        for (GList * l = pads; l; l = l->next) {
            GstEiDemuxPad * p = l->data;
            p->have_caps = FALSE;
            p->need_stream_start = TRUE;
            p->need_segment = TRUE;
            p->eos_sent = FALSE;
        }
        g_list_free_full(pads, gst_object_unref);
        gst_segment_init(&self->segment, GST_FORMAT_TIME);
        self->batched = FALSE;
        self->have_info = FALSE;
        self->have_group_id = FALSE;
        GST_OBJECT_LOCK(self);
        gst_flow_combiner_reset(self->combiner);
        GST_OBJECT_UNLOCK(self);
    }
    return GST_ELEMENT_CLASS(gst_ei_demux_parent_class)->change_state(element, transition);
}

static void gst_ei_demux_finalize(GObject * object) {
    GstEiDemux * self = GST_EI_DEMUX(object);
    g_list_free(self->srcpads);
    gst_flow_combiner_free(self->combiner);
    G_OBJECT_CLASS(gst_ei_demux_parent_class)->finalize(object);
}

static void gst_ei_demux_class_init(GstEiDemuxClass * klass) {
    GObjectClass *    oc = G_OBJECT_CLASS(klass);
    GstElementClass * ec = GST_ELEMENT_CLASS(klass);
    GST_DEBUG_CATEGORY_INIT(gst_ei_demux_debug, "edgedemux", 0, "edgeinfer batch demuxer");
    oc->finalize = gst_ei_demux_finalize;
    gst_element_class_add_static_pad_template(ec, &sink_template);
    gst_element_class_add_static_pad_template_with_gtype(ec, &src_template, GST_TYPE_EI_DEMUX_PAD);
    gst_element_class_set_static_metadata(ec, "edgeinfer batch demuxer", "Video/Demuxer",
                                          "Splits edgeinfer batches into one video stream per source", "edgeinfer");
    ec->request_new_pad = GST_DEBUG_FUNCPTR(gst_ei_demux_request_new_pad);
    ec->release_pad = GST_DEBUG_FUNCPTR(gst_ei_demux_release_pad);
    ec->change_state = GST_DEBUG_FUNCPTR(gst_ei_demux_change_state);
    gst_type_mark_as_plugin_api(GST_TYPE_EI_DEMUX_PAD, 0);
}

static void gst_ei_demux_init(GstEiDemux * self) {
    self->combiner = gst_flow_combiner_new();
    gst_segment_init(&self->segment, GST_FORMAT_TIME);
    self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
    gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_chain));
    gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_event));
    gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
}
