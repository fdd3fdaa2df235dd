/* Measurement for `edgeinfer run` (app_perf.h): pad probes count frames per source and time each
 * stage. Decode and encode are timed on every element whose class is "Decoder/Video" or
 * "Encoder/Video": from its latest input to each output (time blocked downstream excluded);
 * pre-process, inference, post-process and OSD come from the GstEiFrameMeta times
 * edgeinfer and edgeosd record. */
#include "app_perf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gsteibatch.h"
#include "gsteimeta.h"

enum { ST_DECODE, ST_PRE, ST_INFER, ST_POST, ST_OSD, ST_ENCODE, ST_N };
static const char * const stage_names[ST_N] = {"decode", "preprocess", "inference", "postprocess", "osd", "encode"};

/* Samples of one stage: all of them up to SAMPLES_MAX, then a uniform reservoir of that size. */
#define SAMPLES_MAX (1u << 20)
typedef struct samples {
    double * v;
    size_t   n, cap;
    guint64  seen;
    double   sum;
} samples;

typedef enum count_point { COUNT_SRC, COUNT_MUX, COUNT_DEMUX, COUNT_INFER } count_point;

/* One decoder or encoder: when its latest input arrived and its latest output left. */
typedef struct timed_elem {
    ei_app_perf * perf;
    int           stage;
    gint64        last_in, last_out;
} timed_elem;

/* A src pad of a source element or a src_<N>/sink_<N> pad: which source its frames belong to. */
typedef struct pad_info {
    ei_app_perf * perf;
    int           id;
    bool          count; /* frames counted here (else only the source's last-data time) */
    int           video; /* -1 unknown, 0 no, 1 yes (from the pad's caps) */
} pad_info;

struct ei_app_perf {
    GstElement * pipeline;
    GMutex       lock;
    count_point  point;
    int          n_sources;
    guint64      frames[EI_APP_PERF_MAX_SOURCES];
    guint64      frames_at_interval[EI_APP_PERF_MAX_SOURCES];
    gint64       first_us[EI_APP_PERF_MAX_SOURCES], last_us[EI_APP_PERF_MAX_SOURCES];
    gint64       last_data_us[EI_APP_PERF_MAX_SOURCES];
    gint64       t_created, t_interval, t_first, t_last, t_end;
    samples      st[ST_N];
    GPtrArray *  owned;  /* timed_elem and pad_info, freed with perf */
    GHashTable * probed; /* elements already probed (by pointer; never dereferenced) */
};

static void samples_add(samples * s, double v) {
    s->seen++;
    s->sum += v;
    if (s->n < SAMPLES_MAX) {
        if (s->n == s->cap) {
            size_t   cap = s->cap ? s->cap * 2 : 1024;
            double * nv = realloc(s->v, cap * sizeof *nv);
            if (!nv) return;
            s->v = nv;
            s->cap = cap;
        }
        s->v[s->n++] = v;
    } else {
        guint64 j = (guint64)g_random_double_range(0, (double)s->seen);
        if (j < SAMPLES_MAX) s->v[j] = v;
    }
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of the sorted v[n], linear between ranks. */
static double quantile(const double * v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* Source N of an element named src<N>, else -1. */
static int source_id_of_name(const char * name) {
    if (!name || strncmp(name, "src", 3) || !name[3]) return -1;
    char * end;
    long   n = strtol(name + 3, &end, 10);
    if (*end || n < 0 || n >= EI_APP_PERF_MAX_SOURCES || !g_ascii_isdigit(name[3])) return -1;
    return (int)n;
}

/* Index N of a pad named <prefix>N (sink_3 -> 3), else -1. */
static int pad_index(GstPad * pad, const char * prefix) {
    gchar * name = gst_pad_get_name(pad);
    int     id = -1;
    size_t  l = strlen(prefix);
    if (!strncmp(name, prefix, l) && g_ascii_isdigit(name[l])) {
        char * end;
        long   n = strtol(name + l, &end, 10);
        if (!*end && n < EI_APP_PERF_MAX_SOURCES) id = (int)n;
    }
    g_free(name);
    return id;
}

/* Counts one frame of source id at time now (lock held). */
static void count_frame(ei_app_perf * p, int id, gint64 now) {
    if (id < 0 || id >= EI_APP_PERF_MAX_SOURCES) return;
    if (!p->frames[id]) p->first_us[id] = now;
    p->frames[id]++;
    p->last_us[id] = now;
    if (!p->t_first) p->t_first = now;
    p->t_last = now;
    if (id >= p->n_sources) p->n_sources = id + 1;
}

static guint buffers_in(GstPadProbeInfo * info, GstBuffer ** one, GstBufferList ** list) {
    *one = NULL;
    *list = NULL;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        *one = GST_PAD_PROBE_INFO_BUFFER(info);
        return 1;
    }
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        return gst_buffer_list_length(*list);
    }
    return 0;
}

static GstPadProbeReturn source_pad_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    pad_info *      pi = user;
    ei_app_perf *   p = pi->perf;
    GstBuffer *     one;
    GstBufferList * list;
    guint           n = buffers_in(info, &one, &list);
    if (!n) return GST_PAD_PROBE_OK;
    gint64 now = g_get_monotonic_time();
    if (pi->count && pi->video < 0) {
        GstCaps * caps = gst_pad_get_current_caps(pad);
        if (caps) {
            const GstStructure * s = gst_caps_get_size(caps) ? gst_caps_get_structure(caps, 0) : NULL;
            pi->video = s && (g_str_has_prefix(gst_structure_get_name(s), "video/") ||
                              g_str_has_prefix(gst_structure_get_name(s), "image/"));
            gst_caps_unref(caps);
        }
    }
    g_mutex_lock(&p->lock);
    if (pi->id >= 0 && pi->id < EI_APP_PERF_MAX_SOURCES) p->last_data_us[pi->id] = now;
    if (pi->count && pi->video == 1)
        for (guint i = 0; i < n; i++) count_frame(p, pi->id, now);
    g_mutex_unlock(&p->lock);
    return GST_PAD_PROBE_OK;
}

static pad_info * new_pad_info(ei_app_perf * p, int id, bool count, int video) {
    pad_info * pi = g_new0(pad_info, 1);
    pi->perf = p;
    pi->id = id;
    pi->count = count;
    pi->video = video;
    g_mutex_lock(&p->lock);
    g_ptr_array_add(p->owned, pi);
    g_mutex_unlock(&p->lock);
    return pi;
}

static void probe_source_pad(ei_app_perf * p, GstPad * pad, int id, bool count, int video) {
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    pad_info * pi = new_pad_info(p, id, count, video);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, source_pad_probe, pi, NULL);
}

static void on_source_pad_added(GstElement * e, GstPad * pad, gpointer user) {
    ei_app_perf * p = user;
    gchar *       name = gst_element_get_name(e);
    int           id = source_id_of_name(name);
    g_free(name);
    probe_source_pad(p, pad, id, p->point == COUNT_SRC, -1);
}

static void on_counted_pad_added(GstElement * e, GstPad * pad, gpointer user) {
    ei_app_perf * p = user;
    (void)e;
    if (p->point == COUNT_MUX && GST_PAD_DIRECTION(pad) == GST_PAD_SINK) {
        int id = pad_index(pad, "sink_");
        if (id < 0) return;
        /* A sink pad's buffers arrive through its chain function: probe the pad itself. */
        pad_info * pi = new_pad_info(p, id, true, 1);
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, source_pad_probe, pi, NULL);
    }
}

/* Every GstEiFrameMeta of buffer (a plain frame or each frame of a batch). */
typedef void (*meta_fn)(ei_app_perf * p, GstBuffer * frame, const GstEiFrameMeta * m, guint source_id, gint64 now);

static void for_each_frame(ei_app_perf * p, GstBuffer * buf, meta_fn fn, gint64 now) {
    GstEiBatchMeta * bm = gst_buffer_get_ei_batch_meta(buf);
    if (bm) {
        for (guint i = 0; i < bm->n_frames; i++) {
            GstBuffer * f = bm->frames[i].buffer;
            fn(p, f, gst_buffer_get_ei_frame_meta(f), bm->frames[i].source_id, now);
        }
    } else {
        const GstEiFrameMeta * m = gst_buffer_get_ei_frame_meta(buf);
        fn(p, buf, m, m ? m->source_id : 0, now);
    }
}

static void infer_frame(ei_app_perf * p, GstBuffer * frame, const GstEiFrameMeta * m, guint source_id, gint64 now) {
    (void)frame;
    count_frame(p, (int)source_id, now);
    if (m && m->inferred) {
        samples_add(&p->st[ST_PRE], m->times.preprocess_ms);
        samples_add(&p->st[ST_INFER], m->times.infer_ms);
        samples_add(&p->st[ST_POST], m->times.postprocess_ms);
    }
}

static void count_only(ei_app_perf * p, GstBuffer * frame, const GstEiFrameMeta * m, guint source_id, gint64 now) {
    (void)frame;
    (void)m;
    count_frame(p, (int)source_id, now);
}

static void osd_frame(ei_app_perf * p, GstBuffer * frame, const GstEiFrameMeta * m, guint source_id, gint64 now) {
    (void)frame;
    (void)source_id;
    (void)now;
    if (m) samples_add(&p->st[ST_OSD], m->times.osd_ms);
}

static GstPadProbeReturn meta_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    ei_app_perf *   p = ((pad_info *)user)->perf;
    int             what = ((pad_info *)user)->id;
    meta_fn         fn = what == ST_OSD ? osd_frame : what == ST_N ? count_only : infer_frame;
    GstBuffer *     one;
    GstBufferList * list;
    guint           n = buffers_in(info, &one, &list);
    gint64          now = g_get_monotonic_time();
    g_mutex_lock(&p->lock);
    for (guint i = 0; i < n; i++) for_each_frame(p, one ? one : gst_buffer_list_get(list, i), fn, now);
    g_mutex_unlock(&p->lock);
    return GST_PAD_PROBE_OK;
}

/* stage ST_N: only count the frames (demux's sink pad: the muxer's batches carry every source's
 * frames, also those of sources no sink shows, whose demux src pads are never requested). */
static void probe_meta(ei_app_perf * p, GstElement * e, int stage) {
    GstPad * pad = gst_element_get_static_pad(e, stage == ST_N ? "sink" : "src");
    if (!pad) return;
    pad_info * pi = new_pad_info(p, stage, false, 1);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, meta_probe, pi, NULL);
    gst_object_unref(pad);
}

static GstPadProbeReturn timed_in(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    timed_elem *    te = user;
    GstBuffer *     one;
    GstBufferList * list;
    if (!buffers_in(info, &one, &list)) return GST_PAD_PROBE_OK;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&te->perf->lock);
    te->last_in = now;
    g_mutex_unlock(&te->perf->lock);
    return GST_PAD_PROBE_OK;
}

/* The time the element worked for this output: since its latest input (or its previous output,
 * when one input gives several), so time its thread spent blocked downstream does not count. */
static GstPadProbeReturn timed_out(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    timed_elem *    te = user;
    GstBuffer *     one;
    GstBufferList * list;
    guint           n = buffers_in(info, &one, &list);
    gint64          now = g_get_monotonic_time();
    g_mutex_lock(&te->perf->lock);
    gint64 from = te->last_in > te->last_out ? te->last_in : te->last_out;
    if (n && te->last_in) {
        samples_add(&te->perf->st[te->stage], (double)(now - from) / 1e3);
        for (guint i = 1; i < n; i++) samples_add(&te->perf->st[te->stage], 0);
    }
    te->last_out = now;
    g_mutex_unlock(&te->perf->lock);
    return GST_PAD_PROBE_OK;
}

static void probe_timed(ei_app_perf * p, GstElement * e, int stage) {
    GstPad * in = gst_element_get_static_pad(e, "sink");
    GstPad * out = gst_element_get_static_pad(e, "src");
    if (in && out) {
        timed_elem * te = g_new0(timed_elem, 1);
        te->perf = p;
        te->stage = stage;
        g_mutex_lock(&p->lock);
        g_ptr_array_add(p->owned, te);
        g_mutex_unlock(&p->lock);
        gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, timed_in, te, NULL);
        gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, timed_out, te, NULL);
    }
    if (in) gst_object_unref(in);
    if (out) gst_object_unref(out);
}

/* Decoders and encoders anywhere in the pipeline, including inside bins that add them later. */
static void consider_element(ei_app_perf * p, GstElement * e) {
    g_mutex_lock(&p->lock);
    bool seen = !g_hash_table_add(p->probed, e);
    g_mutex_unlock(&p->lock);
    if (seen || GST_IS_BIN(e)) return;
    const gchar * klass = gst_element_get_metadata(e, GST_ELEMENT_METADATA_KLASS);
    if (!klass) return;
    if (strstr(klass, "Decoder/Video"))
        probe_timed(p, e, ST_DECODE);
    else if (strstr(klass, "Encoder/Video"))
        probe_timed(p, e, ST_ENCODE);
}

static void on_deep_element_added(GstBin * bin, GstBin * sub, GstElement * e, gpointer user) {
    (void)bin;
    (void)sub;
    consider_element(user, e);
}

static void probe_existing(const GValue * v, gpointer user) { consider_element(user, g_value_get_object(v)); }

static void probe_pads_of(GstElement * e, bool src, void (*fn)(GstElement *, GstPad *, gpointer), gpointer user) {
    GstIterator * it = src ? gst_element_iterate_src_pads(e) : gst_element_iterate_sink_pads(e);
    GValue        v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        fn(e, g_value_get_object(&v), user);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

ei_app_perf * ei_app_perf_new(GstElement * pipeline) {
    ei_app_perf * p = g_new0(ei_app_perf, 1);
    g_mutex_init(&p->lock);
    p->pipeline = gst_object_ref(pipeline);
    p->owned = g_ptr_array_new_with_free_func(g_free);
    p->probed = g_hash_table_new(g_direct_hash, g_direct_equal);
    p->t_created = p->t_interval = g_get_monotonic_time();

    GstElement *        infer = gst_bin_get_by_name(GST_BIN(pipeline), "infer");
    GstElement *        demux = gst_bin_get_by_name(GST_BIN(pipeline), "demux");
    GstElement *        mux = gst_bin_get_by_name(GST_BIN(pipeline), "mux");
    GstElement *        osd = gst_bin_get_by_name(GST_BIN(pipeline), "osd");
    GstElementFactory * df = demux ? gst_element_get_factory(demux) : NULL;
    bool                edge_demux = df && !strcmp(GST_OBJECT_NAME(df), "edgedemux");
    p->point = infer ? COUNT_INFER : edge_demux ? COUNT_DEMUX : mux ? COUNT_MUX : COUNT_SRC;
    if (infer) probe_meta(p, infer, ST_INFER);
    if (osd) probe_meta(p, osd, ST_OSD);
    if (p->point == COUNT_DEMUX) probe_meta(p, demux, ST_N);
    if (p->point == COUNT_MUX) {
        probe_pads_of(mux, false, on_counted_pad_added, p);
        g_signal_connect(mux, "pad-added", G_CALLBACK(on_counted_pad_added), p);
    }

    /* The sources: src<N> children of the pipeline. */
    GstIterator * it = gst_bin_iterate_elements(GST_BIN(pipeline));
    GValue        v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement * e = g_value_get_object(&v);
        gchar *      name = gst_element_get_name(e);
        int          id = source_id_of_name(name);
        g_free(name);
        if (id >= 0) {
            if (id >= p->n_sources) p->n_sources = id + 1;
            probe_pads_of(e, true, on_source_pad_added, p);
            g_signal_connect(e, "pad-added", G_CALLBACK(on_source_pad_added), p);
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);

    g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added), p);
    it = gst_bin_iterate_recurse(GST_BIN(pipeline));
    while (gst_iterator_foreach(it, probe_existing, p) == GST_ITERATOR_RESYNC) gst_iterator_resync(it);
    gst_iterator_free(it);

    GstElement * found[] = {infer, demux, mux, osd};
    for (size_t i = 0; i < G_N_ELEMENTS(found); i++)
        if (found[i]) gst_object_unref(found[i]);
    return p;
}

void ei_app_perf_free(ei_app_perf * p) {
    if (!p) return;
    g_signal_handlers_disconnect_by_data(p->pipeline, p);
    gst_object_unref(p->pipeline);
    for (int i = 0; i < ST_N; i++) free(p->st[i].v);
    g_ptr_array_unref(p->owned);
    g_hash_table_unref(p->probed);
    g_mutex_clear(&p->lock);
    g_free(p);
}

gint64 ei_app_perf_last_data_us(ei_app_perf * p, int id) {
    if (id < 0 || id >= EI_APP_PERF_MAX_SOURCES) return 0;
    g_mutex_lock(&p->lock);
    gint64 t = p->last_data_us[id];
    g_mutex_unlock(&p->lock);
    return t;
}

void ei_app_perf_touch_source(ei_app_perf * p, int id) {
    if (id < 0 || id >= EI_APP_PERF_MAX_SOURCES) return;
    g_mutex_lock(&p->lock);
    p->last_data_us[id] = g_get_monotonic_time();
    g_mutex_unlock(&p->lock);
}

guint64 ei_app_perf_source_frames(ei_app_perf * p, int id) {
    if (id < 0 || id >= EI_APP_PERF_MAX_SOURCES) return 0;
    g_mutex_lock(&p->lock);
    guint64 n = p->frames[id];
    g_mutex_unlock(&p->lock);
    return n;
}

guint64 ei_app_perf_frames(ei_app_perf * p) {
    g_mutex_lock(&p->lock);
    guint64 n = 0;
    for (int i = 0; i < p->n_sources; i++) n += p->frames[i];
    g_mutex_unlock(&p->lock);
    return n;
}

void ei_app_perf_print_interval(ei_app_perf * p, FILE * f) {
    g_mutex_lock(&p->lock);
    gint64 now = g_get_monotonic_time();
    double dt = (double)(now - p->t_interval) / 1e6;
    fprintf(f, "\n**PERF:  ");
    for (int i = 0; i < p->n_sources; i++) fprintf(f, "FPS %d (Avg)\t", i);
    fprintf(f, "\n**PERF:  ");
    for (int i = 0; i < p->n_sources; i++) {
        double cur = dt > 0 ? (double)(p->frames[i] - p->frames_at_interval[i]) / dt : 0;
        double span = p->frames[i] ? (double)(now - p->first_us[i]) / 1e6 : 0;
        double avg = span > 0 ? (double)p->frames[i] / span : 0;
        fprintf(f, "%.2f (%.2f)\t", cur, avg);
        p->frames_at_interval[i] = p->frames[i];
    }
    fprintf(f, "\n");
    fflush(f);
    p->t_interval = now;
    g_mutex_unlock(&p->lock);
}

void ei_app_perf_finish(ei_app_perf * p) {
    g_mutex_lock(&p->lock);
    p->t_end = g_get_monotonic_time();
    g_mutex_unlock(&p->lock);
}

/* Frames per second of n frames seen between first and last (µs): n - 1 intervals. */
static double rate(guint64 n, gint64 first, gint64 last) {
    return n > 1 && last > first ? (double)(n - 1) / ((double)(last - first) / 1e6) : 0;
}

typedef struct stage_stats {
    guint64 count;
    double  median, p90, p99, mean, total, share;
} stage_stats;

/* Stats of every stage (lock held); the share is of the sum of all stages' total times. */
static void stage_summary(ei_app_perf * p, stage_stats * out) {
    double all = 0;
    for (int s = 0; s < ST_N; s++) {
        samples *     sm = &p->st[s];
        stage_stats * o = &out[s];
        memset(o, 0, sizeof *o);
        o->count = sm->seen;
        if (!sm->n) continue;
        qsort(sm->v, sm->n, sizeof *sm->v, cmp_double);
        o->median = quantile(sm->v, sm->n, 0.5);
        o->p90 = quantile(sm->v, sm->n, 0.9);
        o->p99 = quantile(sm->v, sm->n, 0.99);
        o->mean = sm->sum / (double)sm->seen;
        o->total = sm->sum;
        all += sm->sum;
    }
    for (int s = 0; s < ST_N; s++) out[s].share = all > 0 ? out[s].total / all : 0;
}

static guint64 total_frames(ei_app_perf * p) {
    guint64 n = 0;
    for (int i = 0; i < p->n_sources; i++) n += p->frames[i];
    return n;
}

void ei_app_perf_print_report(ei_app_perf * p, FILE * f) {
    g_mutex_lock(&p->lock);
    stage_stats st[ST_N];
    stage_summary(p, st);
    guint64 n = total_frames(p);
    double  wall = p->t_last > p->t_first ? (double)(p->t_last - p->t_first) / 1e6 : 0;
    double  run = (double)((p->t_end ? p->t_end : g_get_monotonic_time()) - p->t_created) / 1e6;
    fprintf(f,
            "\n**PERF SUMMARY: %" G_GUINT64_FORMAT
            " frames from %d source%s in %.2f s (first to last frame; run %.2f s), "
            "%.2f FPS aggregate\n",
            n, p->n_sources, p->n_sources == 1 ? "" : "s", wall, run, rate(n, p->t_first, p->t_last));
    for (int i = 0; i < p->n_sources; i++)
        fprintf(f, "  source %d: %" G_GUINT64_FORMAT " frames, %.2f FPS\n", i, p->frames[i],
                rate(p->frames[i], p->first_us[i], p->last_us[i]));
    fprintf(f, "  %-12s %8s %10s %10s %10s %10s %7s\n", "stage", "frames", "median ms", "p90 ms", "p99 ms", "mean ms",
            "share");
    for (int s = 0; s < ST_N; s++) {
        if (!st[s].count) {
            fprintf(f, "  %-12s %8d %10s %10s %10s %10s %7s\n", stage_names[s], 0, "-", "-", "-", "-", "-");
            continue;
        }
        fprintf(f, "  %-12s %8" G_GUINT64_FORMAT " %10.3f %10.3f %10.3f %10.3f %6.1f%%\n", stage_names[s], st[s].count,
                st[s].median, st[s].p90, st[s].p99, st[s].mean, 100 * st[s].share);
    }
    fflush(f);
    g_mutex_unlock(&p->lock);
}

static void json_num(FILE * f, double v) {
    if (isfinite(v))
        fprintf(f, "%.4f", v);
    else
        fprintf(f, "null");
}

bool ei_app_perf_write_json(ei_app_perf * p, const char * path) {
    FILE * f = fopen(path, "w");
    if (!f) return false;
    g_mutex_lock(&p->lock);
    stage_stats st[ST_N];
    stage_summary(p, st);
    guint64 n = total_frames(p);
    double  wall = p->t_last > p->t_first ? (double)(p->t_last - p->t_first) / 1e6 : 0;
    double  run = (double)((p->t_end ? p->t_end : g_get_monotonic_time()) - p->t_created) / 1e6;
    fprintf(f, "{\"frames\":%" G_GUINT64_FORMAT ",\"wall_s\":", n);
    json_num(f, wall);
    fprintf(f, ",\"run_s\":");
    json_num(f, run);
    fprintf(f, ",\"fps\":");
    json_num(f, rate(n, p->t_first, p->t_last));
    fprintf(f, ",\"sources\":[");
    for (int i = 0; i < p->n_sources; i++) {
        fprintf(f, "%s{\"id\":%d,\"frames\":%" G_GUINT64_FORMAT ",\"fps\":", i ? "," : "", i, p->frames[i]);
        json_num(f, rate(p->frames[i], p->first_us[i], p->last_us[i]));
        fprintf(f, "}");
    }
    fprintf(f, "],\"stages\":{");
    for (int s = 0; s < ST_N; s++) {
        fprintf(f, "%s\"%s\":{\"frames\":%" G_GUINT64_FORMAT, s ? "," : "", stage_names[s], st[s].count);
        const char * keys[] = {"median_ms", "p90_ms", "p99_ms", "mean_ms", "share"};
        double       vals[] = {st[s].median, st[s].p90, st[s].p99, st[s].mean, st[s].share};
        for (int k = 0; k < 5; k++) {
            fprintf(f, ",\"%s\":", keys[k]);
            json_num(f, st[s].count ? vals[k] : NAN);
        }
        fprintf(f, "}");
    }
    fprintf(f, "}}\n");
    g_mutex_unlock(&p->lock);
    int err = ferror(f);
    if (fclose(f) != 0 || err) {
        if (!errno) errno = EIO;
        return false;
    }
    return true;
}
