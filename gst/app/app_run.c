/* The runner of `edgeinfer run APP.ini` (app_run.h, docs/app-run.md). */
#include "app_run.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "app_config.h"
#include "app_errwatch.h"
#include "app_perf.h"
#include "app_pipeline.h"
#include "edgeinfer/image.h"
#include "gsteielements.h"

#define MAX_SOURCES   EI_APP_PERF_MAX_SOURCES
#define BACKOFF_MAX_S 60

typedef struct app_opts {
    const char * config;
    const char * pipeline; /* --pipeline DESC: run this description instead of building one */
    const char * dot_dir;
    const char * jsonl;
    const char * perf_json;
    bool         print_pipeline, dry_run, quiet;
    int          perf_interval; /* -1: the config's */
    int          eos_timeout;
    int          start_timeout; /* seconds for a file/test/camera source's first frame (0: no limit) */
    int          reconnect_interval, reconnect_attempts; /* for --pipeline sources */
    gint64       max_frames;                             /* --max-frames N (0: none) */
    int          duration_s;                             /* --duration SEC (0: none) */
} app_opts;

typedef enum source_kind { KIND_PLAIN, KIND_RTSP, KIND_UDP } source_kind;

typedef struct app_run app_run;

typedef struct app_source {
    app_run *    run;
    int          id;
    GstElement * elem; /* src<N>, owned reference */
    source_kind  kind;
    int          interval_s; /* stall timeout (0: off) */
    int          attempts;   /* -1: forever */
    int          attempt;    /* reconnects since data last flowed */
    guint        retry_timer;
    gint64       restarted_us;
    bool         ended, failed;
    const char * image_dir; /* an appsrc this runner feeds from a folder of images */
    GThread *    feeder;
    GPtrArray *  peers; /* the pads downstream of src<N>'s src pads (to re-link dynamic pads) */
    /* file-loop: at EOS the source seeks back to its start; the pass's frames carry an offset so
     * that timestamps keep increasing (the streaming thread's; under loop_lock). */
    bool         loop;
    GMutex       loop_lock;
    GstPad *     loop_pad;             /* the video src pad the loop probe is on (owned) */
    guint        loops;                /* passes ended (EOS turned into a seek) */
    GstClockTime loop_offset;          /* added to the PTS/DTS of this pass's buffers */
    GstClockTime pass_start, pass_end; /* earliest PTS and latest PTS + duration of this pass */
    gint         stream_ended;         /* atomic: an RTSP source sent EOS (the server ended or went away) */
} app_source;

struct app_run {
    app_opts *    o;
    GstElement *  pipeline;
    GMainLoop *   loop;
    ei_app_perf * perf;
    app_source    src[MAX_SOURCES];
    int           n_src;
    int           exit_code;
    bool          stopping, playing, interrupted;
    guint         eos_timer;
    int           n_failed;
    gint          no_loop;     /* atomic: set when the run ends, so that looping sources pass EOS on */
    guint         limit_timer; /* --max-frames / --duration */
    gint64        t_start_us;
};

void ei_app_print_usage(void) {
    printf("usage: edgeinfer run APP.ini [--print-pipeline [--dry-run]] [--dot DIR] [--jsonl FILE] [--quiet]\n"
           "                    [--perf-interval SEC] [--perf-json FILE] [--max-frames N] [--duration SEC]\n"
           "                    [--start-timeout SEC]\n\n"
           "Runs the streaming application described by APP.ini (deepstream-app's groups and keys,\n"
           "docs/app-config.md) until every source ended, then finalises the outputs. Ctrl-C (SIGINT) or\n"
           "SIGTERM ends the run the same way; a second one stops at once. docs/app-run.md.\n\n"
           "  --print-pipeline      print the pipeline (gst-launch-1.0 syntax) before running it\n"
           "  --dry-run             with --print-pipeline: print it and exit without running\n"
           "  --dot DIR             write DIR/pipeline-playing.dot and DIR/pipeline-end.dot (Graphviz)\n"
           "  --jsonl FILE          one JSON record per frame to FILE ('-': stdout), overriding the\n"
           "                        config's jsonl-output-file\n"
           "  --quiet               no periodic **PERF lines and no progress messages (errors and the\n"
           "                        final report are still printed)\n"
           "  --perf-interval SEC   print per-source FPS every SEC seconds (0: never; default: the\n"
           "                        config's enable-perf-measurement / perf-measurement-interval-sec)\n"
           "  --perf-json FILE      write the final report (frames, FPS, per-stage latency) as JSON\n"
           "  --max-frames N        end the run (as Ctrl-C does: outputs finalised, exit 0) once N frames\n"
           "                        were counted over every source (frames in flight still reach the\n"
           "                        outputs); with file-loop=1 the run has no end of its own\n"
           "  --duration SEC        end the run the same way after SEC seconds\n"
           "  --start-timeout SEC   end a file, test or camera source that delivered no frame SEC seconds\n"
           "                        after the start and posted no error (default 30; 0: wait for ever);\n"
           "                        RTSP/UDP sources wait and reconnect instead\n\n"
           "For tests and debugging, --pipeline \"DESC\" runs a gst-launch-1.0 description instead of\n"
           "APP.ini, with sources named src<N> (--reconnect-interval SEC and --reconnect-attempts N make\n"
           "them reconnect like RTSP/UDP sources of a config; --eos-timeout SEC: how long to wait for the\n"
           "outputs to be finalised after an error or a signal, default 5).\n\n"
           "Exit codes: 0 every source ended (or interrupted) and the outputs are finalised; 1 the\n"
           "pipeline stopped on an error, or every source failed; 2 bad option; 3 bad config or pipeline;\n"
           "5 missing config or unwritable output; 130 stopped by a second "
           "interrupt.\n");
}

static int usage_error(const char * fmt, const char * arg) {
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nrun 'edgeinfer run --help' for usage\n");
    return EI_APP_EXIT_USAGE;
}

static bool parse_int(const char * s, int lo, int hi, int * out) {
    char * end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

/* 0 ok, -1 help printed, else an exit code. */
static int parse_opts(int argc, char ** argv, app_opts * o) {
    memset(o, 0, sizeof *o);
    o->perf_interval = -1;
    o->eos_timeout = 5;
    o->start_timeout = 30;
    o->reconnect_attempts = -1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ei_app_print_usage();
            return -1;
        }
        bool takes = !strcmp(a, "--dot") || !strcmp(a, "--jsonl") || !strcmp(a, "--perf-json") ||
                     !strcmp(a, "--perf-interval") || !strcmp(a, "--pipeline") || !strcmp(a, "--eos-timeout") ||
                     !strcmp(a, "--start-timeout") || !strcmp(a, "--reconnect-interval") ||
                     !strcmp(a, "--reconnect-attempts") || !strcmp(a, "--max-frames") || !strcmp(a, "--duration");
        if (takes && i + 1 >= argc) return usage_error("%s needs a value", a);
        if (!strcmp(a, "--print-pipeline")) {
            o->print_pipeline = true;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (!strcmp(a, "--dot")) {
            o->dot_dir = argv[++i];
        } else if (!strcmp(a, "--jsonl")) {
            o->jsonl = argv[++i];
        } else if (!strcmp(a, "--perf-json")) {
            o->perf_json = argv[++i];
        } else if (!strcmp(a, "--pipeline")) {
            o->pipeline = argv[++i];
        } else if (!strcmp(a, "--perf-interval")) {
            if (!parse_int(argv[++i], 0, 86400, &o->perf_interval))
                return usage_error("--perf-interval must be 0..86400 seconds, not '%s'", argv[i]);
        } else if (!strcmp(a, "--eos-timeout")) {
            if (!parse_int(argv[++i], 1, 3600, &o->eos_timeout))
                return usage_error("--eos-timeout must be 1..3600 seconds, not '%s'", argv[i]);
        } else if (!strcmp(a, "--start-timeout")) {
            if (!parse_int(argv[++i], 0, 86400, &o->start_timeout))
                return usage_error("--start-timeout must be 0 (no limit) to 86400 seconds, not '%s'", argv[i]);
        } else if (!strcmp(a, "--reconnect-interval")) {
            if (!parse_int(argv[++i], 0, 3600, &o->reconnect_interval))
                return usage_error("--reconnect-interval must be 0..3600 seconds, not '%s'", argv[i]);
        } else if (!strcmp(a, "--reconnect-attempts")) {
            if (!parse_int(argv[++i], -1, 1000000, &o->reconnect_attempts))
                return usage_error("--reconnect-attempts must be -1 (forever) or more, not '%s'", argv[i]);
        } else if (!strcmp(a, "--max-frames")) {
            int n = 0;
            if (!parse_int(argv[++i], 1, INT32_MAX, &n))
                return usage_error("--max-frames must be 1 or more frames, not '%s'", argv[i]);
            o->max_frames = n;
        } else if (!strcmp(a, "--duration")) {
            if (!parse_int(argv[++i], 1, 86400 * 365, &o->duration_s))
                return usage_error("--duration must be 1 or more seconds, not '%s'", argv[i]);
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (o->config) {
            return usage_error("unexpected argument '%s' (one APP.ini per run)", a);
        } else {
            o->config = a;
        }
    }
    if (!o->config && !o->pipeline) return usage_error("%s", "missing APP.ini");
    if (o->config && o->pipeline) return usage_error("%s", "give APP.ini or --pipeline, not both");
    if (o->dry_run && !o->print_pipeline) return usage_error("%s", "--dry-run goes with --print-pipeline");
    return 0;
}

/* ---- sources ---------------------------------------------------------------------------------- */

static int source_id_of_name(const char * name) {
    if (!name || strncmp(name, "src", 3) || !g_ascii_isdigit(name[3])) return -1;
    char * end;
    long   n = strtol(name + 3, &end, 10);
    return *end || n >= MAX_SOURCES ? -1 : (int)n;
}

/* The source an element belongs to: itself or an ancestor is one of the src<N> (also once an
 * ended source was taken out of the pipeline); NULL otherwise. */
static app_source * source_of(app_run * r, GstObject * o) {
    for (; o; o = GST_OBJECT_PARENT(o))
        for (int i = 0; i < r->n_src; i++)
            if (GST_OBJECT(r->src[i].elem) == o) return &r->src[i];
    return NULL;
}

static bool in_pipeline(app_run * r, GstObject * o) {
    while (o && o != GST_OBJECT(r->pipeline)) o = GST_OBJECT_PARENT(o);
    return o != NULL;
}

static void info(app_run * r, const char * fmt, ...) G_GNUC_PRINTF(2, 3);
static void info(app_run * r, const char * fmt, ...) {
    if (r->o->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static gboolean eos_deadline(gpointer user);

static void send_eos_to_pads(GstElement * e, gpointer user) {
    GPtrArray * pads = user;
    (void)e;
    for (guint i = 0; i < pads->len; i++) gst_pad_send_event(g_ptr_array_index(pads, i), gst_event_new_eos());
}

/* EOS into pads (taken), from a GStreamer pool thread: a sink that has not prerolled yet holds
 * the sending thread until it plays, which must not be the main loop's. */
static void send_eos_async(app_run * r, GPtrArray * pads) {
    if (!pads->len) {
        g_ptr_array_unref(pads);
        return;
    }
    gst_element_call_async(r->pipeline, send_eos_to_pads, pads, (GDestroyNotify)g_ptr_array_unref);
}

/* Remembers the pads downstream of s's src pads (once: the links parse_launch made). */
static void save_peers(app_source * s) {
    GstIterator * it = gst_element_iterate_src_pads(s->elem);
    GValue        v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstPad * peer = gst_pad_get_peer(g_value_get_object(&v));
        if (peer) {
            bool known = false;
            for (guint i = 0; i < s->peers->len; i++) known = known || g_ptr_array_index(s->peers, i) == peer;
            if (known)
                gst_object_unref(peer);
            else
                g_ptr_array_add(s->peers, peer);
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

/* A restarted source's new dynamic pad goes where the old one went. */
static void on_source_pad_added(GstElement * e, GstPad * pad, gpointer user) {
    app_source * s = user;
    (void)e;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC || gst_pad_is_linked(pad)) return;
    for (guint i = 0; i < s->peers->len; i++) {
        GstPad * peer = g_ptr_array_index(s->peers, i);
        if (!gst_pad_is_linked(peer) && GST_PAD_LINK_SUCCESSFUL(gst_pad_link(pad, peer))) return;
    }
}

/* ---- file-loop ------------------------------------------------------------------------------- */

/* A looping source's video pad, deepstream-app's way: EOS is dropped and turned into a flushing
 * seek to the start (loop_seek); the seek's flushes and new segment are dropped too, so that the
 * elements downstream (queue, edgemux) keep their data and their segment, and the next pass's
 * buffers carry the offset of the passes before (timestamps keep increasing; frame numbers too,
 * edgemux counts them). When the run ends (no_loop), EOS goes on. */
static void loop_seek(GstElement * e, gpointer user);

static GstPadProbeReturn loop_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    app_source * s = user;
    (void)pad;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer * buf = GST_PAD_PROBE_INFO_BUFFER(info);
        g_mutex_lock(&s->loop_lock);
        GstClockTime off = s->loop_offset;
        if (GST_BUFFER_PTS_IS_VALID(buf)) {
            GstClockTime pts = GST_BUFFER_PTS(buf);
            GstClockTime end = pts + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
            if (!GST_CLOCK_TIME_IS_VALID(s->pass_start) || pts < s->pass_start) s->pass_start = pts;
            if (!GST_CLOCK_TIME_IS_VALID(s->pass_end) || end > s->pass_end) s->pass_end = end;
        }
        g_mutex_unlock(&s->loop_lock);
        if (off) {
            buf = gst_buffer_make_writable(buf);
            if (GST_BUFFER_PTS_IS_VALID(buf)) GST_BUFFER_PTS(buf) += off;
            if (GST_BUFFER_DTS_IS_VALID(buf)) GST_BUFFER_DTS(buf) += off;
            GST_PAD_PROBE_INFO_DATA(info) = buf;
        }
        return GST_PAD_PROBE_OK;
    }
    GstEvent *        ev = GST_PAD_PROBE_INFO_EVENT(info);
    GstPadProbeReturn ret = GST_PAD_PROBE_OK;
    g_mutex_lock(&s->loop_lock);
    switch (GST_EVENT_TYPE(ev)) {
    case GST_EVENT_EOS:
        /* A pass without a timestamped frame (an empty file) would loop at once forever: end. */
        if (s->loop && !g_atomic_int_get(&s->run->no_loop) && GST_CLOCK_TIME_IS_VALID(s->pass_end)) {
            s->loop_offset += s->pass_end - s->pass_start;
            s->pass_start = s->pass_end = GST_CLOCK_TIME_NONE;
            s->loops++;
            gst_element_call_async(s->elem, loop_seek, s, NULL);
            ret = GST_PAD_PROBE_DROP;
        }
        break;
    case GST_EVENT_FLUSH_START:
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_SEGMENT:
        if (s->loops) ret = GST_PAD_PROBE_DROP;
        break;
    default: break;
    }
    g_mutex_unlock(&s->loop_lock);
    return ret;
}

/* From a pool thread (a flushing seek must not run on the streaming thread it stops). */
static void loop_seek(GstElement * e, gpointer user) {
    app_source * s = user;
    (void)e;
    g_mutex_lock(&s->loop_lock);
    GstPad * pad = s->loop_pad ? gst_object_ref(s->loop_pad) : NULL;
    g_mutex_unlock(&s->loop_lock);
    if (!pad) return;
    gboolean ok =
        !g_atomic_int_get(&s->run->no_loop) &&
        gst_pad_send_event(pad, gst_event_new_seek(1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET, 0,
                                                   GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE));
    if (!ok || g_atomic_int_get(&s->run->no_loop)) {
        /* Not seekable, or the run ended meanwhile: the EOS this pass dropped goes on after all. */
        if (!ok && !g_atomic_int_get(&s->run->no_loop))
            fprintf(stderr, "warning: source %d: cannot seek back to the start (file-loop): ending it\n", s->id);
        g_mutex_lock(&s->loop_lock);
        s->loop = false;
        g_mutex_unlock(&s->loop_lock);
        GstPad * peer = gst_pad_get_peer(pad);
        if (peer) {
            gst_pad_send_event(peer, gst_event_new_eos());
            gst_object_unref(peer);
        }
    }
    gst_object_unref(pad);
}

/* The looping source's first video pad gets the probe. */
static void on_loop_pad_added(GstElement * e, GstPad * pad, gpointer user) {
    app_source * s = user;
    (void)e;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    GstCaps * caps = gst_pad_get_current_caps(pad);
    if (!caps) caps = gst_pad_query_caps(pad, NULL);
    bool video = caps && gst_caps_get_size(caps) > 0 &&
                 g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
    if (caps) gst_caps_unref(caps);
    if (!video) return;
    g_mutex_lock(&s->loop_lock);
    bool first = !s->loop_pad;
    if (first) s->loop_pad = gst_object_ref(pad);
    g_mutex_unlock(&s->loop_lock);
    if (first)
        gst_pad_add_probe(
            pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH,
            loop_probe, s, NULL);
}

/* ---- RTSP end of stream ---------------------------------------------------------------------- */

/* An RTSP source with reconnect on (interval > 0) whose server ends the stream or goes away sends
 * EOS: it must not end the stream downstream (edgemux would end that source for good). The EOS is
 * dropped and the source reconnected (check_stalls, on the main loop), unless the run is ending. */
static GstPadProbeReturn live_eos_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    app_source * s = user;
    (void)pad;
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS || g_atomic_int_get(&s->run->no_loop))
        return GST_PAD_PROBE_OK;
    g_atomic_int_set(&s->stream_ended, 1);
    return GST_PAD_PROBE_DROP;
}

static void on_live_pad_added(GstElement * e, GstPad * pad, gpointer user) {
    (void)e;
    if (GST_PAD_DIRECTION(pad) == GST_PAD_SRC)
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, live_eos_probe, user, NULL);
}

/* Stops s and takes it out of the pipeline (it stays referenced): a source that stopped while the
 * pipeline was prerolling must not hold the pipeline's state change. */
static void take_out(app_run * r, app_source * s) {
    save_peers(s);
    gst_element_set_locked_state(s->elem, TRUE);
    gst_element_set_state(s->elem, GST_STATE_NULL);
    if (GST_OBJECT_PARENT(s->elem) == GST_OBJECT(r->pipeline)) gst_bin_remove(GST_BIN(r->pipeline), s->elem);
}

/* Ends source s for good: stops it and sends EOS downstream so that the muxer and the sinks go on
 * (and finish) without it. */
static void end_source(app_run * r, app_source * s, const char * why) {
    if (s->ended) return;
    s->ended = true;
    if (s->retry_timer) g_source_remove(s->retry_timer);
    s->retry_timer = 0;
    if (why) {
        s->failed = true;
        r->n_failed++;
        fprintf(stderr, "warning: source %d ended: %s\n", s->id, why);
    }
    take_out(r, s);
    GPtrArray * pads = g_ptr_array_new_with_free_func(gst_object_unref);
    for (guint i = 0; i < s->peers->len; i++) g_ptr_array_add(pads, gst_object_ref(g_ptr_array_index(s->peers, i)));
    /* Never linked (failed before its first pad), or never delivered a frame (an RTSP source whose
     * decodebin never got caps has no path to the muxer for the EOS): the muxer's pad for it too. */
    if (!s->peers->len || (r->perf && !ei_app_perf_source_frames(r->perf, s->id))) {
        GstElement * mux = gst_bin_get_by_name(GST_BIN(r->pipeline), "mux");
        if (mux) {
            gchar *  name = g_strdup_printf("sink_%d", s->id);
            GstPad * pad = gst_element_get_static_pad(mux, name);
            if (pad) g_ptr_array_add(pads, pad);
            g_free(name);
            gst_object_unref(mux);
        }
    }
    send_eos_async(r, pads);
    /* Ended while the pipeline was still prerolling: have it recount its children's states. */
    if (!r->playing) gst_element_set_state(r->pipeline, GST_STATE_PLAYING);
    if (r->n_failed == r->n_src) {
        fprintf(stderr, "error: every source failed\n");
        r->exit_code = EI_APP_EXIT_ERROR;
    }
    bool all_ended = true;
    for (int i = 0; i < r->n_src; i++) all_ended = all_ended && r->src[i].ended;
    if (all_ended && !r->eos_timer) r->eos_timer = g_timeout_add_seconds((guint)r->o->eos_timeout, eos_deadline, r);
}

/* EOS again into the ended sources' peers (after the pipeline started: before, their pads were
 * not active yet and dropped it). */
static void resend_eos(app_run * r) {
    GPtrArray * pads = g_ptr_array_new_with_free_func(gst_object_unref);
    for (int i = 0; i < r->n_src; i++)
        for (guint k = 0; r->src[i].ended && k < r->src[i].peers->len; k++)
            g_ptr_array_add(pads, gst_object_ref(g_ptr_array_index(r->src[i].peers, k)));
    send_eos_async(r, pads);
}

/* A pipeline that has not reached PLAYING yet (called after a restart and every second): asks for
 * PLAYING again. A source that fails while the pipeline prerolls leaves it stuck: its decodebin
 * commits PAUSED without the PLAYING it was asked for, and once the restarted source delivers, the
 * sinks preroll and wait in PAUSED for good (the source's streaming thread with them, and the main
 * loop too when it stops that source). Setting PLAYING again makes every child go on. */
static void ensure_playing(app_run * r) {
    if (r->playing || r->stopping) return;
    GstState cur = GST_STATE_VOID_PENDING;
    gst_element_get_state(r->pipeline, &cur, NULL, 0);
    if (cur != GST_STATE_PLAYING) gst_element_set_state(r->pipeline, GST_STATE_PLAYING);
}

static gboolean retry_now(gpointer user) {
    app_source * s = user;
    app_run *    r = s->run;
    s->retry_timer = 0;
    s->restarted_us = g_get_monotonic_time();
    g_atomic_int_set(&s->stream_ended, 0); /* (an EOS of the instance that was stopped) */
    gst_bin_add(GST_BIN(r->pipeline), s->elem);
    /* static pads go back to where they were; dynamic ones in on_source_pad_added */
    GstIterator * it = gst_element_iterate_src_pads(s->elem);
    GValue        v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        on_source_pad_added(s->elem, g_value_get_object(&v), s);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    gst_element_set_locked_state(s->elem, FALSE);
    if (!gst_element_sync_state_with_parent(s->elem)) info(r, "source %d: restart failed", s->id);
    ensure_playing(r);
    return G_SOURCE_REMOVE;
}

static void app_perf_touch(app_run * r, app_source * s) {
    if (r->perf) ei_app_perf_touch_source(r->perf, s->id);
}

/* Restarts s after a back-off (1, 2, 4 ... 60 s), or ends it when its attempts are spent. */
static void reconnect(app_run * r, app_source * s, const char * why) {
    if (s->ended || s->retry_timer) return;
    /* Data since the last restart (the once-a-second check may not have seen it yet): a new
     * failure, counted from the first attempt again. */
    if (s->attempt && r->perf && ei_app_perf_last_data_us(r->perf, s->id) > s->restarted_us) {
        info(r, "source %d: receiving again", s->id);
        s->attempt = 0;
    }
    if (s->attempts >= 0 && s->attempt >= s->attempts) {
        gchar * msg =
            g_strdup_printf("%s; gave up after %d reconnect attempt%s", why, s->attempt, s->attempt == 1 ? "" : "s");
        end_source(r, s, msg);
        g_free(msg);
        return;
    }
    s->attempt++;
    int delay = s->attempt >= 7 ? BACKOFF_MAX_S : 1 << (s->attempt - 1);
    if (delay > BACKOFF_MAX_S) delay = BACKOFF_MAX_S;
    if (s->attempts >= 0)
        fprintf(stderr, "source %d: %s; reconnecting in %d s (attempt %d of %d)\n", s->id, why, delay, s->attempt,
                s->attempts);
    else
        fprintf(stderr, "source %d: %s; reconnecting in %d s (attempt %d)\n", s->id, why, delay, s->attempt);
    take_out(r, s);
    app_perf_touch(r, s);
    s->retry_timer = g_timeout_add_seconds((guint)delay, retry_now, s);
}

/* Every second: RTSP sources without data for their interval are restarted; a source that
 * delivers again after a reconnect has its attempts reset. */
/* How long an error posted inside a source may take to reach the bus before it counts as dropped. */
#define DROPPED_ERROR_GRACE_US (5 * G_USEC_PER_SEC)

/* An error posted inside source s that never reached the bus (decodebin dropped it: app_errwatch.h)
 * and no data since: handled as if it had arrived, so that the run does not wait for ever. */
static bool check_dropped_error(app_run * r, app_source * s, gint64 now) {
    gint64 when = 0;
    char * what = ei_app_errwatch_latest(s->elem, s->restarted_us, &when);
    if (!what) return false;
    bool act = now - when > DROPPED_ERROR_GRACE_US && ei_app_perf_last_data_us(r->perf, s->id) < when;
    if (act) {
        if (!r->o->quiet)
            fprintf(stderr,
                    "source %d: %s\n  (posted inside the source, where a bin dropped it; no frame came after it)\n",
                    s->id, what);
        if (s->kind != KIND_PLAIN)
            reconnect(r, s, what);
        else
            end_source(r, s, what);
    }
    g_free(what);
    return act;
}

/* A file, test or camera source that delivered nothing --start-timeout s after the start, without
 * an error: ended (a live RTSP/UDP source waits and reconnects instead). */
static bool check_start_timeout(app_run * r, app_source * s, gint64 now) {
    if (s->kind != KIND_PLAIN || r->o->start_timeout <= 0 || ei_app_perf_last_data_us(r->perf, s->id) ||
        now - r->t_start_us <= (gint64)r->o->start_timeout * G_USEC_PER_SEC)
        return false;
    gchar * why =
        g_strdup_printf("no frame %d s after the start and no error from it (--start-timeout)", r->o->start_timeout);
    end_source(r, s, why);
    g_free(why);
    return true;
}

static gboolean check_stalls(gpointer user) {
    app_run * r = user;
    if (r->stopping) return G_SOURCE_CONTINUE;
    ensure_playing(r);
    gint64 now = g_get_monotonic_time();
    for (int i = 0; i < r->n_src; i++) {
        app_source * s = &r->src[i];
        if (s->ended || s->retry_timer) continue;
        if (check_dropped_error(r, s, now) || check_start_timeout(r, s, now) || s->kind == KIND_PLAIN) continue;
        if (g_atomic_int_compare_and_exchange(&s->stream_ended, 1, 0)) {
            reconnect(r, s, "the stream ended (the server closed it or went away)");
            continue;
        }
        gint64 last = ei_app_perf_last_data_us(r->perf, s->id);
        if (s->attempt && last > s->restarted_us) {
            info(r, "source %d: receiving again", s->id);
            s->attempt = 0;
        }
        if (s->kind != KIND_RTSP || s->interval_s <= 0) continue;
        gint64 since = last > s->restarted_us ? last : s->restarted_us;
        if (now - since > (gint64)s->interval_s * G_USEC_PER_SEC) {
            gchar * why = g_strdup_printf("no data for %d s", s->interval_s);
            reconnect(r, s, why);
            g_free(why);
        }
    }
    return G_SOURCE_CONTINUE;
}

/* udpsrc posts "GstUDPSrcTimeout" after `timeout` without packets: set it for UDP sources. */
static void set_udp_timeouts(app_source * s) {
    GList * elems = NULL;
    if (GST_IS_BIN(s->elem)) {
        GstIterator * it = gst_bin_iterate_recurse(GST_BIN(s->elem));
        GValue        v = G_VALUE_INIT;
        while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
            elems = g_list_prepend(elems, g_value_dup_object(&v));
            g_value_reset(&v);
        }
        g_value_unset(&v);
        gst_iterator_free(it);
    } else {
        elems = g_list_prepend(elems, gst_object_ref(s->elem));
    }
    for (GList * l = elems; l; l = l->next) {
        GstElementFactory * f = gst_element_get_factory(l->data);
        if (f && !strcmp(GST_OBJECT_NAME(f), "udpsrc")) {
            guint64 t = 0;
            g_object_get(l->data, "timeout", &t, NULL);
            if (!t) g_object_set(l->data, "timeout", (guint64)s->interval_s * GST_SECOND, NULL);
        }
    }
    g_list_free_full(elems, gst_object_unref);
}

static bool has_factory(GstElement * e, const char * name) {
    if (!GST_IS_BIN(e)) {
        GstElementFactory * f = gst_element_get_factory(e);
        return f && !strcmp(GST_OBJECT_NAME(f), name);
    }
    GstIterator * it = gst_bin_iterate_recurse(GST_BIN(e));
    GValue        v = G_VALUE_INIT;
    bool          found = false;
    while (!found && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElementFactory * f = gst_element_get_factory(g_value_get_object(&v));
        found = f && !strcmp(GST_OBJECT_NAME(f), name);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return found;
}

/* The src<N> elements of the pipeline with their reconnect settings: from the config (sources
 * numbered as app_pipeline numbers them, a multi-URI source counting num-sources) or, with
 * --pipeline, from --reconnect-interval/--reconnect-attempts for rtspsrc/udpsrc sources. */
static void find_sources(app_run * r, const ei_app_config * cfg) {
    GstIterator * it = gst_bin_iterate_elements(GST_BIN(r->pipeline));
    GValue        v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement * e = g_value_get_object(&v);
        int          id = source_id_of_name(GST_OBJECT_NAME(e));
        if (id >= 0 && r->n_src < MAX_SOURCES) {
            app_source * s = &r->src[r->n_src++];
            memset(s, 0, sizeof *s);
            s->run = r;
            s->id = id;
            s->elem = gst_object_ref(e);
            s->peers = g_ptr_array_new_with_free_func(gst_object_unref);
            s->attempts = -1;
            g_mutex_init(&s->loop_lock);
            s->pass_start = s->pass_end = GST_CLOCK_TIME_NONE;
            const ei_app_source * cs = NULL;
            for (int k = 0; cfg && k < cfg->n_sources && !cs; k++)
                if (id >= cfg->sources[k].first_stream && id < cfg->sources[k].first_stream + cfg->sources[k].n_streams)
                    cs = &cfg->sources[k];
            if (cs && cs->type == EI_APP_SOURCE_IMAGE_DIR && GST_IS_APP_SRC(e)) s->image_dir = cs->dir;
            /* file-loop: file:// URIs (uridecodebin) and image folders (the feeder starts again) */
            if (cs && cs->file_loop)
                s->loop = s->image_dir || ((cs->type == EI_APP_SOURCE_URI || cs->type == EI_APP_SOURCE_MULTI_URI) &&
                                           !g_ascii_strncasecmp(cs->uri, "file:", 5));
            if (s->loop && !s->image_dir) g_signal_connect(e, "pad-added", G_CALLBACK(on_loop_pad_added), s);
            if (cs) {
                s->kind = cs->type == EI_APP_SOURCE_RTSP      ? KIND_RTSP
                          : cs->type == EI_APP_SOURCE_UDP_RTP ? KIND_UDP
                                                              : KIND_PLAIN;
                s->interval_s = cs->rtsp_reconnect_interval_sec;
                s->attempts = cs->rtsp_reconnect_attempts;
            } else if (!cfg && (r->o->reconnect_interval > 0 || r->o->reconnect_attempts >= 0)) {
                s->kind = has_factory(e, "rtspsrc") ? KIND_RTSP : has_factory(e, "udpsrc") ? KIND_UDP : KIND_PLAIN;
                s->interval_s = r->o->reconnect_interval;
                s->attempts = r->o->reconnect_attempts;
            }
            if (s->kind == KIND_UDP && s->interval_s > 0) set_udp_timeouts(s);
            if (s->kind == KIND_RTSP && s->interval_s > 0)
                g_signal_connect(e, "pad-added", G_CALLBACK(on_live_pad_added), s);
            g_signal_connect(e, "pad-added", G_CALLBACK(on_source_pad_added), s);
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

/* ---- image folders, RTSP servers, output folders ----------------------------------------------- */

static int cmp_names(const void * a, const void * b) { return strcmp(*(char * const *)a, *(char * const *)b); }

/* Feeds an image-dir source: the folder's files in name order, decoded (JPEG/PNG) to RGB, one
 * buffer each at a nominal 30 images/s, then end-of-stream. Unreadable files are skipped with a
 * warning; a missing folder is the source's error. */
static gpointer feed_images(gpointer user) {
    app_source * s = user;
    GstAppSrc *  src = GST_APP_SRC(s->elem);
    GError *     err = NULL;
    GDir *       d = g_dir_open(s->image_dir, 0, &err);
    if (!d) {
        GError * e = g_error_new(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "image folder %s: %s", s->image_dir,
                                 err->message);
        gst_element_post_message(s->elem, gst_message_new_error(GST_OBJECT(s->elem), e, NULL));
        g_error_free(e);
        g_error_free(err);
        return NULL;
    }
    GPtrArray *  names = g_ptr_array_new_with_free_func(g_free);
    const char * n;
    while ((n = g_dir_read_name(d))) g_ptr_array_add(names, g_strdup(n));
    g_dir_close(d);
    qsort(names->pdata, names->len, sizeof(gpointer), cmp_names);
    int     w = 0, h = 0;
    guint64 frame = 0;
    bool    stopped = false;
    /* file-loop: the folder again from its first image, until the run ends (a pass that pushed
     * nothing ends it too) */
    for (guint64 pass_first = 0, i = 0; !stopped; i++) {
        if (i == names->len) {
            if (!s->loop || g_atomic_int_get(&s->run->no_loop) || frame == pass_first) break;
            i = 0;
            pass_first = frame;
        }
        gchar * path = g_build_filename(s->image_dir, g_ptr_array_index(names, i), NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            g_free(path);
            continue;
        }
        ei_image    img;
        ei_status * st = ei_image_load(path, EI_PIXEL_RGB, &img);
        if (st) {
            fprintf(stderr, "warning: source %d: skipping %s: %s\n", s->id, path, ei_status_message(st));
            ei_status_destroy(st);
            g_free(path);
            continue;
        }
        g_free(path);
        if (img.width != w || img.height != h) {
            w = img.width;
            h = img.height;
            GstCaps * caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, w,
                                                 "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
            gst_app_src_set_caps(src, caps);
            gst_caps_unref(caps);
        }
        gsize       stride = GST_ROUND_UP_4((gsize)w * 3);
        GstBuffer * buf = gst_buffer_new_allocate(NULL, stride * (gsize)h, NULL);
        GstMapInfo  map;
        if (buf && gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
            for (int y = 0; y < h; y++)
                memcpy(map.data + (gsize)y * stride, img.plane[0] + (gsize)y * (gsize)img.stride[0], (gsize)w * 3);
            gst_buffer_unmap(buf, &map);
        }
        ei_image_free(&img);
        if (!buf) break;
        GST_BUFFER_PTS(buf) = gst_util_uint64_scale(frame, GST_SECOND, 30);
        GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
        frame++;
        stopped = gst_app_src_push_buffer(src, buf) != GST_FLOW_OK; /* stopping */
    }
    g_ptr_array_unref(names);
    gst_app_src_end_of_stream(src);
    return NULL;
}

static void start_feeders(app_run * r) {
    for (int i = 0; i < r->n_src; i++)
        if (r->src[i].image_dir && !r->src[i].feeder) {
            g_object_set(r->src[i].elem, "block", TRUE, NULL);
            r->src[i].feeder = g_thread_new("ei-images", feed_images, &r->src[i]);
        }
}

typedef struct rtsp_servers {
    GstRTSPServer ** servers;
    guint *          ids;
    int              n;
} rtsp_servers;

/* deepstream-app's RTSP out: a server per UDP sink with rtsp-port, re-reading that sink's RTP. */
static bool start_rtsp(app_run * r, const ei_app_config * cfg, rtsp_servers * out) {
    memset(out, 0, sizeof *out);
    if (!cfg) return true;
    int                  n = 0;
    ei_app_rtsp_server * sv = ei_app_rtsp_servers(cfg, &n);
    bool                 ok = true;
    out->servers = g_new0(GstRTSPServer *, n ? n : 1);
    out->ids = g_new0(guint, n ? n : 1);
    for (int i = 0; i < n && ok; i++) {
        GstRTSPServer * srv = gst_rtsp_server_new();
        gchar *         port = g_strdup_printf("%d", sv[i].rtsp_port);
        g_object_set(srv, "service", port, NULL);
        g_free(port);
        GstRTSPMountPoints *  mp = gst_rtsp_server_get_mount_points(srv);
        GstRTSPMediaFactory * f = gst_rtsp_media_factory_new();
        gst_rtsp_media_factory_set_launch(f, sv[i].launch);
        gst_rtsp_media_factory_set_shared(f, TRUE);
        gst_rtsp_mount_points_add_factory(mp, sv[i].mount, f);
        g_object_unref(mp);
        out->servers[out->n] = srv;
        out->ids[out->n] = gst_rtsp_server_attach(srv, NULL);
        out->n++;
        if (!out->ids[out->n - 1]) {
            fprintf(stderr, "error: [sink%d] rtsp-port=%d: cannot serve RTSP on that port\n", sv[i].sink_group,
                    sv[i].rtsp_port);
            ok = false;
        } else {
            info(r, "serving rtsp://127.0.0.1:%d%s ([sink%d])", sv[i].rtsp_port, sv[i].mount, sv[i].sink_group);
        }
    }
    ei_app_rtsp_servers_free(sv, n);
    return ok;
}

static void stop_rtsp(rtsp_servers * s) {
    for (int i = 0; i < s->n; i++) {
        if (s->ids[i]) g_source_remove(s->ids[i]);
        g_object_unref(s->servers[i]);
    }
    g_free(s->servers);
    g_free(s->ids);
}

/* The folders of the output files (the description does not create them). */
static bool make_output_dirs(const ei_app_config * cfg) {
    const char * files[EI_APP_MAX_SINKS + 1];
    int          n = 0;
    if (cfg->jsonl_output && strcmp(cfg->jsonl_output, "-")) files[n++] = cfg->jsonl_output;
    for (int i = 0; i < cfg->n_sinks; i++)
        if (cfg->sinks[i].type == EI_APP_SINK_FILE && cfg->sinks[i].output_file) files[n++] = cfg->sinks[i].output_file;
    for (int i = 0; i < n; i++) {
        gchar * dir = g_path_get_dirname(files[i]);
        int     rc = g_mkdir_with_parents(dir, 0777);
        if (rc) fprintf(stderr, "error: cannot create the folder of %s: %s\n", files[i], strerror(errno));
        g_free(dir);
        if (rc) return false;
    }
    return true;
}

/* ---- the run ---------------------------------------------------------------------------------- */

static bool write_dot(app_run * r, const char * what) {
    if (!r->o->dot_dir) return true;
    if (g_mkdir_with_parents(r->o->dot_dir, 0777) != 0) {
        fprintf(stderr, "error: --dot %s: %s\n", r->o->dot_dir, strerror(errno));
        return false;
    }
    gchar *  dot = gst_debug_bin_to_dot_data(GST_BIN(r->pipeline), GST_DEBUG_GRAPH_SHOW_ALL);
    gchar *  path = g_strdup_printf("%s/pipeline-%s.dot", r->o->dot_dir, what);
    GError * err = NULL;
    bool     ok = g_file_set_contents(path, dot, -1, &err);
    if (!ok) {
        fprintf(stderr, "error: --dot: %s\n", err->message);
        g_error_free(err);
    } else {
        info(r, "wrote %s", path);
    }
    g_free(path);
    g_free(dot);
    return ok;
}

static gboolean eos_deadline(gpointer user) {
    app_run * r = user;
    r->eos_timer = 0;
    fprintf(stderr, "warning: the pipeline did not finish within %d s after EOS; stopping without it\n",
            r->o->eos_timeout);
    g_main_loop_quit(r->loop);
    return G_SOURCE_REMOVE;
}

static void send_eos_to_pipeline(GstElement * pipeline, gpointer user) {
    (void)user;
    gst_element_send_event(pipeline, gst_event_new_eos());
}

/* Sends EOS into every source so that the sinks finalise their files, then waits (up to the
 * deadline) for the EOS message. */
static void stop_with_eos(app_run * r) {
    if (r->stopping) return;
    r->stopping = true;
    g_atomic_int_set(&r->no_loop, 1);
    for (int i = 0; i < r->n_src; i++)
        if (r->src[i].retry_timer) end_source(r, &r->src[i], NULL);
    /* A looping file source may be between its EOS and its seek, where the pipeline's EOS could be
     * lost: its EOS goes straight into the pads downstream of it too (a second EOS is ignored). */
    GPtrArray * pads = g_ptr_array_new_with_free_func(gst_object_unref);
    for (int i = 0; i < r->n_src; i++) {
        app_source * s = &r->src[i];
        if (!s->loop || s->ended) continue;
        g_mutex_lock(&s->loop_lock);
        GstPad * peer = s->loop_pad ? gst_pad_get_peer(s->loop_pad) : NULL;
        g_mutex_unlock(&s->loop_lock);
        if (peer) g_ptr_array_add(pads, peer);
    }
    send_eos_async(r, pads);
    /* A non-live source's send_event waits for its streaming thread: not on the main loop. */
    gst_element_call_async(r->pipeline, send_eos_to_pipeline, NULL, NULL);
    if (!r->eos_timer) r->eos_timer = g_timeout_add_seconds((guint)r->o->eos_timeout, eos_deadline, r);
}

static gboolean on_signal(gpointer user) {
    app_run * r = user;
    if (r->interrupted) {
        fprintf(stderr, "interrupted again: stopping now\n");
        r->exit_code = EI_APP_EXIT_FORCED;
        g_main_loop_quit(r->loop);
        return G_SOURCE_CONTINUE;
    }
    r->interrupted = true;
    fprintf(stderr, "interrupted: finishing the outputs (again to stop at once)\n");
    stop_with_eos(r);
    return G_SOURCE_CONTINUE;
}

/* --max-frames / --duration: ends the run like SIGINT once the limit is reached. */
static gboolean check_limits(gpointer user) {
    app_run * r = user;
    if (r->stopping) {
        r->limit_timer = 0;
        return G_SOURCE_REMOVE;
    }
    guint64 frames = ei_app_perf_frames(r->perf);
    double  s = (double)(g_get_monotonic_time() - r->t_start_us) / 1e6;
    if (r->o->max_frames && frames >= (guint64)r->o->max_frames)
        info(r, "%" G_GUINT64_FORMAT " frames (--max-frames %" G_GINT64_FORMAT "): finishing the outputs", frames,
             r->o->max_frames);
    else if (r->o->duration_s && s >= r->o->duration_s)
        info(r, "%d s (--duration): finishing the outputs", r->o->duration_s);
    else
        return G_SOURCE_CONTINUE;
    r->limit_timer = 0;
    stop_with_eos(r);
    return G_SOURCE_REMOVE;
}

static gboolean perf_tick(gpointer user) {
    app_run * r = user;
    ei_app_perf_print_interval(r->perf, stdout);
    return G_SOURCE_CONTINUE;
}

static gboolean on_bus(GstBus * bus, GstMessage * m, gpointer user) {
    app_run * r = user;
    (void)bus;
    switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_EOS:
        info(r, "end of stream");
        g_main_loop_quit(r->loop);
        break;
    case GST_MESSAGE_ERROR: {
        GError * err = NULL;
        gchar *  dbg = NULL;
        gst_message_parse_error(m, &err, &dbg);
        app_source * s = source_of(r, GST_MESSAGE_SRC(m));
        gchar *      what = g_strdup_printf("%s: %s", GST_MESSAGE_SRC_NAME(m), err->message);
        if (s && !r->stopping) {
            /* (nothing for a late message from a source already being restarted or ended) */
            if (!s->ended && !s->retry_timer) {
                if (dbg && !r->o->quiet) fprintf(stderr, "source %d: %s\n  (%s)\n", s->id, what, dbg);
                if (s->kind != KIND_PLAIN)
                    reconnect(r, s, what);
                else
                    end_source(r, s, what);
            }
        } else if (!s && !in_pipeline(r, GST_MESSAGE_SRC(m))) {
            /* from an element a source bin dropped when it stopped: that source is handled */
        } else if (!s) {
            fprintf(stderr, "error: %s\n", what);
            if (dbg) fprintf(stderr, "  (%s)\n", dbg);
            r->exit_code = EI_APP_EXIT_ERROR;
            if (r->stopping)
                g_main_loop_quit(r->loop);
            else
                stop_with_eos(r);
        }
        g_free(what);
        g_error_free(err);
        g_free(dbg);
        break;
    }
    case GST_MESSAGE_WARNING: {
        GError * err = NULL;
        gchar *  dbg = NULL;
        gst_message_parse_warning(m, &err, &dbg);
        if (!r->o->quiet) fprintf(stderr, "warning: %s: %s\n", GST_MESSAGE_SRC_NAME(m), err->message);
        g_error_free(err);
        g_free(dbg);
        break;
    }
    case GST_MESSAGE_ELEMENT: {
        const GstStructure * st = gst_message_get_structure(m);
        if (st && gst_structure_has_name(st, "GstUDPSrcTimeout")) {
            app_source * s = source_of(r, GST_MESSAGE_SRC(m));
            guint64      t = 0;
            gst_structure_get_uint64(st, "timeout", &t);
            if (s) info(r, "source %d: no data for %.0f s, waiting", s->id, (double)t / GST_SECOND);
        }
        break;
    }
    case GST_MESSAGE_STATE_CHANGED:
        if (GST_MESSAGE_SRC(m) == GST_OBJECT(r->pipeline)) {
            GstState old, now;
            gst_message_parse_state_changed(m, &old, &now, NULL);
            if (now == GST_STATE_PLAYING && !r->playing) {
                r->playing = true;
                if (!write_dot(r, "playing")) {
                    r->exit_code = EI_APP_EXIT_IO;
                    stop_with_eos(r);
                }
            }
        }
        break;
    default: break;
    }
    return TRUE;
}

static void config_log(void * user, const char * msg) {
    (void)user;
    fprintf(stderr, "warning: %s\n", msg);
}

/* The description to run, or NULL with *code set. */
static char * describe(const app_opts * o, ei_app_config ** cfg_out, int * code) {
    *cfg_out = NULL;
    if (o->pipeline) return g_strdup(o->pipeline);
    if (!g_file_test(o->config, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "error: %s: no such file\n", o->config);
        *code = EI_APP_EXIT_IO;
        return NULL;
    }
    ei_app_config * cfg = NULL;
    ei_status *     st = ei_app_config_load(o->config, config_log, NULL, &cfg);
    char *          desc = NULL;
    if (!st && o->jsonl) {
        g_free(cfg->jsonl_output);
        cfg->jsonl_output = g_strdup(o->jsonl);
    }
    if (!st) desc = ei_app_pipeline_describe(cfg, &st);
    if (st) {
        fprintf(stderr, "error: %s\n", ei_status_message(st));
        *code = ei_status_code(st) == EI_CODE_IO || ei_status_code(st) == EI_CODE_NOT_FOUND ? EI_APP_EXIT_IO
                                                                                            : EI_APP_EXIT_INVALID;
        ei_status_destroy(st);
        ei_app_config_free(cfg);
        return NULL;
    }
    *cfg_out = cfg;
    return desc;
}

static void free_config(ei_app_config * cfg) { ei_app_config_free(cfg); }

static int run(app_opts * o, GstElement * pipeline, const ei_app_config * cfg) {
    app_run r = {.o = o, .pipeline = pipeline, .exit_code = EI_APP_EXIT_OK};
    r.loop = g_main_loop_new(NULL, FALSE);
    find_sources(&r, cfg);
    r.perf = ei_app_perf_new(pipeline);

    int      perf_interval = o->perf_interval >= 0          ? o->perf_interval
                             : cfg && cfg->perf_measurement ? (cfg->perf_interval_sec > 0 ? cfg->perf_interval_sec : 5)
                                                            : 0;
    GstBus * bus = gst_element_get_bus(pipeline);
    guint    bus_watch = gst_bus_add_watch(bus, on_bus, &r);
    gst_object_unref(bus);
    guint sig_int = g_unix_signal_add(SIGINT, on_signal, &r);
    guint sig_term = g_unix_signal_add(SIGTERM, on_signal, &r);
    guint stall = g_timeout_add_seconds(1, check_stalls, &r);
    guint tick = perf_interval > 0 && !o->quiet ? g_timeout_add_seconds((guint)perf_interval, perf_tick, &r) : 0;

    /* A source that fails to start fails the state change: it is handled (restarted later or
     * ended) like a failure while running, and the rest of the pipeline starts without it. */
    rtsp_servers         rtsp;
    GstStateChangeReturn ret =
        start_rtsp(&r, cfg, &rtsp) ? gst_element_set_state(pipeline, GST_STATE_PLAYING) : GST_STATE_CHANGE_FAILURE;
    if (ret == GST_STATE_CHANGE_FAILURE && rtsp.n && !rtsp.ids[rtsp.n - 1]) r.exit_code = EI_APP_EXIT_ERROR;
    for (int tries = 0; ret == GST_STATE_CHANGE_FAILURE && tries <= r.n_src && !r.stopping; tries++) {
        GstMessage * m;
        bool         any = false;
        while ((m = gst_bus_pop_filtered(GST_ELEMENT_BUS(pipeline), GST_MESSAGE_ERROR))) {
            on_bus(NULL, m, &r);
            gst_message_unref(m);
            any = true;
        }
        if (!any || r.stopping) break;
        ret = gst_element_set_state(pipeline, GST_STATE_PLAYING);
        if (ret != GST_STATE_CHANGE_FAILURE) resend_eos(&r);
    }
    if (ret == GST_STATE_CHANGE_FAILURE) {
        if (r.exit_code == EI_APP_EXIT_OK) fprintf(stderr, "error: the pipeline could not start\n");
        r.exit_code = EI_APP_EXIT_ERROR;
    } else {
        r.t_start_us = g_get_monotonic_time();
        if (o->max_frames || o->duration_s) r.limit_timer = g_timeout_add(20, check_limits, &r);
        start_feeders(&r);
        g_main_loop_run(r.loop);
    }
    ei_app_perf_finish(r.perf);
    if (r.exit_code != EI_APP_EXIT_FORCED && !write_dot(&r, "end") && r.exit_code == EI_APP_EXIT_OK)
        r.exit_code = EI_APP_EXIT_IO;

    if (tick) g_source_remove(tick);
    if (r.limit_timer) g_source_remove(r.limit_timer);
    g_source_remove(stall);
    g_source_remove(sig_int);
    g_source_remove(sig_term);
    g_source_remove(bus_watch);
    if (r.eos_timer) g_source_remove(r.eos_timer);
    for (int i = 0; i < r.n_src; i++)
        if (r.src[i].retry_timer) g_source_remove(r.src[i].retry_timer);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    for (int i = 0; i < r.n_src; i++) gst_element_set_state(r.src[i].elem, GST_STATE_NULL);
    for (int i = 0; i < r.n_src; i++)
        if (r.src[i].feeder) g_thread_join(r.src[i].feeder); /* its pushes fail once stopped */
    stop_rtsp(&rtsp);

    ei_app_perf_print_report(r.perf, stdout);
    if (o->perf_json && !ei_app_perf_write_json(r.perf, o->perf_json)) {
        fprintf(stderr, "error: --perf-json %s: %s\n", o->perf_json, strerror(errno));
        if (r.exit_code == EI_APP_EXIT_OK) r.exit_code = EI_APP_EXIT_IO;
    }
    for (int i = 0; i < r.n_src; i++) {
        g_signal_handlers_disconnect_by_data(r.src[i].elem, &r.src[i]);
        g_ptr_array_unref(r.src[i].peers);
        if (r.src[i].loop_pad) gst_object_unref(r.src[i].loop_pad);
        g_mutex_clear(&r.src[i].loop_lock);
        gst_object_unref(r.src[i].elem);
    }
    ei_app_perf_free(r.perf);
    ei_app_errwatch_clear();
    g_main_loop_unref(r.loop);
    return r.exit_code;
}

int ei_app_main(int argc, char ** argv) {
    app_opts o;
    int      rc = parse_opts(argc, argv, &o);
    if (rc) return rc < 0 ? EI_APP_EXIT_OK : rc;

    gst_init(NULL, NULL);
    if (!ei_app_errwatch_install() && !o.quiet)
        fprintf(stderr, "warning: this GStreamer has no tracer hooks: an error a bin drops inside a source goes "
                        "unseen (--start-timeout still ends such a source)\n");
    /* When this fails, a pipeline that uses the elements fails to build, naming the element. */
    if (!gst_ei_register_static()) fprintf(stderr, "warning: the edgeinfer elements could not be registered\n");
    int             code = EI_APP_EXIT_OK;
    ei_app_config * cfg = NULL;
    char *          desc = describe(&o, &cfg, &code);
    if (!desc) return code;
    if (o.print_pipeline) {
        printf("%s\n", desc);
        fflush(stdout);
    }
    if (o.dry_run) {
        g_free(desc);
        free_config(cfg);
        return EI_APP_EXIT_OK;
    }

    GError *     err = NULL;
    GstElement * pipeline = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (!pipeline || err) {
        fprintf(stderr, "error: the pipeline cannot be built: %s%s\n", err ? err->message : "unknown reason",
                o.print_pipeline ? "" : " (--print-pipeline shows it)");
        if (err) g_error_free(err);
        if (pipeline) gst_object_unref(pipeline);
        g_free(desc);
        free_config(cfg);
        return EI_APP_EXIT_INVALID;
    }
    g_free(desc);
    if (cfg && (!ei_app_pipeline_install_drops(pipeline, cfg) || !ei_app_pipeline_install_codecs(pipeline, cfg) ||
                !ei_app_pipeline_install_stamps(pipeline, cfg))) {
        fprintf(stderr, "error: the pipeline lacks the drop<I> element of a source with drop-frame-interval, the "
                        "decoding bin src<I>/dec<I> of a URI/RTSP source, the encoder enc<N> of a sink or the "
                        "muxer's sink_<I> pad of a stream\n");
        gst_object_unref(pipeline);
        free_config(cfg);
        return EI_APP_EXIT_INVALID;
    }
    if (cfg && !make_output_dirs(cfg)) {
        gst_object_unref(pipeline);
        free_config(cfg);
        return EI_APP_EXIT_IO;
    }
    if (!GST_IS_PIPELINE(pipeline)) {
        GstElement * p = gst_pipeline_new(NULL);
        gst_bin_add(GST_BIN(p), pipeline);
        pipeline = p;
    }
    if (o.jsonl && o.pipeline) {
        GstElement * json = gst_bin_get_by_name(GST_BIN(pipeline), "json");
        if (!json) {
            fprintf(stderr, "error: --jsonl: the pipeline has no element named 'json'\n");
            gst_object_unref(pipeline);
            return EI_APP_EXIT_USAGE;
        }
        g_object_set(json, "location", o.jsonl, NULL);
        gst_object_unref(json);
    }
    code = run(&o, pipeline, cfg);
    gst_object_unref(pipeline);
    free_config(cfg);
    return code;
}
