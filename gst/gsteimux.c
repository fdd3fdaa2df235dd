/* edgemux: gathers frames of N sources into batches (gsteibatch.h), like DeepStream's classic
 * nvstreammux.
 *
 * Each request sink pad sink_%u (u = source id) holds a small bounded queue of frames; a full
 * queue blocks that source's streaming thread (backpressure), or with live-source=true drops the
 * oldest frame (counted in frames-dropped). A task on the src pad forms batches: a buffer without
 * memory whose GstEiBatchMeta holds a reference to each frame's own buffer (zero copy). A batch is
 * pushed when batch-size frames are there, when batched-push-timeout µs have passed since the first
 * waiting frame arrived, or when every remaining source has ended. Sources take turns: one batch
 * takes at most ceil(batch-size / active sources) frames of a source, and the source served first
 * rotates, so no source starves. A source's EOS becomes the custom event GstEiSourceEos after its
 * last frame; EOS follows once every source ended. Releasing a pad while playing drops its frames
 * and ends that source the same way. */
#include "gsteielements.h"

#include <stdio.h>

#include "gsteibatch.h"

GST_DEBUG_CATEGORY_STATIC(gst_ei_mux_debug);
#define GST_CAT_DEFAULT gst_ei_mux_debug

/* Frames a sink pad queues at least (more when one source must fill more of a batch). */
#define EI_MUX_QUEUE_MIN 4

/* ---- the sink pad ---- */

#define GST_TYPE_EI_MUX_PAD (gst_ei_mux_pad_get_type())
G_DECLARE_FINAL_TYPE(GstEiMuxPad, gst_ei_mux_pad, GST, EI_MUX_PAD, GstPad)

typedef struct {
    GstBuffer *  buffer;
    GstVideoInfo info;
    GstClockTime running_time;
    gint64       arrival_us; /* g_get_monotonic_time() when it came in */
} MuxItem;

struct _GstEiMuxPad {
    GstPad parent;

    /* All below guarded by the element's lock. */
    guint        source_id;
    GQueue       queue; /* MuxItem * */
    GstSegment   segment;
    GstVideoInfo info;
    gboolean     have_info;
    gboolean     active;   /* activated (between READY->PAUSED and PAUSED->READY) */
    gboolean     flushing; /* between FLUSH_START and FLUSH_STOP */
    gboolean     released;
    gboolean     eos;      /* got EOS: the queue holds its last frames */
    gboolean     eos_sent; /* GstEiSourceEos pushed */
    guint64      frame_number;
    GstClockTime last_end; /* PTS + duration of the latest frame (stamps a frame without PTS) */
};

G_DEFINE_TYPE(GstEiMuxPad, gst_ei_mux_pad, GST_TYPE_PAD)

static void mux_item_free(gpointer p) {
    MuxItem * it = p;
    gst_buffer_unref(it->buffer);
    g_free(it);
}

static void gst_ei_mux_pad_finalize(GObject * object) {
    GstEiMuxPad * pad = GST_EI_MUX_PAD(object);
    g_queue_clear_full(&pad->queue, mux_item_free);
    G_OBJECT_CLASS(gst_ei_mux_pad_parent_class)->finalize(object);
}

static void gst_ei_mux_pad_class_init(GstEiMuxPadClass * klass) {
    G_OBJECT_CLASS(klass)->finalize = gst_ei_mux_pad_finalize;
}

static void gst_ei_mux_pad_init(GstEiMuxPad * pad) {
    g_queue_init(&pad->queue);
    gst_segment_init(&pad->segment, GST_FORMAT_TIME);
    pad->last_end = GST_CLOCK_TIME_NONE;
}

/* A frame without PTS (an RTP depayloader or decoder can let one through when a live source starts
 * or restarts) gets the end of the previous frame, or the segment's start for a first frame: the
 * muxers of file sinks downstream (mp4mux: "Buffer has no PTS") would stop the pipeline. Tracks
 * the end of each frame (PTS + duration, or + 1/framerate, or + 1 ms). Lock held. */
static GstBuffer * stamp_frame(GstEiMuxPad * mp, GstBuffer * buffer) {
    if (!GST_BUFFER_PTS_IS_VALID(buffer)) {
        GstClockTime pts = GST_CLOCK_TIME_IS_VALID(mp->last_end) ? mp->last_end : mp->segment.start;
        GST_LOG_OBJECT(mp, "frame without PTS: stamped %" GST_TIME_FORMAT, GST_TIME_ARGS(pts));
        buffer = gst_buffer_make_writable(buffer);
        GST_BUFFER_PTS(buffer) = pts;
    }
    GstClockTime dur = GST_BUFFER_DURATION(buffer);
    if (!GST_CLOCK_TIME_IS_VALID(dur))
        dur = GST_VIDEO_INFO_FPS_N(&mp->info) > 0
                  ? gst_util_uint64_scale_int(GST_SECOND, GST_VIDEO_INFO_FPS_D(&mp->info),
                                              GST_VIDEO_INFO_FPS_N(&mp->info))
                  : GST_MSECOND;
    mp->last_end = GST_BUFFER_PTS(buffer) + dur;
    return buffer;
}

/* ---- the element ---- */

#define GST_TYPE_EI_MUX (gst_ei_mux_get_type())
G_DECLARE_FINAL_TYPE(GstEiMux, gst_ei_mux, GST, EI_MUX, GstElement)

struct _GstEiMux {
    GstElement parent;
    GstPad *   srcpad;

    GMutex lock;
    GCond  cond;
    /* Guarded by lock. */
    GList *       sinkpads;     /* GstEiMuxPad *, not owned (the element owns its pads) */
    GArray *      released_eos; /* guint source ids of released pads whose GstEiSourceEos is due */
    guint         next_rr;      /* rotates which source a batch starts with */
    gboolean      stopping;     /* the src pad is being deactivated */
    guint         n_flushing;   /* sink pads between FLUSH_START and FLUSH_STOP */
    gboolean      need_stream_start, need_caps, need_segment;
    gboolean      eos_pushed;
    GstFlowReturn src_flow;
    guint64       dropped;

    /* Properties (object lock). */
    guint    batch_size;
    gint     push_timeout_us;
    guint    width, height;
    gboolean live_source;
};

enum { PROP_0, PROP_BATCH_SIZE, PROP_PUSH_TIMEOUT, PROP_WIDTH, PROP_HEIGHT, PROP_LIVE_SOURCE, PROP_FRAMES_DROPPED };

#define DEFAULT_PUSH_TIMEOUT 40000

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_EI_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_EI_BATCH_CAPS));

G_DEFINE_TYPE(GstEiMux, gst_ei_mux, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(edgemux, "edgemux", GST_RANK_NONE, GST_TYPE_EI_MUX)

/* Sources that still count for batches: not ended, or ended with frames left. */
static guint active_sources(GstEiMux * self) {
    guint n = 0;
    for (GList * l = self->sinkpads; l; l = l->next) {
        GstEiMuxPad * p = l->data;
        if (!p->eos || p->queue.length) n++;
    }
    return n;
}

static guint effective_batch_size(GstEiMux * self) {
    guint bs;
    GST_OBJECT_LOCK(self);
    bs = self->batch_size;
    GST_OBJECT_UNLOCK(self);
    if (bs == 0) bs = g_list_length(self->sinkpads);
    return MAX(bs, 1u);
}

/* The most frames one source gives a batch. */
static guint per_source_cap(GstEiMux * self) {
    guint active = MAX(active_sources(self), 1u);
    guint bs = effective_batch_size(self);
    return (bs + active - 1) / active;
}

/* ---- sink pads ---- */

static GstCaps * sink_caps(GstEiMux * self, GstPad * pad, GstCaps * filter) {
    GstCaps * caps = gst_pad_get_pad_template_caps(pad);
    guint     w, h;
    GST_OBJECT_LOCK(self);
    w = self->width;
    h = self->height;
    GST_OBJECT_UNLOCK(self);
    if (w || h) {
        caps = gst_caps_make_writable(caps);
        for (guint i = 0; i < gst_caps_get_size(caps); i++) {
            GstStructure * s = gst_caps_get_structure(caps, i);
            if (w) gst_structure_set(s, "width", G_TYPE_INT, (gint)w, NULL);
            if (h) gst_structure_set(s, "height", G_TYPE_INT, (gint)h, NULL);
        }
    }
    if (filter) {
        GstCaps * c = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref(caps);
        caps = c;
    }
    return caps;
}

static gboolean sink_query(GstPad * pad, GstObject * parent, GstQuery * query) {
    GstEiMux * self = GST_EI_MUX(parent);
    switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
        GstCaps * filter;
        gst_query_parse_caps(query, &filter);
        GstCaps * caps = sink_caps(self, pad, filter);
        gst_query_set_caps_result(query, caps);
        gst_caps_unref(caps);
        return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
        GstCaps * caps;
        gst_query_parse_accept_caps(query, &caps);
        GstCaps * ours = sink_caps(self, pad, NULL);
        gst_query_set_accept_caps_result(query, gst_caps_is_subset(caps, ours));
        gst_caps_unref(ours);
        return TRUE;
    }
    case GST_QUERY_ALLOCATION:
        /* Frames travel on as they are: upstream picks its own pool. */
        return FALSE;
    default: return gst_pad_query_default(pad, parent, query);
    }
}

static GstFlowReturn sink_chain(GstPad * pad, GstObject * parent, GstBuffer * buffer) {
    GstEiMux *    self = GST_EI_MUX(parent);
    GstEiMuxPad * mp = GST_EI_MUX_PAD(pad);
    GstFlowReturn ret = GST_FLOW_OK;
    gboolean      live;
    GST_OBJECT_LOCK(self);
    live = self->live_source;
    GST_OBJECT_UNLOCK(self);

    g_mutex_lock(&self->lock);
    if (!mp->have_info) {
        g_mutex_unlock(&self->lock);
        gst_buffer_unref(buffer);
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL), ("%s: a frame came before its caps", GST_PAD_NAME(pad)));
        return GST_FLOW_NOT_NEGOTIATED;
    }
    for (;;) {
        if (!mp->active || mp->flushing || mp->released || self->stopping) {
            ret = GST_FLOW_FLUSHING;
            break;
        }
        if (self->src_flow != GST_FLOW_OK) {
            ret = self->src_flow;
            break;
        }
        if (mp->eos) {
            ret = GST_FLOW_EOS;
            break;
        }
        guint limit = MAX(EI_MUX_QUEUE_MIN, per_source_cap(self));
        if (mp->queue.length < limit) break;
        if (live) {
            mux_item_free(g_queue_pop_head(&mp->queue));
            self->dropped++;
            GST_DEBUG_OBJECT(pad, "queue full, dropped the oldest frame (%" G_GUINT64_FORMAT " dropped)",
                             self->dropped);
            continue;
        }
        g_cond_wait(&self->cond, &self->lock);
    }
    if (ret != GST_FLOW_OK) {
        g_mutex_unlock(&self->lock);
        gst_buffer_unref(buffer);
        return ret;
    }
    buffer = stamp_frame(mp, buffer);
    MuxItem * it = g_new0(MuxItem, 1);
    it->buffer = buffer;
    it->info = mp->info;
    it->arrival_us = g_get_monotonic_time();
    GstClockTime ts = GST_BUFFER_PTS(buffer);
    it->running_time = (GST_CLOCK_TIME_IS_VALID(ts) && mp->segment.format == GST_FORMAT_TIME)
                           ? gst_segment_to_running_time(&mp->segment, GST_FORMAT_TIME, ts)
                           : ts;
    g_queue_push_tail(&mp->queue, it);
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    return GST_FLOW_OK;
}

static gboolean sink_event(GstPad * pad, GstObject * parent, GstEvent * event) {
    GstEiMux *    self = GST_EI_MUX(parent);
    GstEiMuxPad * mp = GST_EI_MUX_PAD(pad);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
        GstCaps *    caps;
        GstVideoInfo info;
        gst_event_parse_caps(event, &caps);
        if (!gst_video_info_from_caps(&info, caps)) {
            gchar * str = gst_caps_to_string(caps);
            GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                              ("%s: caps are not raw video: %s", GST_PAD_NAME(pad), str));
            g_free(str);
            gst_event_unref(event);
            return FALSE;
        }
        g_mutex_lock(&self->lock);
        mp->info = info;
        mp->have_info = TRUE;
        g_mutex_unlock(&self->lock);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_SEGMENT: {
        const GstSegment * seg;
        gst_event_parse_segment(event, &seg);
        g_mutex_lock(&self->lock);
        mp->segment = *seg;
        g_mutex_unlock(&self->lock);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_EOS:
        g_mutex_lock(&self->lock);
        mp->eos = TRUE;
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        gst_event_unref(event);
        return TRUE;
    case GST_EVENT_FLUSH_START: {
        gboolean forward = FALSE;
        g_mutex_lock(&self->lock);
        if (!mp->flushing) {
            mp->flushing = TRUE;
            g_queue_clear_full(&mp->queue, mux_item_free);
            forward = self->n_flushing++ == 0;
        }
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        if (forward) return gst_pad_push_event(self->srcpad, event);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_FLUSH_STOP: {
        gboolean forward = FALSE;
        g_mutex_lock(&self->lock);
        if (mp->flushing) {
            mp->flushing = FALSE;
            forward = --self->n_flushing == 0;
        }
        mp->eos = FALSE;
        mp->eos_sent = FALSE;
        mp->last_end = GST_CLOCK_TIME_NONE;
        gst_segment_init(&mp->segment, GST_FORMAT_TIME);
        if (forward) {
            self->need_segment = TRUE;
            self->eos_pushed = FALSE;
            self->src_flow = GST_FLOW_OK;
        }
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        if (forward) return gst_pad_push_event(self->srcpad, event);
        gst_event_unref(event);
        return TRUE;
    }
    case GST_EVENT_STREAM_START:
    case GST_EVENT_TAG:
    case GST_EVENT_GAP:
        /* The batch stream has its own stream-start; per-source tags and gaps do not apply to it. */
        gst_event_unref(event);
        return TRUE;
    default:
        if (GST_EVENT_IS_SERIALIZED(event)) {
            /* Serialized events of one source would land out of order among the batches. */
            gst_event_unref(event);
            return TRUE;
        }
        return gst_pad_event_default(pad, parent, event);
    }
}

static gboolean sink_activate_mode(GstPad * pad, GstObject * parent, GstPadMode mode, gboolean active) {
    GstEiMux *    self = GST_EI_MUX(parent);
    GstEiMuxPad * mp = GST_EI_MUX_PAD(pad);
    if (mode != GST_PAD_MODE_PUSH) return FALSE;
    g_mutex_lock(&self->lock);
    mp->active = active;
    if (!active) {
        g_queue_clear_full(&mp->queue, mux_item_free);
    } else {
        mp->eos = FALSE;
        mp->eos_sent = FALSE;
        mp->frame_number = 0;
        mp->last_end = GST_CLOCK_TIME_NONE;
        if (mp->flushing) {
            mp->flushing = FALSE;
            self->n_flushing--;
        }
        gst_segment_init(&mp->segment, GST_FORMAT_TIME);
    }
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    return TRUE;
}

/* ---- the batching task ---- */

static GstEvent * source_eos_event(guint source_id) {
    return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                                gst_structure_new("GstEiSourceEos", "source-id", G_TYPE_UINT, source_id, NULL));
}

/* Called without the lock. */
static void push_sticky(GstEiMux * self, gboolean stream_start, gboolean caps, gboolean segment) {
    if (stream_start) {
        /* Several sink pads: no upstream stream id to derive one from. */
        gchar *    id = g_strdup_printf("edgemux/%s/%08x", GST_OBJECT_NAME(self), g_random_int());
        GstEvent * ev = gst_event_new_stream_start(id);
        gst_event_set_group_id(ev, gst_util_group_id_next());
        g_free(id);
        gst_pad_push_event(self->srcpad, ev);
    }
    if (caps) {
        GstCaps * c = gst_caps_new_empty_simple(GST_EI_BATCH_MEDIA_TYPE);
        gst_pad_push_event(self->srcpad, gst_event_new_caps(c));
        gst_caps_unref(c);
    }
    if (segment) {
        GstSegment seg;
        gst_segment_init(&seg, GST_FORMAT_TIME);
        gst_pad_push_event(self->srcpad, gst_event_new_segment(&seg));
    }
}

/* Takes the sticky-event flags (lock held). */
static void take_sticky(GstEiMux * self, gboolean * ss, gboolean * caps, gboolean * seg) {
    *ss = self->need_stream_start;
    *caps = self->need_caps;
    *seg = self->need_segment;
    self->need_stream_start = self->need_caps = self->need_segment = FALSE;
}

/* Forms one batch from the queues (lock held): round-robin, at most cap frames per source. */
static GstBuffer * form_batch(GstEiMux * self, guint bs, guint cap) {
    guint n_pads = g_list_length(self->sinkpads);
    if (n_pads == 0) return NULL;
    GstEiMuxPad ** pads = g_new(GstEiMuxPad *, n_pads);
    guint *        taken = g_new0(guint, n_pads);
    guint          i = 0;
    for (GList * l = self->sinkpads; l; l = l->next) pads[i++] = l->data;

    GstBuffer *      batch = gst_buffer_new();
    GstEiBatchMeta * bm = gst_buffer_add_ei_batch_meta(batch);
    guint            start = self->next_rr++ % n_pads;
    gboolean         more = TRUE;
    while (bm->n_frames < bs && more) {
        more = FALSE;
        for (guint k = 0; k < n_pads && bm->n_frames < bs; k++) {
            guint         j = (start + k) % n_pads;
            GstEiMuxPad * p = pads[j];
            if (taken[j] >= cap || p->queue.length == 0) continue;
            MuxItem * it = g_queue_pop_head(&p->queue);
            if (bm->n_frames == 0) {
                GST_BUFFER_PTS(batch) = it->running_time;
            }
            gst_ei_batch_meta_append(bm, it->buffer, &it->info, p->source_id, p->frame_number++);
            g_free(it);
            taken[j]++;
            if (taken[j] < cap && p->queue.length) more = TRUE;
        }
    }
    g_free(taken);
    g_free(pads);
    g_cond_broadcast(&self->cond); /* room in the queues */
    return batch;
}

static void mux_loop(gpointer data) {
    GstEiMux * self = data;
    g_mutex_lock(&self->lock);
    for (;;) {
        if (self->stopping) break;
        if (self->n_flushing > 0 || self->src_flow != GST_FLOW_OK) {
            g_cond_wait(&self->cond, &self->lock);
            continue;
        }

        /* Sources that ended (or were released) and have no frames left: GstEiSourceEos. */
        GArray * ended = g_array_new(FALSE, FALSE, sizeof(guint));
        g_array_append_vals(ended, self->released_eos->data, self->released_eos->len);
        g_array_set_size(self->released_eos, 0);
        for (GList * l = self->sinkpads; l; l = l->next) {
            GstEiMuxPad * p = l->data;
            if (p->eos && !p->eos_sent && p->queue.length == 0) {
                p->eos_sent = TRUE;
                g_array_append_val(ended, p->source_id);
            }
        }
        if (ended->len) {
            gboolean ss, caps, seg;
            take_sticky(self, &ss, &caps, &seg);
            g_mutex_unlock(&self->lock);
            push_sticky(self, ss, caps, seg);
            for (guint i = 0; i < ended->len; i++) {
                guint id = g_array_index(ended, guint, i);
                GST_DEBUG_OBJECT(self, "source %u ended", id);
                gst_pad_push_event(self->srcpad, source_eos_event(id));
            }
            g_array_free(ended, TRUE);
            g_mutex_lock(&self->lock);
            continue;
        }
        g_array_free(ended, TRUE);

        guint active = active_sources(self);
        if (active == 0) {
            if (self->sinkpads && !self->eos_pushed) {
                gboolean ss, caps, seg;
                self->eos_pushed = TRUE;
                take_sticky(self, &ss, &caps, &seg);
                g_mutex_unlock(&self->lock);
                push_sticky(self, ss, caps, seg);
                GST_DEBUG_OBJECT(self, "every source ended");
                gst_pad_push_event(self->srcpad, gst_event_new_eos());
                g_mutex_lock(&self->lock);
                continue;
            }
            g_cond_wait(&self->cond, &self->lock);
            continue;
        }

        guint    bs = effective_batch_size(self), cap = per_source_cap(self);
        guint    avail = 0;
        gboolean remaining_ended = TRUE;
        gint64   oldest = G_MAXINT64;
        for (GList * l = self->sinkpads; l; l = l->next) {
            GstEiMuxPad * p = l->data;
            avail += MIN(p->queue.length, cap);
            if (!p->eos) remaining_ended = FALSE;
            if (p->queue.length) oldest = MIN(oldest, ((MuxItem *)p->queue.head->data)->arrival_us);
        }
        gboolean ready = avail >= bs || (avail > 0 && remaining_ended);
        if (!ready && avail > 0) {
            gint timeout;
            GST_OBJECT_LOCK(self);
            timeout = self->push_timeout_us;
            GST_OBJECT_UNLOCK(self);
            if (timeout >= 0) {
                gint64 deadline = oldest + timeout;
                if (g_get_monotonic_time() >= deadline) {
                    ready = TRUE;
                } else {
                    g_cond_wait_until(&self->cond, &self->lock, deadline);
                    continue;
                }
            }
        }
        if (!ready) {
            g_cond_wait(&self->cond, &self->lock);
            continue;
        }

        GstBuffer * batch = form_batch(self, bs, cap);
        gboolean    ss, caps, seg;
        take_sticky(self, &ss, &caps, &seg);
        g_mutex_unlock(&self->lock);
        push_sticky(self, ss, caps, seg);
        GST_LOG_OBJECT(self, "pushing a batch of %u frames", gst_buffer_get_ei_batch_meta(batch)->n_frames);
        GstFlowReturn ret = gst_pad_push(self->srcpad, batch);
        g_mutex_lock(&self->lock);
        if (ret == GST_FLOW_FLUSHING || ret == GST_FLOW_OK) continue;
        /* Downstream refuses: stop asking the sources for more. */
        self->src_flow = ret;
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
            GST_ELEMENT_FLOW_ERROR(self, ret);
            gst_pad_push_event(self->srcpad, gst_event_new_eos());
        }
        gst_pad_pause_task(self->srcpad);
        return;
    }
    g_mutex_unlock(&self->lock);
    gst_pad_pause_task(self->srcpad);
}

static gboolean src_activate_mode(GstPad * pad, GstObject * parent, GstPadMode mode, gboolean active) {
    GstEiMux * self = GST_EI_MUX(parent);
    if (mode != GST_PAD_MODE_PUSH) return FALSE;
    if (active) {
        g_mutex_lock(&self->lock);
        self->stopping = FALSE;
        self->need_stream_start = self->need_caps = self->need_segment = TRUE;
        self->eos_pushed = FALSE;
        self->src_flow = GST_FLOW_OK;
        g_mutex_unlock(&self->lock);
        return gst_pad_start_task(pad, mux_loop, self, NULL);
    }
    g_mutex_lock(&self->lock);
    self->stopping = TRUE;
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    return gst_pad_stop_task(pad);
}

static gboolean src_query(GstPad * pad, GstObject * parent, GstQuery * query) {
    GstEiMux * self = GST_EI_MUX(parent);
    switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_LATENCY: {
        if (!gst_pad_query_default(pad, parent, query)) return FALSE;
        gboolean     live;
        GstClockTime min, max;
        gint         timeout;
        gst_query_parse_latency(query, &live, &min, &max);
        GST_OBJECT_LOCK(self);
        timeout = self->push_timeout_us;
        GST_OBJECT_UNLOCK(self);
        /* A live frame may wait up to the push timeout for its batch. */
        if (live && timeout > 0) {
            min += (GstClockTime)timeout * GST_USECOND;
            if (GST_CLOCK_TIME_IS_VALID(max)) max += (GstClockTime)timeout * GST_USECOND;
        }
        gst_query_set_latency(query, live, min, max);
        return TRUE;
    }
    default: return gst_pad_query_default(pad, parent, query);
    }
}

static gboolean src_event(GstPad * pad, GstObject * parent, GstEvent * event) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
        /* QoS of a batch does not describe any one source's frames. */
        gst_event_unref(event);
        return TRUE;
    }
    return gst_pad_event_default(pad, parent, event);
}

/* ---- request pads ---- */

static GstPad * gst_ei_mux_request_new_pad(GstElement * element, GstPadTemplate * templ, const gchar * name,
                                           const GstCaps * caps) {
    GstEiMux * self = GST_EI_MUX(element);
    guint      id = 0;
    (void)caps;
    g_mutex_lock(&self->lock);
    if (name && sscanf(name, "sink_%u", &id) == 1) {
        for (GList * l = self->sinkpads; l; l = l->next) {
            if (GST_EI_MUX_PAD(l->data)->source_id == id) {
                g_mutex_unlock(&self->lock);
                GST_WARNING_OBJECT(self, "pad %s exists already", name);
                return NULL;
            }
        }
    } else {
        /* The lowest free id. */
        gboolean used = TRUE;
        for (id = 0; used; id++) {
            used = FALSE;
            for (GList * l = self->sinkpads; l; l = l->next) used |= GST_EI_MUX_PAD(l->data)->source_id == id;
            if (!used) break;
        }
    }
    g_mutex_unlock(&self->lock);

    gchar *       pad_name = g_strdup_printf("sink_%u", id);
    GstEiMuxPad * pad =
        g_object_new(GST_TYPE_EI_MUX_PAD, "name", pad_name, "direction", GST_PAD_SINK, "template", templ, NULL);
    g_free(pad_name);
    pad->source_id = id;
    gst_pad_set_chain_function(GST_PAD(pad), GST_DEBUG_FUNCPTR(sink_chain));
    gst_pad_set_event_function(GST_PAD(pad), GST_DEBUG_FUNCPTR(sink_event));
    gst_pad_set_query_function(GST_PAD(pad), GST_DEBUG_FUNCPTR(sink_query));
    gst_pad_set_activatemode_function(GST_PAD(pad), GST_DEBUG_FUNCPTR(sink_activate_mode));

    g_mutex_lock(&self->lock);
    self->sinkpads = g_list_append(self->sinkpads, pad);
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    if (!gst_element_add_pad(element, GST_PAD(pad))) {
        g_mutex_lock(&self->lock);
        self->sinkpads = g_list_remove(self->sinkpads, pad);
        g_mutex_unlock(&self->lock);
        return NULL;
    }
    return GST_PAD(pad);
}

static void gst_ei_mux_release_pad(GstElement * element, GstPad * pad) {
    GstEiMux *    self = GST_EI_MUX(element);
    GstEiMuxPad * mp = GST_EI_MUX_PAD(pad);
    g_mutex_lock(&self->lock);
    if (!g_list_find(self->sinkpads, mp)) {
        g_mutex_unlock(&self->lock);
        return;
    }
    mp->released = TRUE;
    g_queue_clear_full(&mp->queue, mux_item_free);
    self->sinkpads = g_list_remove(self->sinkpads, mp);
    if (mp->flushing) self->n_flushing--;
    if (!mp->eos_sent && mp->active) g_array_append_val(self->released_eos, mp->source_id);
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    GST_DEBUG_OBJECT(self, "released %s", GST_PAD_NAME(pad));
    gst_element_remove_pad(element, pad);
}

/* ---- GObject ---- */

static void gst_ei_mux_set_property(GObject * object, guint id, const GValue * value, GParamSpec * pspec) {
    GstEiMux * self = GST_EI_MUX(object);
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_uint(value); break;
    case PROP_PUSH_TIMEOUT: self->push_timeout_us = g_value_get_int(value); break;
    case PROP_WIDTH: self->width = g_value_get_uint(value); break;
    case PROP_HEIGHT: self->height = g_value_get_uint(value); break;
    case PROP_LIVE_SOURCE: self->live_source = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
    /* A new batch size or timeout applies to the batch being gathered. */
    g_mutex_lock(&self->lock);
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
}

static void gst_ei_mux_get_property(GObject * object, guint id, GValue * value, GParamSpec * pspec) {
    GstEiMux * self = GST_EI_MUX(object);
    if (id == PROP_FRAMES_DROPPED) {
        g_mutex_lock(&self->lock);
        g_value_set_uint64(value, self->dropped);
        g_mutex_unlock(&self->lock);
        return;
    }
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_BATCH_SIZE: g_value_set_uint(value, self->batch_size); break;
    case PROP_PUSH_TIMEOUT: g_value_set_int(value, self->push_timeout_us); break;
    case PROP_WIDTH: g_value_set_uint(value, self->width); break;
    case PROP_HEIGHT: g_value_set_uint(value, self->height); break;
    case PROP_LIVE_SOURCE: g_value_set_boolean(value, self->live_source); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void gst_ei_mux_finalize(GObject * object) {
    GstEiMux * self = GST_EI_MUX(object);
    g_list_free(self->sinkpads);
    g_array_free(self->released_eos, TRUE);
    g_mutex_clear(&self->lock);
    g_cond_clear(&self->cond);
    G_OBJECT_CLASS(gst_ei_mux_parent_class)->finalize(object);
}

static void gst_ei_mux_class_init(GstEiMuxClass * klass) {
    GObjectClass *    oc = G_OBJECT_CLASS(klass);
    GstElementClass * ec = GST_ELEMENT_CLASS(klass);
    GST_DEBUG_CATEGORY_INIT(gst_ei_mux_debug, "edgemux", 0, "edgeinfer batching muxer");
    oc->set_property = gst_ei_mux_set_property;
    oc->get_property = gst_ei_mux_get_property;
    oc->finalize = gst_ei_mux_finalize;

    GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
    g_object_class_install_property(oc, PROP_BATCH_SIZE,
                                    g_param_spec_uint("batch-size", "Batch size",
                                                      "Frames per batch (0 = the number of sink pads)", 0, 1024, 0,
                                                      rw));
    g_object_class_install_property(
        oc, PROP_PUSH_TIMEOUT,
        g_param_spec_int("batched-push-timeout", "Batched push timeout",
                         "Microseconds after the first frame of a batch arrived to push it even when not full "
                         "(-1 = wait for a full batch)",
                         -1, G_MAXINT, DEFAULT_PUSH_TIMEOUT, rw));
    g_object_class_install_property(
        oc, PROP_WIDTH,
        g_param_spec_uint("width", "Width", "Frame width the sink pads accept (0 = any)", 0, 32768, 0,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
    g_object_class_install_property(
        oc, PROP_HEIGHT,
        g_param_spec_uint("height", "Height", "Frame height the sink pads accept (0 = any)", 0, 32768, 0,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
    g_object_class_install_property(
        oc, PROP_LIVE_SOURCE,
        g_param_spec_boolean("live-source", "Live source",
                             "Live sources: a full queue drops its oldest frame instead of blocking the source", FALSE,
                             rw));
    g_object_class_install_property(oc, PROP_FRAMES_DROPPED,
                                    g_param_spec_uint64("frames-dropped", "Frames dropped",
                                                        "Frames dropped from full queues (live-source=true)", 0,
                                                        G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

    gst_element_class_add_static_pad_template_with_gtype(ec, &sink_template, GST_TYPE_EI_MUX_PAD);
    gst_element_class_add_static_pad_template(ec, &src_template);
    gst_element_class_set_static_metadata(ec, "edgeinfer batching muxer", "Video/Muxer",
                                          "Gathers frames of several sources into batches for edgeinfer", "edgeinfer");
    ec->request_new_pad = GST_DEBUG_FUNCPTR(gst_ei_mux_request_new_pad);
    ec->release_pad = GST_DEBUG_FUNCPTR(gst_ei_mux_release_pad);
    gst_type_mark_as_plugin_api(GST_TYPE_EI_MUX_PAD, 0);
}

static void gst_ei_mux_init(GstEiMux * self) {
    g_mutex_init(&self->lock);
    g_cond_init(&self->cond);
    self->released_eos = g_array_new(FALSE, FALSE, sizeof(guint));
    self->push_timeout_us = DEFAULT_PUSH_TIMEOUT;
    self->src_flow = GST_FLOW_OK;
    self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
    gst_pad_set_activatemode_function(self->srcpad, GST_DEBUG_FUNCPTR(src_activate_mode));
    gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(src_query));
    gst_pad_set_event_function(self->srcpad, GST_DEBUG_FUNCPTR(src_event));
    gst_pad_use_fixed_caps(self->srcpad);
    gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
