/* edgemux -> edgedemux with videotestsrc sources and appsinks: every frame arrives unchanged, in
 * order, on its own source's pad; batches respect batch-size and round-robin; per-source EOS; the
 * push timeout; a pad released while playing; a pipeline torn down while playing; GstEiFrameMeta
 * travelling through. argv[1] names the case. */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "ei_test.h"
#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"

#define MAX_SOURCES 4

typedef struct {
    const char * format;
    int          width, height;
    int          num_buffers; /* -1: endless */
    const char * pattern;
    gboolean     live;
} SourceSpec;

typedef struct {
    SourceSpec spec;
    GArray *   sums;     /* guint64 checksum of each frame leaving the source */
    GArray *   pts;      /* GstClockTime of each frame */
    guint      received; /* at its appsink */
    gboolean   got_eos;
    guint      others_batched_at_eos; /* frames of the other sources batched before its GstEiSourceEos */
    guint      in_batches;            /* frames of this source in batches */
    guint64    next_frame_number;
    gboolean   ended_in_stream; /* GstEiSourceEos seen after edgemux */
    guint      released;
    guint      max_per_batch;
} Source;

typedef struct {
    GMutex   lock;
    guint    n;
    Source   src[MAX_SOURCES];
    guint    batch_size;
    gint     timeout;
    gboolean add_meta;
    guint    batches;
    guint    min_batch, max_batch;
    guint    full_before_end_failures; /* timeout -1: batches short of batch-size before a source ended */
    guint    fairness_failures;
    guint    order_failures;
    guint    mismatches;
    guint    meta_failures;
    guint    after_eos_frames;
    gboolean blocked; /* release case: the released source's pad is blocked */
} Ctx;

static guint64 checksum(GstBuffer * buf) {
    GstMapInfo map;
    guint64    h = 1469598103934665603ull;
    if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return 0;
    for (gsize i = 0; i < map.size; i++) h = (h ^ map.data[i]) * 1099511628211ull;
    gst_buffer_unmap(buf, &map);
    return h;
}

typedef struct {
    Ctx * ctx;
    guint id;
} ProbeArg;
static ProbeArg probe_args[MAX_SOURCES];

/* On each source's capsfilter: record the frame (and attach a frame meta in the meta case). */
static GstPadProbeReturn source_probe(GstPad * pad, GstPadProbeInfo * info, gpointer data) {
    ProbeArg * a = data;
    Ctx *      ctx = a->ctx;
    (void)pad;
    GstBuffer * buf = GST_PAD_PROBE_INFO_BUFFER(info);
    g_mutex_lock(&ctx->lock);
    Source * s = &ctx->src[a->id];
    if (ctx->add_meta) {
        buf = gst_buffer_make_writable(buf);
        GST_PAD_PROBE_INFO_DATA(info) = buf;
        GstEiFrameMeta * m = gst_buffer_add_ei_frame_meta(buf);
        m->source_id = a->id;
        m->frame_number = s->sums->len;
        m->unique_id = 7;
        m->inferred = TRUE;
        m->frame_width = s->spec.width;
        m->frame_height = s->spec.height;
        GstEiObject objs[2] = {{1.f, 2.f, 10.f, 12.f, 0.9f, 3, 0}, {5.f, 6.f, 7.f, 8.f, 0.5f, (gint)a->id, 0}};
        guint8      mask[16] = {0, 1, 2, 255, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, (guint8)a->id};
        gint64      px[3] = {4, 5, 5};
        gst_ei_frame_meta_set_objects(m, objs, 2);
        gst_ei_frame_meta_set_mask(m, 4, 4, 3, mask, px);
        m->times.infer_ms = 1.5;
    }
    guint64      sum = checksum(buf);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    g_array_append_val(s->sums, sum);
    g_array_append_val(s->pts, pts);
    g_mutex_unlock(&ctx->lock);
    return GST_PAD_PROBE_OK;
}

/* After edgemux: batch sizes, round-robin, frame numbers, per-source EOS. */
static GstPadProbeReturn batch_probe(GstPad * pad, GstPadProbeInfo * info, gpointer data) {
    Ctx * ctx = data;
    (void)pad;
    g_mutex_lock(&ctx->lock);
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstEiBatchMeta * bm = gst_buffer_get_ei_batch_meta(GST_PAD_PROBE_INFO_BUFFER(info));
        guint            n = bm ? bm->n_frames : 0;
        guint            active = 0, counts[MAX_SOURCES] = {0};
        gboolean         any_ended = FALSE;
        for (guint i = 0; i < ctx->n; i++) {
            if (!ctx->src[i].ended_in_stream)
                active++;
            else
                any_ended = TRUE;
        }
        ctx->batches++;
        ctx->min_batch = MIN(ctx->min_batch, n);
        ctx->max_batch = MAX(ctx->max_batch, n);
        if (ctx->timeout < 0 && !any_ended && n != ctx->batch_size) ctx->full_before_end_failures++;
        for (guint k = 0; k < n; k++) {
            const GstEiBatchFrame * f = &bm->frames[k];
            if (f->source_id >= ctx->n) {
                ctx->order_failures++;
                continue;
            }
            Source * s = &ctx->src[f->source_id];
            if (s->ended_in_stream) ctx->after_eos_frames++;
            if (f->frame_number != s->next_frame_number) ctx->order_failures++;
            s->next_frame_number = f->frame_number + 1;
            s->in_batches++;
            counts[f->source_id]++;
        }
        guint cap = active ? (ctx->batch_size + active - 1) / active : ctx->batch_size;
        for (guint i = 0; i < ctx->n; i++) {
            if (counts[i] > cap) ctx->fairness_failures++;
            ctx->src[i].max_per_batch = MAX(ctx->src[i].max_per_batch, counts[i]);
        }
    } else {
        GstEvent *           ev = GST_PAD_PROBE_INFO_EVENT(info);
        const GstStructure * st = gst_event_get_structure(ev);
        guint                id;
        if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_DOWNSTREAM && st && gst_structure_has_name(st, "GstEiSourceEos") &&
            gst_structure_get_uint(st, "source-id", &id) && id < ctx->n) {
            ctx->src[id].ended_in_stream = TRUE;
            ctx->src[id].others_batched_at_eos = 0;
            for (guint i = 0; i < ctx->n; i++)
                if (i != id) ctx->src[id].others_batched_at_eos += ctx->src[i].in_batches;
        }
    }
    g_mutex_unlock(&ctx->lock);
    return GST_PAD_PROBE_OK;
}

typedef struct {
    Ctx * ctx;
    guint id;
} SinkArg;
static SinkArg sink_args[MAX_SOURCES];

static GstFlowReturn on_sample(GstAppSink * sink, gpointer data) {
    SinkArg *   a = data;
    Ctx *       ctx = a->ctx;
    GstSample * sample = gst_app_sink_pull_sample(sink);
    if (!sample) return GST_FLOW_ERROR;
    GstBuffer *  buf = gst_sample_get_buffer(sample);
    GstVideoInfo vi;
    gboolean     caps_ok = gst_video_info_from_caps(&vi, gst_sample_get_caps(sample));
    guint64      sum = checksum(buf);
    g_mutex_lock(&ctx->lock);
    Source * s = &ctx->src[a->id];
    guint    k = s->received++;
    if (!caps_ok || GST_VIDEO_INFO_WIDTH(&vi) != s->spec.width || GST_VIDEO_INFO_HEIGHT(&vi) != s->spec.height ||
        strcmp(gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vi)), s->spec.format) != 0)
        ctx->mismatches++;
    if (k >= s->sums->len || g_array_index(s->sums, guint64, k) != sum ||
        g_array_index(s->pts, GstClockTime, k) != GST_BUFFER_PTS(buf))
        ctx->mismatches++;
    if (ctx->add_meta) {
        GstEiFrameMeta * m = gst_buffer_get_ei_frame_meta(buf);
        if (!m || m->source_id != a->id || m->frame_number != k || m->unique_id != 7 || !m->inferred ||
            m->n_objects != 2 || m->objects[0].w != 10.f || m->objects[1].class_id != (gint)a->id ||
            m->objects[0].confidence != 0.9f || m->mask_width != 4 || !m->mask || m->mask[15] != a->id ||
            !m->class_pixels || m->class_pixels[2] != 5 || m->times.infer_ms != 1.5 || m->frame_width != s->spec.width)
            ctx->meta_failures++;
    }
    g_mutex_unlock(&ctx->lock);
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static void on_eos(GstAppSink * sink, gpointer data) {
    SinkArg * a = data;
    Ctx *     ctx = a->ctx;
    (void)sink;
    g_mutex_lock(&ctx->lock);
    ctx->src[a->id].got_eos = TRUE;
    g_mutex_unlock(&ctx->lock);
}

static GstElement * build(Ctx * ctx, const SourceSpec * specs, guint n, guint batch_size, gint timeout) {
    memset(ctx, 0, sizeof *ctx);
    g_mutex_init(&ctx->lock);
    ctx->n = n;
    ctx->batch_size = batch_size;
    ctx->timeout = timeout;
    ctx->min_batch = G_MAXUINT;
    GString * d = g_string_new(NULL);
    g_string_append_printf(d, "edgemux name=m batch-size=%u batched-push-timeout=%d ! edgedemux name=d ", batch_size,
                           timeout);
    for (guint i = 0; i < n; i++) {
        const SourceSpec * s = &specs[i];
        ctx->src[i].spec = *s;
        ctx->src[i].sums = g_array_new(FALSE, FALSE, sizeof(guint64));
        ctx->src[i].pts = g_array_new(FALSE, FALSE, sizeof(GstClockTime));
        g_string_append_printf(d,
                               " videotestsrc name=s%u num-buffers=%d pattern=%s is-live=%d ! capsfilter name=f%u "
                               "caps=video/x-raw,format=%s,width=%d,height=%d,framerate=%d/1 ! m.sink_%u",
                               i, s->num_buffers, s->pattern, s->live, i, s->format, s->width, s->height,
                               s->live ? 10 : 30, i);
        g_string_append_printf(d, " d.src_%u ! queue ! appsink name=k%u sync=false", i, i);
    }
    GError *     err = NULL;
    GstElement * pipe = gst_parse_launch(d->str, &err);
    g_string_free(d, TRUE);
    if (!pipe) {
        fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
        g_clear_error(&err);
        return NULL;
    }
    for (guint i = 0; i < n; i++) {
        gchar *      name = g_strdup_printf("f%u", i);
        GstElement * f = gst_bin_get_by_name(GST_BIN(pipe), name);
        g_free(name);
        GstPad * pad = gst_element_get_static_pad(f, "src");
        probe_args[i] = (ProbeArg){ctx, i};
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, source_probe, &probe_args[i], NULL);
        gst_object_unref(pad);
        gst_object_unref(f);

        name = g_strdup_printf("k%u", i);
        GstElement * k = gst_bin_get_by_name(GST_BIN(pipe), name);
        g_free(name);
        sink_args[i] = (SinkArg){ctx, i};
        GstAppSinkCallbacks cbs = {0};
        cbs.new_sample = on_sample;
        cbs.eos = on_eos;
        gst_app_sink_set_callbacks(GST_APP_SINK(k), &cbs, &sink_args[i], NULL);
        gst_object_unref(k);
    }
    GstElement * m = gst_bin_get_by_name(GST_BIN(pipe), "m");
    GstPad *     src = gst_element_get_static_pad(m, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, batch_probe, ctx, NULL);
    gst_object_unref(src);
    gst_object_unref(m);
    return pipe;
}

static void ctx_clear(Ctx * ctx) {
    for (guint i = 0; i < ctx->n; i++) {
        g_array_free(ctx->src[i].sums, TRUE);
        g_array_free(ctx->src[i].pts, TRUE);
    }
    g_mutex_clear(&ctx->lock);
}

/* Waits for EOS (TRUE) or an error / 50 s (FALSE). */
static gboolean wait_eos(GstElement * pipe) {
    GstBus *     bus = gst_element_get_bus(pipe);
    GstMessage * msg = gst_bus_timed_pop_filtered(bus, 50 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    gboolean     ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError * e = NULL;
        gchar *  dbg = NULL;
        gst_message_parse_error(msg, &e, &dbg);
        fprintf(stderr, "error from %s: %s (%s)\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), e->message, dbg ? dbg : "");
        g_error_free(e);
        g_free(dbg);
    } else if (!msg) {
        fprintf(stderr, "no EOS within 50 s\n");
    }
    if (msg) gst_message_unref(msg);
    gst_object_unref(bus);
    return ok;
}

/* The checks every finished run passes. */
static void check_run(Ctx * ctx) {
    EI_CHECK(ctx->batches > 0);
    EI_CHECK(ctx->max_batch <= ctx->batch_size);
    EI_CHECK(ctx->mismatches == 0);
    EI_CHECK(ctx->order_failures == 0);
    EI_CHECK(ctx->fairness_failures == 0);
    EI_CHECK(ctx->after_eos_frames == 0);
    EI_CHECK(ctx->meta_failures == 0);
    for (guint i = 0; i < ctx->n; i++) {
        Source * s = &ctx->src[i];
        if (s->released) continue;
        EI_CHECK(s->sums->len == (guint)s->spec.num_buffers);
        EI_CHECK(s->received == (guint)s->spec.num_buffers);
        EI_CHECK(s->in_batches == (guint)s->spec.num_buffers);
        EI_CHECK(s->ended_in_stream);
        EI_CHECK(s->got_eos);
    }
    if (ctx->mismatches || ctx->order_failures || ctx->fairness_failures)
        fprintf(stderr, "mismatches %u, order %u, fairness %u\n", ctx->mismatches, ctx->order_failures,
                ctx->fairness_failures);
}

/* Runs specs to EOS and applies the common checks. */
static void run_case(const SourceSpec * specs, guint n, guint batch_size, gint timeout, gboolean add_meta, Ctx * ctx) {
    GstElement * pipe = build(ctx, specs, n, batch_size, timeout);
    EI_CHECK(pipe != NULL);
    if (!pipe) return;
    ctx->add_meta = add_meta;
    EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    EI_CHECK(wait_eos(pipe));
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    check_run(ctx);
}

/* The source that ends first ends in the batch stream (and gets EOS at its appsink) while the others
 * still have frames to come. */
static void check_early_eos(Ctx * ctx, guint early) {
    guint total_others = 0;
    for (guint i = 0; i < ctx->n; i++)
        if (i != early) total_others += (guint)ctx->src[i].spec.num_buffers;
    EI_CHECK(ctx->src[early].got_eos);
    EI_CHECK(ctx->src[early].others_batched_at_eos < total_others);
}

static void test_two_sources(void) {
    const SourceSpec specs[] = {{"RGB", 64, 48, 12, "snow", FALSE}, {"I420", 80, 60, 40, "ball", FALSE}};
    Ctx              ctx;
    run_case(specs, 2, 4, -1, FALSE, &ctx);
    /* batched-push-timeout=-1: only full batches while both sources run. */
    EI_CHECK(ctx.full_before_end_failures == 0);
    EI_CHECK(ctx.src[0].max_per_batch == 2 && ctx.src[1].max_per_batch == 4);
    check_early_eos(&ctx, 0);
    ctx_clear(&ctx);
}

static void test_four_sources(void) {
    const SourceSpec specs[] = {{"RGB", 64, 48, 10, "snow", FALSE},
                                {"BGR", 64, 48, 24, "ball", FALSE},
                                {"NV12", 96, 72, 30, "smpte", FALSE},
                                {"I420", 64, 48, 16, "snow", FALSE}};
    Ctx              ctx;
    run_case(specs, 4, 4, 40000, FALSE, &ctx);
    check_early_eos(&ctx, 0);
    ctx_clear(&ctx);
}

static void test_push_timeout(void) {
    /* A live source at 10 fps beside a fast one: the fast one's frames cannot wait for full batches. */
    const SourceSpec specs[] = {{"RGB", 64, 48, 5, "snow", TRUE}, {"I420", 64, 48, 40, "ball", FALSE}};
    Ctx              ctx;
    run_case(specs, 2, 4, 20000, FALSE, &ctx);
    EI_CHECK(ctx.min_batch < 4);
    ctx_clear(&ctx);
}

static void test_frame_meta(void) {
    const SourceSpec specs[] = {{"RGB", 64, 48, 10, "snow", FALSE}, {"NV12", 80, 60, 14, "ball", FALSE}};
    Ctx              ctx;
    run_case(specs, 2, 2, 40000, TRUE, &ctx);
    ctx_clear(&ctx);
}

static GstPadProbeReturn block_probe(GstPad * pad, GstPadProbeInfo * info, gpointer data) {
    Ctx * ctx = data;
    (void)pad;
    (void)info;
    g_mutex_lock(&ctx->lock);
    ctx->blocked = TRUE;
    g_mutex_unlock(&ctx->lock);
    return GST_PAD_PROBE_OK;
}

static guint batches_seen(Ctx * ctx) {
    g_mutex_lock(&ctx->lock);
    guint n = ctx->batches;
    g_mutex_unlock(&ctx->lock);
    return n;
}

/* Polls (no timing assertion: only a bound on how long the test waits). */
static gboolean wait_for_batches(Ctx * ctx, guint n) {
    for (int i = 0; i < 20000 && batches_seen(ctx) < n; i++) g_usleep(1000);
    return batches_seen(ctx) >= n;
}

static void test_release_pad(void) {
    const SourceSpec specs[] = {{"RGB", 64, 48, -1, "snow", FALSE}, {"I420", 64, 48, 60, "ball", FALSE}};
    Ctx              ctx;
    GstElement *     pipe = build(&ctx, specs, 2, 2, 40000);
    EI_CHECK(pipe != NULL);
    if (!pipe) return;
    EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    EI_CHECK(wait_for_batches(&ctx, 5));

    /* Remove source 0 the usual way: block its output, release the muxer's pad, stop it. */
    GstElement * s0 = gst_bin_get_by_name(GST_BIN(pipe), "s0");
    GstElement * f0 = gst_bin_get_by_name(GST_BIN(pipe), "f0");
    GstElement * m = gst_bin_get_by_name(GST_BIN(pipe), "m");
    GstPad *     fsrc = gst_element_get_static_pad(f0, "src");
    gulong   id = gst_pad_add_probe(fsrc, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM | GST_PAD_PROBE_TYPE_BUFFER, block_probe,
                                    &ctx, NULL);
    gboolean blocked = FALSE;
    for (int i = 0; i < 20000 && !blocked; i++) {
        g_mutex_lock(&ctx.lock);
        blocked = ctx.blocked;
        g_mutex_unlock(&ctx.lock);
        if (!blocked) g_usleep(1000);
    }
    EI_CHECK(blocked);
    GstPad * msink = gst_pad_get_peer(fsrc);
    g_mutex_lock(&ctx.lock);
    ctx.src[0].released = 1;
    g_mutex_unlock(&ctx.lock);
    gst_element_release_request_pad(m, msink);
    gst_object_unref(msink);
    gst_element_set_state(f0, GST_STATE_NULL);
    gst_element_set_state(s0, GST_STATE_NULL);
    gst_pad_remove_probe(fsrc, id);
    gst_bin_remove_many(GST_BIN(pipe), s0, f0, NULL);
    gst_object_unref(fsrc);
    gst_object_unref(s0);
    gst_object_unref(f0);
    gst_object_unref(m);

    EI_CHECK(wait_eos(pipe));
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    check_run(&ctx);
    /* The released source ended in the batch stream and at its appsink. */
    EI_CHECK(ctx.src[0].ended_in_stream);
    EI_CHECK(ctx.src[0].got_eos);
    EI_CHECK(ctx.src[0].received > 0 && ctx.src[0].received == ctx.src[0].in_batches);
    ctx_clear(&ctx);
}

static void test_teardown_playing(void) {
    const SourceSpec specs[] = {{"RGB", 64, 48, -1, "snow", FALSE}, {"NV12", 80, 60, -1, "ball", FALSE}};
    for (int round = 0; round < 3; round++) {
        Ctx          ctx;
        GstElement * pipe = build(&ctx, specs, 2, 2, round == 1 ? -1 : 40000);
        EI_CHECK(pipe != NULL);
        if (!pipe) return;
        EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
        EI_CHECK(wait_for_batches(&ctx, 3 + 5 * (guint)round));
        if (round == 2) {
            /* PAUSED -> READY -> PLAYING again first. */
            EI_CHECK(gst_element_set_state(pipe, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
            /* Frames still queued were dropped: start the records again. */
            g_mutex_lock(&ctx.lock);
            for (guint i = 0; i < ctx.n; i++) {
                g_array_set_size(ctx.src[i].sums, 0);
                g_array_set_size(ctx.src[i].pts, 0);
                ctx.src[i].received = 0;
                ctx.src[i].next_frame_number = 0;
            }
            g_mutex_unlock(&ctx.lock);
            EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
            guint before = batches_seen(&ctx);
            EI_CHECK(wait_for_batches(&ctx, before + 3));
        }
        EI_CHECK(gst_element_set_state(pipe, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
        gst_object_unref(pipe);
        EI_CHECK(ctx.mismatches == 0);
        EI_CHECK(ctx.order_failures == 0);
        ctx_clear(&ctx);
    }
}

/* Plain video/x-raw into edgedemux leaves on src_0 as it is. */
static void test_demux_plain_video(void) {
    GError *     err = NULL;
    GstElement * pipe = gst_parse_launch("videotestsrc num-buffers=7 ! video/x-raw,format=NV12,width=32,height=24 ! "
                                         "edgedemux name=d d.src_0 ! appsink name=k sync=false",
                                         &err);
    EI_CHECK(pipe != NULL);
    if (!pipe) {
        g_clear_error(&err);
        return;
    }
    GstElement * k = gst_bin_get_by_name(GST_BIN(pipe), "k");
    EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    int n = 0;
    for (;;) {
        GstSample * s = gst_app_sink_pull_sample(GST_APP_SINK(k));
        if (!s) break;
        GstVideoInfo vi;
        EI_CHECK(gst_video_info_from_caps(&vi, gst_sample_get_caps(s)) && GST_VIDEO_INFO_WIDTH(&vi) == 32 &&
                 GST_VIDEO_INFO_FORMAT(&vi) == GST_VIDEO_FORMAT_NV12);
        gst_sample_unref(s);
        n++;
    }
    EI_CHECK(n == 7);
    EI_CHECK(gst_app_sink_is_eos(GST_APP_SINK(k)));
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(k);
    gst_object_unref(pipe);
}

/* Frames without PTS (a live RTP source can let one through as it starts) leave edgemux stamped:
 * the segment start for a first frame, else the end of the frame before (its PTS + duration, or
 * + 1/framerate), so that mp4mux downstream does not stop the pipeline. */
static void test_frames_without_pts(void) {
    GError *     err = NULL;
    GstElement * pipe =
        gst_parse_launch("appsrc name=a format=time caps=video/x-raw,format=I420,width=32,height=24,framerate=25/1 ! "
                         "edgemux name=m batch-size=1 ! edgedemux name=d d.src_0 ! appsink name=k sync=false",
                         &err);
    EI_CHECK(pipe != NULL);
    if (!pipe) {
        g_clear_error(&err);
        return;
    }
    GstElement * a = gst_bin_get_by_name(GST_BIN(pipe), "a");
    GstElement * k = gst_bin_get_by_name(GST_BIN(pipe), "k");
    EI_CHECK(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    /* in: none, 1 s (+10 ms duration), none, none (no duration: 1/25 s) */
    const GstClockTime in[] = {GST_CLOCK_TIME_NONE, GST_SECOND, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE};
    const GstClockTime want[] = {0, GST_SECOND, GST_SECOND + 10 * GST_MSECOND, GST_SECOND + 50 * GST_MSECOND};
    for (int i = 0; i < 4; i++) {
        GstBuffer * b = gst_buffer_new_allocate(NULL, 32 * 24 * 3 / 2, NULL);
        gst_buffer_memset(b, 0, 0x80, 32 * 24 * 3 / 2);
        GST_BUFFER_PTS(b) = in[i];
        if (i == 1) GST_BUFFER_DURATION(b) = 10 * GST_MSECOND;
        EI_CHECK(gst_app_src_push_buffer(GST_APP_SRC(a), b) == GST_FLOW_OK);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(a));
    int n = 0;
    for (;;) {
        GstSample * s = gst_app_sink_pull_sample(GST_APP_SINK(k));
        if (!s) break;
        GstClockTime pts = GST_BUFFER_PTS(gst_sample_get_buffer(s));
        if (n < 4 && pts != want[n])
            fprintf(stderr, "frame %d: PTS %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT "\n", n,
                    GST_TIME_ARGS(pts), GST_TIME_ARGS(want[n]));
        EI_CHECK(n < 4 && pts == want[n]);
        gst_sample_unref(s);
        n++;
    }
    EI_CHECK(n == 4);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(a);
    gst_object_unref(k);
    gst_object_unref(pipe);
}

int main(int argc, char ** argv) {
    gst_init(&argc, &argv);
    if (!gst_ei_register_static()) {
        fprintf(stderr, "registering the edgeinfer elements failed\n");
        return 1;
    }
    const char * which = argc > 1 ? argv[1] : "all";
    gboolean     all = strcmp(which, "all") == 0;
    if (all || !strcmp(which, "two")) EI_RUN(test_two_sources);
    if (all || !strcmp(which, "four")) EI_RUN(test_four_sources);
    if (all || !strcmp(which, "timeout")) EI_RUN(test_push_timeout);
    if (all || !strcmp(which, "meta")) EI_RUN(test_frame_meta);
    if (all || !strcmp(which, "release")) EI_RUN(test_release_pad);
    if (all || !strcmp(which, "teardown")) EI_RUN(test_teardown_playing);
    if (all || !strcmp(which, "plain")) EI_RUN(test_demux_plain_video);
    if (all || !strcmp(which, "nopts")) EI_RUN(test_frames_without_pts);
    gst_deinit();
    EI_TEST_EXIT();
}
