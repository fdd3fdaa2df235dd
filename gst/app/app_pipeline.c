/* The gst-launch description of an application config (docs/app-config.md, "The pipeline").
 * Layout, in this order so that every name is defined before a later part refers to it:
 *   edgemux name=mux ... ! [edgeinfer name=infer] ! [edgeosd name=osd] ! [edgejson name=json] ! edgedemux name=demux
 *   <source I> ! mux.sink_I                                   (one chain per stream)
 *   [compositor name=tiler ...]  demux.src_I ! queue ! tiler.sink_I ...   ([tiled-display] on)
 *   <output> ! [tee] ! queue ! <sink chain> ...               (tiled output or demux.src_I)  */
#include "app_pipeline.h"

#include <string.h>

#include "core/status.h"
#include "edgeinfer/session.h"

char * ei_app_pipeline_quote(const char * value) {
    GString * s = g_string_new("\"");
    for (const char * p = value ? value : ""; *p; p++) {
        if (*p == '"' || *p == '\\') g_string_append_c(s, '\\');
        g_string_append_c(s, *p);
    }
    g_string_append_c(s, '"');
    return g_string_free(s, FALSE);
}

/* Appends ` key="value"` with the value quoted. */
static void add_str(GString * d, const char * key, const char * value) {
    char * q = ei_app_pipeline_quote(value);
    g_string_append_printf(d, " %s=%s", key, q);
    g_free(q);
}

static const char * codec_name(ei_app_codec c) { return c == EI_APP_CODEC_H265 ? "H265" : "H264"; }
static const char * codec_lower(ei_app_codec c) { return c == EI_APP_CODEC_H265 ? "h265" : "h264"; }

void ei_app_pipeline_infer_threads(guint * threads, guint * copies) {
    /* Frames are independent: on a small machine several single-threaded copies of the model
     * (edgeinfer instances) keep every core busy, where one run on all cores waits at each
     * parallel step for the thread whose core the decoder or encoder took. On 2 cores,
     * YOLOX-nano through decode, infer and x264: 2 copies x 1 thread 49 FPS, 1 x 1 32 FPS,
     * 1 x 2 22 FPS (docs/app-run.md). At most 4 copies; bigger machines give each more threads.
     * The cores are those the process may use (affinity, container CPU quota). */
    guint cores = (guint)ei_cpu_cores();
    guint n = MIN(MAX(cores, 1), 4), per = cores > n ? (cores - 1) / n : 1;
    *copies = n;
    *threads = MAX(per, 1);
}

int ei_app_pipeline_decoder_threads(const ei_app_config * cfg, const ei_app_source * s) {
    if (s->decoder_threads >= 0) return s->decoder_threads;
    if (!cfg->gie_enabled) return 0;
    /* With every core inferring, a frame-threaded decoder only adds hand-offs (and their system
     * time) between threads that compete for the same cores: one thread decodes with less CPU. */
    guint threads, copies;
    ei_app_pipeline_infer_threads(&threads, &copies);
    return threads * copies >= (guint)ei_cpu_cores() ? 1 : 0;
}

/* The decoding head of stream id (the part before the common conversion). */
static void add_source_head(GString * d, const ei_app_source * s, int id, int decoder_threads) {
    switch (s->type) {
    case EI_APP_SOURCE_URI:
    case EI_APP_SOURCE_MULTI_URI:
        g_string_append_printf(d, "uridecodebin name=src%d", id);
        add_str(d, "uri", s->uri);
        /* The caps filter on the delayed link keeps audio pads (left unlinked) away from the queue. */
        g_string_append(d, " ! video/x-raw");
        break;
    case EI_APP_SOURCE_RTSP:
        g_string_append_printf(d, "rtspsrc name=src%d", id);
        add_str(d, "location", s->uri);
        g_string_append_printf(d, " latency=%d", s->latency_ms);
        if (s->select_rtp_protocol == 4) g_string_append(d, " protocols=tcp");
        g_string_append_printf(d, " ! application/x-rtp,media=video ! decodebin name=dec%d ! video/x-raw", id);
        break;
    case EI_APP_SOURCE_UDP_RTP:
        g_string_append_printf(d,
                               "udpsrc name=src%d port=%d caps=\"application/x-rtp,media=video,clock-rate=90000,"
                               "encoding-name=%s\" ! rtpjitterbuffer latency=%d ! rtp%sdepay ! %sparse ! avdec_%s",
                               id, s->udp_port, codec_name(s->codec), s->latency_ms, codec_lower(s->codec),
                               codec_lower(s->codec), codec_lower(s->codec));
        if (decoder_threads > 0) g_string_append_printf(d, " max-threads=%d", decoder_threads);
        break;
    case EI_APP_SOURCE_CAMERA_V4L2:
        g_string_append_printf(d, "v4l2src name=src%d", id);
        add_str(d, "device", s->camera_v4l2_dev_node);
        g_string_append(d, " ! video/x-raw");
        if (s->camera_width) g_string_append_printf(d, ",width=%d", s->camera_width);
        if (s->camera_height) g_string_append_printf(d, ",height=%d", s->camera_height);
        if (s->camera_fps_n) g_string_append_printf(d, ",framerate=%d/%d", s->camera_fps_n, s->camera_fps_d);
        break;
    case EI_APP_SOURCE_IMAGE_DIR:
        /* The runner decodes the folder's images in name order and pushes them (docs/app-config.md). */
        g_string_append_printf(d, "appsrc name=src%d format=time", id);
        break;
    }
}

static void add_source(GString * d, const ei_app_config * cfg, const ei_app_source * s, int id) {
    add_source_head(d, s, id, ei_app_pipeline_decoder_threads(cfg, s));
    g_string_append(d, " ! queue");
    if (s->drop_frame_interval > 1) g_string_append_printf(d, " ! identity name=drop%d silent=true", id);
    g_string_append(d, " ! videoconvert");
    if (cfg->mux_width)
        g_string_append_printf(d, " ! videoscale ! video/x-raw,format=I420,width=%d,height=%d", cfg->mux_width,
                               cfg->mux_height);
    else
        g_string_append(d, " ! video/x-raw,format=I420");
    g_string_append_printf(d, " ! mux.sink_%d  ", id);
}

static void add_main(GString * d, const ei_app_config * cfg) {
    int batch = cfg->mux_batch_size ? cfg->mux_batch_size : cfg->n_streams;
    g_string_append_printf(d, "edgemux name=mux batch-size=%d batched-push-timeout=%d", batch,
                           cfg->mux_batched_push_timeout_us);
    if (cfg->mux_width) g_string_append_printf(d, " width=%d height=%d", cfg->mux_width, cfg->mux_height);
    if (cfg->mux_live_source) g_string_append(d, " live-source=true");
    if (cfg->gie_enabled) {
        g_string_append(d, " ! edgeinfer name=infer");
        add_str(d, "config-file-path", cfg->gie_config_file);
        if (cfg->gie_model_engine_file) add_str(d, "model-engine-file", cfg->gie_model_engine_file);
        g_string_append_printf(d, " batch-size=%d", cfg->gie_batch_size ? cfg->gie_batch_size : batch);
        if (cfg->gie_interval) g_string_append_printf(d, " interval=%d", cfg->gie_interval);
        if (cfg->gie_unique_id) g_string_append_printf(d, " unique-id=%d", cfg->gie_unique_id);
        guint threads, copies;
        ei_app_pipeline_infer_threads(&threads, &copies);
        g_string_append_printf(d, " threads=%u instances=%u", threads, copies);
    }
    if (cfg->osd_enabled) {
        g_string_append_printf(d, " ! edgeosd name=osd display-bbox=%s display-text=%s display-mask=%s",
                               cfg->osd_display_bbox ? "true" : "false", cfg->osd_display_text ? "true" : "false",
                               cfg->osd_display_mask ? "true" : "false");
        if (cfg->osd_border_width) g_string_append_printf(d, " border-width=%d", cfg->osd_border_width);
        /* text-size is deepstream's font size in pixels; edgeosd scales an 8-pixel font. */
        if (cfg->osd_text_size) {
            int scale = (cfg->osd_text_size + 4) / 8;
            g_string_append_printf(d, " text-scale=%d", scale < 1 ? 1 : scale);
        }
    }
    if (cfg->jsonl_output) {
        g_string_append(d, " ! edgejson name=json");
        add_str(d, "location", cfg->jsonl_output);
    }
    g_string_append(d, " ! edgedemux name=demux  ");
}

static void add_encoder(GString * d, const ei_app_sink * k) {
    if (k->codec == EI_APP_CODEC_MPEG4) {
        /* MPEG-4 part 2 (file sinks): libav's encoder, single-threaded by default; 1.4 ms a 768x432
         * frame against x264 ultrafast's 4.6 (CPU time, docs/app-config.md). Without a bitrate: a
         * constant quantizer 4 (pass=quant with qmin=qmax=4: its quantizer property has no effect
         * here): car-detection.mp4 at 0.34 Mbit/s, PSNR 48.3 dB. The rate control of this
         * gst-libav undershoots: bitrate=4000000 gives 0.13 Mbit/s there, PSNR 40.5 dB (its
         * quantizer at the coarsest, 31); a given bitrate is passed as is. */
        g_string_append_printf(d, " ! avenc_mpeg4 name=enc%d", k->sink_group);
        if (k->bitrate)
            g_string_append_printf(d, " bitrate=%d", k->bitrate);
        else
            g_string_append(d, " pass=quant qmin=4 qmax=4");
        if (k->iframeinterval) g_string_append_printf(d, " gop-size=%d", k->iframeinterval);
        return;
    }
    g_string_append_printf(d, " ! x%senc name=enc%d", k->codec == EI_APP_CODEC_H265 ? "265" : "264", k->sink_group);
    if (k->bitrate) {
        int kbit = k->bitrate / 1000; /* deepstream-app's bitrate is in bits/s */
        g_string_append_printf(d, " bitrate=%d", kbit < 1 ? 1 : kbit);
    }
    /* ultrafast: on a CPU the encoder competes with inference; it costs 4 ms a 768x432 frame
     * against 11 ms for veryfast (x264), at a somewhat larger file for the same quality. */
    g_string_append(d, " speed-preset=ultrafast tune=zerolatency");
    if (k->iframeinterval) g_string_append_printf(d, " key-int-max=%d", k->iframeinterval);
}

/* One sink's chain, from raw video (after its queue). */
static void add_sink(GString * d, const ei_app_sink * k) {
    const char * sync = k->sync ? "true" : "false";
    int          scale = k->width && k->height;
    switch (k->type) {
    case EI_APP_SINK_FAKE: g_string_append_printf(d, "fakesink name=sink%d sync=%s", k->sink_group, sync); break;
    case EI_APP_SINK_DISPLAY:
        g_string_append(d, "videoconvert");
        if (scale) g_string_append_printf(d, " ! videoscale ! video/x-raw,width=%d,height=%d", k->width, k->height);
        g_string_append_printf(d, " ! autovideosink name=sink%d sync=%s", k->sink_group, sync);
        break;
    case EI_APP_SINK_FILE:
    case EI_APP_SINK_UDP:
        g_string_append(d, "videoconvert");
        if (scale)
            g_string_append_printf(d, " ! videoscale ! video/x-raw,format=I420,width=%d,height=%d", k->width,
                                   k->height);
        else
            g_string_append(d, " ! video/x-raw,format=I420");
        add_encoder(d, k);
        if (k->type == EI_APP_SINK_FILE) {
            g_string_append_printf(d, " ! %sparse ! %s ! filesink name=sink%d",
                                   k->codec == EI_APP_CODEC_MPEG4 ? "mpeg4video" : codec_lower(k->codec),
                                   k->container == 2 ? "matroskamux" : "mp4mux", k->sink_group);
            add_str(d, "location", k->output_file);
            g_string_append_printf(d, " sync=%s", sync);
        } else {
            g_string_append_printf(d, " ! rtp%spay config-interval=1 pt=96 ! udpsink name=sink%d",
                                   codec_lower(k->codec), k->sink_group);
            add_str(d, "host", k->host);
            g_string_append_printf(d, " port=%d sync=%s async=false", k->udp_port, sync);
        }
        break;
    }
}

/* The sinks of one output, after `from` (no trailing " ! "); several sinks share a tee. */
static void add_sinks(GString * d, const ei_app_config * cfg, const char * from, const char * tee_name, int source_id) {
    int n = 0;
    for (int i = 0; i < cfg->n_sinks; i++) n += cfg->sinks[i].source_id == source_id;
    if (n == 1) g_string_append_printf(d, "%s ! queue ! ", from);
    if (n > 1) g_string_append_printf(d, "%s ! tee name=%s  ", from, tee_name);
    for (int i = 0; i < cfg->n_sinks; i++) {
        if (cfg->sinks[i].source_id != source_id) continue;
        if (n > 1) g_string_append_printf(d, "%s. ! queue ! ", tee_name);
        add_sink(d, &cfg->sinks[i]);
        g_string_append(d, "  ");
    }
}

static int tiles_shown(const ei_app_config * cfg) {
    int tiles = cfg->tiled_rows * cfg->tiled_columns;
    return cfg->n_streams < tiles ? cfg->n_streams : tiles;
}

static void add_tiler(GString * d, const ei_app_config * cfg) {
    int rows = cfg->tiled_rows, cols = cfg->tiled_columns;
    int tw = cfg->tiled_width / cols, th = cfg->tiled_height / rows;
    g_string_append(d, "compositor name=tiler background=black");
    for (int i = 0; i < tiles_shown(cfg); i++)
        g_string_append_printf(d, " sink_%d::xpos=%d sink_%d::ypos=%d sink_%d::width=%d sink_%d::height=%d", i,
                               (i % cols) * tw, i, (i / cols) * th, i, tw, i, th);
    /* The compositor's output continues on the same chain: its sinks follow. */
    g_string_append_printf(d, " ! video/x-raw,width=%d,height=%d", cfg->tiled_width, cfg->tiled_height);
    int n = 0;
    for (int i = 0; i < cfg->n_sinks; i++) n += cfg->sinks[i].source_id == -1;
    if (n == 1) g_string_append(d, " ! queue ! ");
    if (n > 1) g_string_append(d, " ! tee name=tiledtee  ");
    for (int i = 0; i < cfg->n_sinks; i++) {
        if (cfg->sinks[i].source_id != -1) continue;
        if (n > 1) g_string_append(d, "tiledtee. ! queue ! ");
        add_sink(d, &cfg->sinks[i]);
        g_string_append(d, "  ");
    }
}

/* Stream s leaves edgedemux once (a request pad): to the tiler, to its own sinks, or, for both,
 * through tee<s>; to fakesink unshown<s> when nothing shows it. */
static void add_stream_output(GString * d, const ei_app_config * cfg, int s, int tiled) {
    int direct = 0;
    for (int i = 0; i < cfg->n_sinks; i++) direct += cfg->sinks[i].source_id == s;
    char src[32], tee[32];
    g_snprintf(src, sizeof src, "demux.src_%d", s);
    g_snprintf(tee, sizeof tee, "tee%d", s);
    if (tiled && direct) {
        g_string_append_printf(d, "%s ! tee name=%s  %s. ! queue ! tiler.sink_%d  ", src, tee, tee, s);
        for (int i = 0; i < cfg->n_sinks; i++) {
            if (cfg->sinks[i].source_id != s) continue;
            g_string_append_printf(d, "%s. ! queue ! ", tee);
            add_sink(d, &cfg->sinks[i]);
            g_string_append(d, "  ");
        }
    } else if (tiled) {
        g_string_append_printf(d, "%s ! queue ! tiler.sink_%d  ", src, s);
    } else if (direct) {
        add_sinks(d, cfg, src, tee, s);
    } else {
        /* A stream no sink shows still needs a sink: the pipeline's EOS waits for every sink's, and
         * without one here the run would end with the shown streams (edgedemux ends each source's
         * pad on its own), cutting this one short (and its JSON Lines records). */
        g_string_append_printf(d, "%s ! fakesink name=unshown%d sync=false async=false  ", src, s);
    }
}

char * ei_app_pipeline_describe(const ei_app_config * cfg, ei_status ** err) {
    if (err) *err = NULL;
    if (!cfg || cfg->n_streams < 1 || cfg->n_sinks < 1) {
        if (err)
            *err =
                ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_app_pipeline_describe: %s",
                          !cfg ? "cfg is NULL" : "the config has no source or no sink (not from ei_app_config_parse)");
        return NULL;
    }
    GString * d = g_string_new(NULL);
    add_main(d, cfg);
    for (int i = 0; i < cfg->n_sources; i++)
        for (int j = 0; j < cfg->sources[i].n_streams; j++)
            add_source(d, cfg, &cfg->sources[i], cfg->sources[i].first_stream + j);
    int tiled_sinks = 0;
    for (int i = 0; i < cfg->n_sinks; i++) tiled_sinks += cfg->sinks[i].source_id == -1;
    if (tiled_sinks) add_tiler(d, cfg);
    for (int s = 0; s < cfg->n_streams; s++) add_stream_output(d, cfg, s, tiled_sinks && s < tiles_shown(cfg));
    while (d->len && d->str[d->len - 1] == ' ') g_string_truncate(d, d->len - 1);
    return g_string_free(d, FALSE);
}

ei_app_rtsp_server * ei_app_rtsp_servers(const ei_app_config * cfg, int * n) {
    *n = 0;
    ei_app_rtsp_server * out = g_new0(ei_app_rtsp_server, EI_APP_MAX_SINKS);
    for (int i = 0; cfg && i < cfg->n_sinks; i++) {
        const ei_app_sink * k = &cfg->sinks[i];
        if (k->type != EI_APP_SINK_UDP || k->rtsp_port <= 0) continue;
        ei_app_rtsp_server * r = &out[(*n)++];
        r->sink_group = k->sink_group;
        r->rtsp_port = k->rtsp_port;
        r->udp_port = k->udp_port;
        r->mount = "/ds-test";
        r->launch = g_strdup_printf("( udpsrc name=pay0 port=%d buffer-size=524288 caps=\"application/x-rtp, "
                                    "media=video, clock-rate=90000, encoding-name=%s, payload=96\" )",
                                    k->udp_port, codec_name(k->codec));
    }
    return out;
}

void ei_app_rtsp_servers_free(ei_app_rtsp_server * servers, int n) {
    for (int i = 0; servers && i < n; i++) g_free(servers[i].launch);
    g_free(servers);
}

typedef struct drop_state {
    guint64 count;
    guint   every;
} drop_state;

static GstPadProbeReturn drop_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    (void)info;
    drop_state * st = user;
    return st->count++ % st->every == 0 ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

gboolean ei_app_pipeline_install_drops(GstElement * pipeline, const ei_app_config * cfg) {
    if (!GST_IS_BIN(pipeline) || !cfg) return FALSE;
    for (int i = 0; i < cfg->n_sources; i++) {
        const ei_app_source * s = &cfg->sources[i];
        if (s->drop_frame_interval <= 1) continue;
        for (int j = 0; j < s->n_streams; j++) {
            char name[32];
            g_snprintf(name, sizeof name, "drop%d", s->first_stream + j);
            GstElement * e = gst_bin_get_by_name(GST_BIN(pipeline), name);
            if (!e) return FALSE;
            GstPad * pad = gst_element_get_static_pad(e, "src");
            gst_object_unref(e);
            if (!pad) return FALSE;
            drop_state * st = g_new0(drop_state, 1);
            st->every = (guint)s->drop_frame_interval;
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, drop_probe, st, g_free);
            gst_object_unref(pad);
        }
    }
    return TRUE;
}

void ei_app_stamp_reset(ei_app_stamp_state * st) {
    st->last_pts = GST_CLOCK_TIME_NONE;
    st->last_duration = GST_CLOCK_TIME_NONE;
}

gboolean ei_app_stamp_buffer(ei_app_stamp_state * st, GstBuffer ** b) {
    GstClockTime pts = GST_BUFFER_PTS(*b), dur = GST_BUFFER_DURATION(*b);
    if (!GST_CLOCK_TIME_IS_VALID(pts)) {
        GstClockTime step = GST_CLOCK_TIME_IS_VALID(dur) ? dur : st->last_duration;
        if (!GST_CLOCK_TIME_IS_VALID(st->last_pts) || !GST_CLOCK_TIME_IS_VALID(step) || step == 0) {
            st->dropped++;
            return FALSE;
        }
        pts = st->last_pts + step;
        *b = gst_buffer_make_writable(*b);
        GST_BUFFER_PTS(*b) = pts;
        st->stamped++;
    }
    st->last_pts = pts;
    if (GST_CLOCK_TIME_IS_VALID(dur)) st->last_duration = dur;
    return TRUE;
}

static GstPadProbeReturn stamp_probe(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    ei_app_stamp_state * st = user;
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_BOTH) {
        GstEventType t = GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info));
        if (t == GST_EVENT_SEGMENT || t == GST_EVENT_FLUSH_STOP) ei_app_stamp_reset(st);
        return GST_PAD_PROBE_OK;
    }
    GstBuffer * b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!ei_app_stamp_buffer(st, &b)) return GST_PAD_PROBE_DROP;
    GST_PAD_PROBE_INFO_DATA(info) = b;
    return GST_PAD_PROBE_OK;
}

gboolean ei_app_pipeline_install_stamps(GstElement * pipeline, const ei_app_config * cfg) {
    if (!GST_IS_BIN(pipeline) || !cfg) return FALSE;
    GstElement * mux = gst_bin_get_by_name(GST_BIN(pipeline), "mux");
    if (!mux) return FALSE;
    gboolean ok = TRUE;
    for (int i = 0; ok && i < cfg->n_streams; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "sink_%d", i);
        GstPad * pad = gst_element_get_static_pad(mux, name);
        if (!pad) {
            ok = FALSE;
            break;
        }
        ei_app_stamp_state * st = g_new0(ei_app_stamp_state, 1);
        ei_app_stamp_reset(st);
        gst_pad_add_probe(
            pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH,
            stamp_probe, st, g_free);
        gst_object_unref(pad);
    }
    gst_object_unref(mux);
    return ok;
}

/* deep-element-added of a source's decoding bin: libav video decoders get max-threads. */
static void on_decoder_added(GstBin * bin, GstBin * sub_bin, GstElement * element, gpointer user) {
    (void)bin;
    (void)sub_bin;
    GstElementFactory * f = gst_element_get_factory(element);
    const char *        name = f ? GST_OBJECT_NAME(f) : NULL;
    const char *        klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : NULL;
    if (!name || !g_str_has_prefix(name, "avdec_") || !klass || !strstr(klass, "Video")) return;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(element), "max-threads"))
        g_object_set(element, "max-threads", GPOINTER_TO_INT(user), NULL);
}

/* avenc_mpeg4's output timestamps. With gst-libav 1.22.0 over libavcodec 59 (Debian 12) every
 * buffer avenc_mpeg4 pushes has PTS = DTS = 2^63 ns, whatever came in (avenc_mjpeg, avenc_h263p are
 * right; ffmpeg's own mpeg4 encoder gives the right packet times), and mp4mux refuses them ("Buffer
 * has no PTS"). The encoder makes one packet per frame, in order (no B-frames: max-bframes=0, its
 * default), so each output buffer takes the time of the oldest input frame not yet out, mapped
 * through the two segments by running time. With a right encoder this changes nothing. */
typedef struct frame_time {
    GstClockTime running_time, duration;
} frame_time;

typedef struct enc_times {
    GMutex     lock;
    GQueue     pending; /* frame_time of each frame in, oldest first */
    GstSegment in, out;
} enc_times;

static void enc_times_free(gpointer p) {
    enc_times * t = p;
    g_queue_clear_full(&t->pending, g_free);
    g_mutex_clear(&t->lock);
    g_free(t);
}

static void enc_times_track_segment(GstPadProbeInfo * info, GstSegment * seg, enc_times * t, gboolean sink) {
    GstEvent * ev = GST_PAD_PROBE_INFO_EVENT(info);
    g_mutex_lock(&t->lock);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) gst_event_copy_segment(ev, seg);
    if (sink && GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) g_queue_clear_full(&t->pending, g_free);
    g_mutex_unlock(&t->lock);
}

static GstPadProbeReturn enc_times_in(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    enc_times * t = user;
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_BOTH) {
        enc_times_track_segment(info, &t->in, t, TRUE);
        return GST_PAD_PROBE_OK;
    }
    GstBuffer *  b = GST_PAD_PROBE_INFO_BUFFER(info);
    frame_time * f = g_new(frame_time, 1);
    g_mutex_lock(&t->lock);
    f->running_time = gst_segment_to_running_time(&t->in, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
    f->duration = GST_BUFFER_DURATION(b);
    g_queue_push_tail(&t->pending, f);
    g_mutex_unlock(&t->lock);
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn enc_times_out(GstPad * pad, GstPadProbeInfo * info, gpointer user) {
    (void)pad;
    enc_times * t = user;
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_BOTH) {
        enc_times_track_segment(info, &t->out, t, FALSE);
        return GST_PAD_PROBE_OK;
    }
    g_mutex_lock(&t->lock);
    frame_time * f = g_queue_pop_head(&t->pending);
    if (f) {
        GstClockTime pts = GST_CLOCK_TIME_IS_VALID(f->running_time)
                               ? gst_segment_position_from_running_time(&t->out, GST_FORMAT_TIME, f->running_time)
                               : GST_CLOCK_TIME_NONE;
        GstBuffer *  b = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
        GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = pts;
        GST_BUFFER_DURATION(b) = f->duration;
        GST_PAD_PROBE_INFO_DATA(info) = b;
        g_free(f);
    }
    g_mutex_unlock(&t->lock);
    return GST_PAD_PROBE_OK;
}

/* The timestamp repair on the MPEG-4 encoder enc (a no-op with a right encoder). */
static void install_mpeg4_times(GstElement * enc) {
    enc_times * t = g_new0(enc_times, 1);
    g_mutex_init(&t->lock);
    g_queue_init(&t->pending);
    gst_segment_init(&t->in, GST_FORMAT_TIME);
    gst_segment_init(&t->out, GST_FORMAT_TIME);
    g_object_set_data_full(G_OBJECT(enc), "ei-mpeg4-times", t, enc_times_free); /* freed with enc */
    GstPad * sink = gst_element_get_static_pad(enc, "sink");
    GstPad * src = gst_element_get_static_pad(enc, "src");
    gst_pad_add_probe(sink,
                      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH,
                      enc_times_in, t, NULL);
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, enc_times_out, t, NULL);
    gst_object_unref(sink);
    gst_object_unref(src);
}

gboolean ei_app_pipeline_install_codecs(GstElement * pipeline, const ei_app_config * cfg) {
    if (!GST_IS_BIN(pipeline) || !cfg) return FALSE;
    for (int i = 0; i < cfg->n_sinks; i++) {
        if (cfg->sinks[i].codec != EI_APP_CODEC_MPEG4 || cfg->sinks[i].type != EI_APP_SINK_FILE) continue;
        char name[32];
        g_snprintf(name, sizeof name, "enc%d", cfg->sinks[i].sink_group);
        GstElement * enc = gst_bin_get_by_name(GST_BIN(pipeline), name);
        if (!enc) return FALSE;
        install_mpeg4_times(enc);
        gst_object_unref(enc);
    }
    for (int i = 0; i < cfg->n_sources; i++) {
        const ei_app_source * s = &cfg->sources[i];
        int                   threads = ei_app_pipeline_decoder_threads(cfg, s);
        /* URI sources decode inside uridecodebin src<I>, RTSP ones in decodebin dec<I>; UDP's avdec
         * has the property in the description, cameras and image folders use no libav decoder. */
        const char * stem = s->type == EI_APP_SOURCE_URI || s->type == EI_APP_SOURCE_MULTI_URI ? "src"
                            : s->type == EI_APP_SOURCE_RTSP                                    ? "dec"
                                                                                               : NULL;
        if (!stem || threads <= 0) continue;
        for (int j = 0; j < s->n_streams; j++) {
            char name[32];
            g_snprintf(name, sizeof name, "%s%d", stem, s->first_stream + j);
            GstElement * e = gst_bin_get_by_name(GST_BIN(pipeline), name);
            gboolean     bin = e && GST_IS_BIN(e);
            if (bin) g_signal_connect(e, "deep-element-added", G_CALLBACK(on_decoder_added), GINT_TO_POINTER(threads));
            if (e) gst_object_unref(e);
            if (!bin) return FALSE;
        }
    }
    return TRUE;
}
