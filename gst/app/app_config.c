/* The application config: deepstream-app's groups and keys read with the inference config's typed
 * getters (src/config/config_values.c: every message names file, group, key and value), the name
 * checks (unknown group or key -> warning with the nearest known name; deepstream keys with no
 * meaning on a CPU -> warning saying why) and the cross-group checks (docs/app-config.md). */
#include "app_config.h"

#include <string.h>

#include "config/config_internal.h"

#define APP   "application"
#define MUX   "streammux"
#define GIE   "primary-gie"
#define OSD   "osd"
#define TILED "tiled-display"
#define TESTS "tests"
#define LIST  "source-list"
#define ATTR  "source-attr-all"

/* ---- the names the config knows ---------------------------------------------------------------- */

/* A trailing '*' in a name matches any suffix (bbox-border-color0, msg-conv-config). */
typedef ei_cfg_ignored_key ignored_key;

typedef struct group_keys {
    const char *         group; /* the stem for numbered groups ("source", "sink") */
    int                  numbered;
    const char * const * known;
    const ignored_key *  ignored;
} group_keys;

#define GPU     "there is no GPU: edgeinfer runs on the CPU"
#define NVBUF   "there is no GPU memory: frames live in system memory"
#define DEC     "a hardware decoder setting; decoding is GStreamer's software decoders"
#define ENC     "a hardware encoder setting; edgeinfer encodes with x264enc/x265enc/avenc_mpeg4 on the CPU"
#define MSG     "message brokers are not supported; use jsonl-output-file"
#define SR      "smart recording is not supported"
#define DISPLAY "a display-plane setting of Jetson/X11 sinks; type=2 uses autovideosink"
#define COLORS  "drawing colours come from edgeinfer's palette"
#define TRACK   "tracking is not supported"

static const char * const app_keys[] = {"enable-perf-measurement", "perf-measurement-interval-sec", "jsonl-output-file",
                                        NULL};
static const ignored_key  app_ignored[] = {
     {"gie-kitti-output-dir", "KITTI output is not supported; use jsonl-output-file"},
     {"kitti-track-output-dir", TRACK},
     {"reid-track-output-dir", TRACK},
     {"terminated-track-output-dir", TRACK},
     {"shadow-track-output-dir", TRACK},
     {"async-process", "edgeinfer always overlaps decoding and inference"},
     {NULL, NULL},
};

static const char * const source_keys[] = {"enable", "type", "uri", "num-sources", "camera-width", "camera-height",
                                           "camera-fps-n", "camera-fps-d", "camera-v4l2-dev-node",
                                           "drop-frame-interval", "latency", "rtsp-reconnect-interval-sec",
                                           "rtsp-reconnect-attempts", "select-rtp-protocol", "file-loop",
                                           /* edgeinfer */
                                           "udp-port", "codec", "dir", "decoder-threads", NULL};
static const ignored_key  source_ignored[] = {
     {"gpu-id", GPU},
     {"nvbuf-memory-type", NVBUF},
     {"cudadec-memtype", DEC},
     {"num-extra-surfaces", DEC},
     {"intra-decode-enable", DEC},
     {"low-latency-mode", DEC},
     {"dec-skip-frames", DEC},
     {"camera-id", "a deepstream-app source index; source ids follow the [sourceN] order"},
     {"camera-csi-sensor-id", "CSI cameras (type=5) are Jetson-only"},
     {"udp-buffer-size", "rtspsrc's default UDP buffer is used"},
     {"init-rtsp-reconnect-interval-sec", "reconnects back off from rtsp-reconnect-interval-sec"},
     {"smart-record", SR},
     {"smart-rec-*", SR},
     {"video-format", "decoded frames keep their format; edgemux accepts RGB, BGR, NV12 and I420"},
     {NULL, NULL},
};

static const char * const mux_keys[] = {"batch-size", "batched-push-timeout", "width", "height", "live-source", NULL};
static const ignored_key  mux_ignored[] = {
     {"gpu-id", GPU},
     {"nvbuf-memory-type", NVBUF},
     {"buffer-pool-size", NVBUF},
     {"compute-hw", "edgemux scales on the CPU (videoscale)"},
     {"interpolation-method", "edgemux scales on the CPU (videoscale)"},
     {"enable-padding", "frames are scaled to width x height without padding"},
     {"attach-sys-ts-as-ntp", "NTP timestamps are not attached"},
     {"attach-sys-ts", "NTP timestamps are not attached"},
     {"config-file", "the new nvstreammux's config file is not read; use batch-size and batched-push-timeout"},
     {"sync-inputs", "edgemux batches frames as they arrive"},
     {"max-latency", "edgemux batches frames as they arrive"},
     {"frame-num-reset-on-eos", "frame numbers count from 0 per source and are never reset"},
     {"frame-num-reset-on-stream-reset", "frame numbers count from 0 per source and are never reset"},
     {"frame-duration", "edgemux keeps each frame's timestamps"},
     {"drop-pipeline-eos", "the run ends when every source ended"},
     {"num-surfaces-per-frame", NVBUF},
     {"align-inputs-by-ntp", "NTP timestamps are not attached"},
     {NULL, NULL},
};

static const char * const gie_keys[] = {"enable",        "config-file", "model-engine-file", "batch-size", "interval",
                                        "gie-unique-id", NULL};
static const ignored_key  gie_ignored[] = {
     {"gpu-id", GPU},
     {"nvbuf-memory-type", NVBUF},
     {"labelfile-path", "labels come from the inference config's labelfile-path"},
     {"bbox-border-color*", COLORS},
     {"bbox-bg-color*", COLORS},
     {"plugin-type", "Triton (nvinferserver) is not supported; edgeinfer runs the inference config"},
     {"input-tensor-meta", "tensor input from metadata is not supported"},
     {"raw-output-generated-callback", "raw tensor callbacks are not supported"},
     {"infer-raw-output-dir", "raw tensor dumps are not supported"},
     {"operate-on-gie-id", "secondary inference is not supported"},
     {"operate-on-class-ids", "secondary inference is not supported"},
     {NULL, NULL},
};

static const char * const osd_keys[] = {"enable",       "border-width", "text-size", "display-text",
                                        "display-mask", "display-bbox", NULL};
static const ignored_key  osd_ignored[] = {
     {"gpu-id", GPU},
     {"nvbuf-memory-type", NVBUF},
     {"process-mode", "edgeosd draws on the CPU"},
     {"text-color", COLORS},
     {"text-bg-color", COLORS},
     {"font", "edgeosd draws text in its built-in bitmap font"},
     {"show-clock", "the clock overlay is not supported"},
     {"clock-x-offset", "the clock overlay is not supported"},
     {"clock-y-offset", "the clock overlay is not supported"},
     {"clock-text-size", "the clock overlay is not supported"},
     {"clock-color", "the clock overlay is not supported"},
     {"hw-blend-color-attr", "a hardware blending setting"},
     {NULL, NULL},
};

static const char * const tiled_keys[] = {"enable", "rows", "columns", "width", "height", NULL};
static const ignored_key  tiled_ignored[] = {
     {"gpu-id", GPU},
     {"nvbuf-memory-type", NVBUF},
     {"compute-hw", "the compositor scales on the CPU"},
     {"buffer-pool-size", NVBUF},
     {"square-seq-grid", "tiles are filled row by row in source id order"},
     {NULL, NULL},
};

static const char * const sink_keys[] = {
    "enable",         "type",        "sync", "source-id", "link-to-demux", "container", "codec",  "bitrate",
    "iframeinterval", "output-file", "host", "udp-port",  "rtsp-port",     "width",     "height", NULL};
static const ignored_key sink_ignored[] = {
    {"gpu-id", GPU},
    {"nvbuf-memory-type", NVBUF},
    {"enc-type", ENC},
    {"profile", ENC},
    {"sw-preset", "the encoder runs with speed-preset=ultrafast"},
    {"qos", "QoS events are left at the sink's default"},
    {"conn-id", DISPLAY},
    {"plane-id", DISPLAY},
    {"display-id", DISPLAY},
    {"overlay-id", DISPLAY},
    {"offset-x", DISPLAY},
    {"offset-y", DISPLAY},
    {"copy-meta", "metadata always travels with the frames"},
    {"udp-buffer-size", "udpsink's default buffer is used"},
    {"msg-conv-*", MSG},
    {"msg-broker-*", MSG},
    {"topic", MSG},
    {"disable-msgconv", MSG},
    {"new-api", MSG},
    {NULL, NULL},
};

/* [source-list]: deepstream-app's list of URIs, one source each, with [source-attr-all]'s attributes. */
static const char * const list_keys[] = {"num-source-bins", "list", NULL};
#define REST                                                                                                           \
    "nvmultiurisrcbin's REST API (sources added at run time) is not supported; the list's sources start with the run"
static const ignored_key list_ignored[] = {
    {"sensor-id-list", "sensor ids are not reported: a source's id is its place in list"},
    {"sensor-name-list", "sensor names are not reported: a source's id is its place in list"},
    {"use-nvmultiurisrcbin", REST},
    {"http-ip", REST},
    {"http-port", REST},
    {"stream-name-display", "stream names are not drawn"},
    {"max-batch-size", "the batch size is [streammux] batch-size (default: the number of sources)"},
    {"sgie-batch-size", "secondary inference is not supported"},
    {"extract-sei-type5-data", "SEI metadata is not extracted"},
    {"sei-uuid", "SEI metadata is not extracted"},
    {"low-latency-mode", DEC},
    {NULL, NULL},
};

static const char * const tests_keys[] = {"file-loop", NULL};
static const ignored_key  tests_ignored[] = {
     {"pipeline-recreate-sec", "the pipeline is built once per run"},
     {NULL, NULL},
};

static const group_keys known_groups[] = {
    {APP, 0, app_keys, app_ignored},
    {"source", 1, source_keys, source_ignored},
    {MUX, 0, mux_keys, mux_ignored},
    {GIE, 0, gie_keys, gie_ignored},
    {OSD, 0, osd_keys, osd_ignored},
    {TILED, 0, tiled_keys, tiled_ignored},
    {"sink", 1, sink_keys, sink_ignored},
    {TESTS, 0, tests_keys, tests_ignored},
    {LIST, 0, list_keys, list_ignored},
    {ATTR, 0, source_keys, source_ignored},
    {NULL, 0, NULL, NULL},
};

/* deepstream-app groups edgeinfer reads nothing from, with the reason. */
static const ignored_key ignored_groups[] = {
    {"tracker", TRACK},
    {"secondary-gie*", "secondary (per-object) inference is not supported"},
    {"secondary-preprocess*", "secondary (per-object) inference is not supported"},
    {"pre-process", "nvdspreprocess is not supported; pre-processing follows the inference config"},
    {"message-converter", MSG},
    {"message-consumer*", MSG},
    {"img-save", "saving object crops is not supported"},
    {"ds-example", "the dsexample plugin is not supported"},
    {"nvds-analytics", "nvdsanalytics is not supported"},
    {NULL, NULL},
};

static int ignored_match(const ignored_key * ig, const char * name) {
    size_t n = strlen(ig->name);
    if (n && ig->name[n - 1] == '*') return !strncmp(ig->name, name, n - 1);
    return !strcmp(ig->name, name);
}

static const ignored_key * find_ignored(const ignored_key * table, const char * name) {
    for (const ignored_key * ig = table; ig && ig->name; ig++)
        if (ignored_match(ig, name)) return ig;
    return NULL;
}

static void check_keys(ei_cfg_ctx * c, const char * group, const group_keys * gk) {
    gsize   n = 0;
    char ** keys = g_key_file_get_keys(c->kf, group, &n, NULL);
    for (gsize k = 0; keys && k < n; k++) {
        const char * key = keys[k];
        if (ei_cfg_listed(key, gk->known)) continue;
        const ignored_key * ig = find_ignored(gk->ignored, key);
        if (ig) {
            ei_cfg_warn(c, "[%s] %s is ignored: %s", group, key, ig->why);
            continue;
        }
        const char * near = ei_cfg_nearest(key, gk->known, gk->ignored);
        if (near)
            ei_cfg_warn(c, "[%s] unknown key '%s'; did you mean '%s'?", group, key, near);
        else
            ei_cfg_warn(c, "[%s] unknown key '%s'", group, key);
    }
    g_strfreev(keys);
}

/* "source3" -> 3 with stem "source"; -1 when name is not stem followed by a number. */
static int group_number(const char * name, const char * stem) {
    size_t ls = strlen(stem);
    if (strncmp(name, stem, ls) || !name[ls]) return -1;
    int32_t v = -1;
    if (strspn(name + ls, "0123456789") != strlen(name + ls) || ei_cfg_parse_int(name + ls, 0, 1000000, &v)) return -1;
    return v;
}

static const group_keys * find_group(const char * name) {
    for (const group_keys * g = known_groups; g->group; g++) {
        if (g->numbered ? group_number(name, g->group) >= 0 : !strcmp(name, g->group)) return g;
    }
    return NULL;
}

static void check_names(ei_cfg_ctx * c) {
    static const char * const stems[] = {APP, "source", MUX, GIE, OSD, TILED, "sink", TESTS, LIST, ATTR, NULL};
    gsize                     n = 0;
    char **                   names = g_key_file_get_groups(c->kf, &n);
    for (gsize g = 0; g < n; g++) {
        const char *       name = names[g];
        const group_keys * gk = find_group(name);
        if (gk) {
            check_keys(c, name, gk);
            continue;
        }
        const ignored_key * ig = find_ignored(ignored_groups, name);
        if (ig) {
            ei_cfg_warn(c, "[%s] is ignored: %s", name, ig->why);
            continue;
        }
        /* "sorce2" -> [source2]: compare what precedes a trailing number with the numbered stems. */
        size_t len = strlen(name), digits = 0;
        while (digits < len && g_ascii_isdigit(name[len - 1 - digits])) digits++;
        char *       stem = g_strndup(name, len - digits);
        const char * near = ei_cfg_nearest(stem, stems, NULL);
        if (near && digits && (!strcmp(near, "source") || !strcmp(near, "sink")))
            ei_cfg_warn(c, "unknown group [%s] ignored; did you mean [%s%s]?", name, near, name + len - digits);
        else if (near && !digits)
            ei_cfg_warn(c, "unknown group [%s] ignored; did you mean [%s]?", name, near);
        else if (near && digits)
            ei_cfg_warn(c, "unknown group [%s] ignored; did you mean [%s]?", name, near);
        else
            ei_cfg_warn(c,
                        "unknown group [%s] ignored (edgeinfer reads [application], [sourceN], [streammux], "
                        "[primary-gie], [osd], [tiled-display], [sinkN], [tests], [source-list] and [source-attr-all])",
                        name);
        g_free(stem);
    }
    g_strfreev(names);
}

/* ---- values ------------------------------------------------------------------------------------- */

static ei_status * bad(ei_cfg_ctx * c, const char * group, const char * key, const char * why) {
    char *      v = ei_cfg_raw(c, group, key);
    ei_status * st = ei_cfg_bad_value(c, group, key, v ? v : "", "%s", why);
    g_free(v);
    return st;
}

static ei_status * get_int(ei_cfg_ctx * c, const char * group, const char * key, int lo, int hi, int * out) {
    int32_t v = *out;
    EI_TRY(ei_cfg_get_int(c, group, key, lo, hi, &v, NULL));
    *out = v;
    return NULL;
}

static ei_status * get_bool(ei_cfg_ctx * c, const char * group, const char * key, bool * out) {
    int32_t v = *out;
    EI_TRY(ei_cfg_get_bool(c, group, key, &v, NULL));
    *out = v != 0;
    return NULL;
}

/* A path key resolved against the config's folder (inputs, as deepstream-app resolves them). */
static ei_status * get_path(ei_cfg_ctx * c, const char * dir, const char * group, const char * key, char ** out) {
    char * v = NULL;
    EI_TRY(ei_cfg_get_string(c, group, key, &v, NULL));
    if (!v) return NULL;
    g_free(*out);
    *out = g_canonicalize_filename(v, dir);
    g_free(v);
    return NULL;
}

/* uri: "scheme://..." is kept, except file:// with a relative path (deepstream-app's samples write
 * file://../../streams/x.mp4), which, like a plain path, is resolved against the config's folder. */
static ei_status * resolve_uri(ei_cfg_ctx * c, const char * dir, const char * group, const char * key, const char * v,
                               char ** out) {
    const char * path = NULL;
    if (!g_ascii_strncasecmp(v, "file://", 7)) {
        if (v[7] != '/') path = v + 7;
    } else if (!strstr(v, "://")) {
        path = v;
    }
    ei_status * st = NULL;
    if (path) {
        if (!path[0]) {
            st = ei_cfg_bad_value(c, group, key, v, "no path after file://");
        } else {
            char *   abs = g_canonicalize_filename(path, dir);
            GError * err = NULL;
            char *   uri = g_filename_to_uri(abs, NULL, &err);
            if (!uri) {
                st = ei_cfg_bad_value(c, group, key, v, "not a usable path: %s", err->message);
                g_error_free(err);
            } else {
                g_free(*out);
                *out = uri;
            }
            g_free(abs);
        }
    } else {
        char * scheme = g_uri_parse_scheme(v);
        if (!scheme)
            st = ei_cfg_bad_value(c, group, key, v,
                                  "not a URI (expected scheme://..., e.g. file:///x.mp4 or rtsp://host/path)");
        else {
            g_free(*out);
            *out = g_strdup(v);
        }
        g_free(scheme);
    }
    return st;
}

static ei_status * get_uri(ei_cfg_ctx * c, const char * dir, const char * group, char ** out) {
    char * v = NULL;
    EI_TRY(ei_cfg_get_string(c, group, "uri", &v, NULL));
    if (!v) return NULL;
    ei_status * st = resolve_uri(c, dir, group, "uri", v, out);
    g_free(v);
    return st;
}

static const ei_cfg_enum source_types[] = {{"camera", EI_APP_SOURCE_CAMERA_V4L2},
                                           {"uri", EI_APP_SOURCE_URI},
                                           {"multi-uri", EI_APP_SOURCE_MULTI_URI},
                                           {"rtsp", EI_APP_SOURCE_RTSP},
                                           {"udp", EI_APP_SOURCE_UDP_RTP},
                                           {"image-dir", EI_APP_SOURCE_IMAGE_DIR},
                                           {NULL, 0}};
static const ei_cfg_enum codecs[] = {{"h264", EI_APP_CODEC_H264}, {"h265", EI_APP_CODEC_H265}, {NULL, 0}};
/* File sinks also write MPEG-4 part 2 (deepstream-app's codec=3, file sinks only). */
static const ei_cfg_enum file_codecs[] = {
    {"h264", EI_APP_CODEC_H264}, {"h265", EI_APP_CODEC_H265}, {"mpeg4", EI_APP_CODEC_MPEG4}, {NULL, 0}};
static const ei_cfg_enum rtp_protocols[] = {{"udp+tcp", 0}, {"tcp", 4}, {NULL, 0}};
static const ei_cfg_enum sink_types[] = {{"fake", EI_APP_SINK_FAKE},
                                         {"display", EI_APP_SINK_DISPLAY},
                                         {"file", EI_APP_SINK_FILE},
                                         {"udp", EI_APP_SINK_UDP},
                                         {NULL, 0}};
static const ei_cfg_enum containers[] = {{"mp4", 1}, {"mkv", 2}, {NULL, 0}};

/* An enum whose value may be one deepstream-app knows (by number or by refused_name) but edgeinfer
 * refuses here, with why ("... is not supported"); the message goes on with the supported values. */
static ei_status * get_enum_refusing(ei_cfg_ctx * c, const char * group, const char * key, const ei_cfg_enum * table,
                                     int refused_value, const char * refused_name, const char * why, int * out) {
    char *  v = ei_cfg_raw(c, group, key);
    int32_t num;
    if (v && ((ei_cfg_parse_int(v, INT32_MIN, INT32_MAX, &num) == 0 && num == refused_value) ||
              !g_ascii_strcasecmp(g_strstrip(v), refused_name))) {
        GString * list = g_string_new(NULL);
        for (const ei_cfg_enum * e = table; e->name; e++)
            g_string_append_printf(list, "%s%d (%s)", e == table ? "" : ", ", e->value, e->name);
        ei_status * st = ei_cfg_bad_value(c, group, key, v, "%s; supported: %s", why, list->str);
        g_string_free(list, TRUE);
        g_free(v);
        return st;
    }
    g_free(v);
    return ei_cfg_get_enum(c, group, key, table, out, NULL);
}

static void source_defaults(ei_app_source * s, int number, bool loop_all) {
    s->source_group = number;
    s->num_sources = 1;
    s->latency_ms = 100;
    s->rtsp_reconnect_interval_sec = 10;
    s->rtsp_reconnect_attempts = -1;
    s->codec = EI_APP_CODEC_H264;
    s->udp_port = 5000;
    s->file_loop = loop_all;
    s->decoder_threads = -1;
}

/* The keys of [sourceN] (or [source-attr-all]) present in group g, over the values s has. type is
 * read when with_type; *type_present says whether it was there. */
static ei_status * read_source_keys(ei_cfg_ctx * c, const char * dir, const char * g, ei_app_source * s, bool with_type,
                                    int * type_present) {
    int type = s->type, present = 0;
    *type_present = 0;
    char *  tv = with_type ? ei_cfg_raw(c, g, "type") : NULL;
    int32_t num = 0;
    if (tv && !ei_cfg_parse_int(tv, INT32_MIN, INT32_MAX, &num) && (num == 5 || num == 6)) {
        ei_status * st = ei_cfg_bad_value(c, g, "type", tv,
                                          "%s is not supported; supported: 1 (camera, V4L2), 2 (uri), 3 (multi-uri), "
                                          "4 (rtsp), 100 (udp: RTP H.264/H.265), 101 (image-dir)",
                                          num == 5 ? "a CSI camera (Jetson-only)" : "nvmultiurisrcbin");
        g_free(tv);
        return st;
    }
    g_free(tv);
    if (with_type) EI_TRY(ei_cfg_get_enum(c, g, "type", source_types, &type, &present));
    *type_present = present;
    s->type = (ei_app_source_type)type;
    EI_TRY(get_uri(c, dir, g, &s->uri));
    EI_TRY(get_int(c, g, "num-sources", 1, EI_APP_MAX_SOURCES, &s->num_sources));
    EI_TRY(get_int(c, g, "camera-width", 0, 16384, &s->camera_width));
    EI_TRY(get_int(c, g, "camera-height", 0, 16384, &s->camera_height));
    EI_TRY(get_int(c, g, "camera-fps-n", 0, 1000, &s->camera_fps_n));
    if (!s->camera_fps_d) s->camera_fps_d = 1;
    EI_TRY(get_int(c, g, "camera-fps-d", 1, 1000, &s->camera_fps_d));
    EI_TRY(ei_cfg_get_string(c, g, "camera-v4l2-dev-node", &s->camera_v4l2_dev_node, NULL));
    if (s->camera_v4l2_dev_node && !strchr(s->camera_v4l2_dev_node, '/')) {
        /* deepstream-app writes the number only: camera-v4l2-dev-node=0 -> /dev/video0 */
        int32_t n = 0;
        if (ei_cfg_parse_int(s->camera_v4l2_dev_node, 0, 1000, &n))
            return bad(c, g, "camera-v4l2-dev-node", "expected a device number (0 for /dev/video0) or a path");
        g_free(s->camera_v4l2_dev_node);
        s->camera_v4l2_dev_node = g_strdup_printf("/dev/video%d", (int)n);
    }
    if (!s->camera_v4l2_dev_node) s->camera_v4l2_dev_node = g_strdup("/dev/video0");
    EI_TRY(get_int(c, g, "drop-frame-interval", 0, 1000, &s->drop_frame_interval));
    EI_TRY(get_int(c, g, "latency", 0, 60000, &s->latency_ms));
    EI_TRY(get_int(c, g, "rtsp-reconnect-interval-sec", 0, 3600, &s->rtsp_reconnect_interval_sec));
    EI_TRY(get_int(c, g, "rtsp-reconnect-attempts", -1, INT32_MAX, &s->rtsp_reconnect_attempts));
    EI_TRY(ei_cfg_get_enum(c, g, "select-rtp-protocol", rtp_protocols, &s->select_rtp_protocol, NULL));
    EI_TRY(get_bool(c, g, "file-loop", &s->file_loop));
    EI_TRY(get_int(c, g, "udp-port", 1, 65535, &s->udp_port));
    int codec = s->codec;
    EI_TRY(get_enum_refusing(c, g, "codec", codecs, EI_APP_CODEC_MPEG4, "mpeg4",
                             "MPEG-4 part 2 (codec=3) is not supported", &codec));
    s->codec = (ei_app_codec)codec;
    EI_TRY(get_path(c, dir, g, "dir", &s->dir));
    EI_TRY(get_int(c, g, "decoder-threads", 0, 256, &s->decoder_threads));
    return NULL;
}

/* What a source needs for its type, once every group that sets it was read. */
static ei_status * check_source(ei_cfg_ctx * c, const char * g, ei_app_source * s) {
    int type = s->type;
    switch (s->type) {
    case EI_APP_SOURCE_URI:
    case EI_APP_SOURCE_MULTI_URI:
    case EI_APP_SOURCE_RTSP:
        if (!s->uri)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] uri is required for type=%d", c->file, g, type);
        if (s->type == EI_APP_SOURCE_RTSP && g_ascii_strncasecmp(s->uri, "rtsp", 4))
            return ei_cfg_bad_value(c, g, "uri", s->uri, "type=4 (rtsp) needs an rtsp:// or rtsps:// URI");
        break;
    case EI_APP_SOURCE_IMAGE_DIR:
        if (!s->dir)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] dir is required for type=101 (image-dir)", c->file, g);
        break;
    default: break;
    }
    s->n_streams = s->type == EI_APP_SOURCE_MULTI_URI ? s->num_sources : 1;
    bool file =
        s->type == EI_APP_SOURCE_IMAGE_DIR || ((s->type == EI_APP_SOURCE_URI || s->type == EI_APP_SOURCE_MULTI_URI) &&
                                               s->uri && !g_ascii_strncasecmp(s->uri, "file:", 5));
    if (!file && s->file_loop && g_key_file_has_key(c->kf, g, "file-loop", NULL))
        ei_cfg_warn(c, "[%s] file-loop is ignored: it applies to file:// URIs (type=2, 3) and image folders (type=101)",
                    g);
    if (s->type != EI_APP_SOURCE_MULTI_URI && g_key_file_has_key(c->kf, g, "num-sources", NULL))
        ei_cfg_warn(c, "[%s] num-sources is ignored: it applies to type=3 (multi-uri) only", g);
    return NULL;
}

static ei_status * read_source(ei_cfg_ctx * c, const char * dir, const char * g, int number, ei_app_source * s,
                               bool loop_all) {
    source_defaults(s, number, loop_all);
    int present = 0;
    EI_TRY(read_source_keys(c, dir, g, s, true, &present));
    if (!present)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] type is required: 1 (camera), 2 (uri), 3 (multi-uri), 4 (rtsp), 100 (udp), 101 "
                         "(image-dir)",
                         c->file, g);
    return check_source(c, g, s);
}

static ei_status * read_sink(ei_cfg_ctx * c, const char * g, int number, ei_app_sink * k) {
    k->sink_group = number;
    k->codec = EI_APP_CODEC_H264;
    k->container = 1;
    k->udp_port = 5400;
    int     type = 0, present = 0;
    char *  tv = ei_cfg_raw(c, g, "type");
    int32_t num = 0;
    if (tv && !ei_cfg_parse_int(tv, INT32_MIN, INT32_MAX, &num) && num >= 5 && num <= 7) {
        static const char * const what[] = {"an overlay sink (type=5, Jetson-only)", "a message broker sink (type=6)",
                                            "a sink of type=7"};
        ei_status *               st = ei_cfg_bad_value(c, g, "type", tv,
                                                        "%s is not supported; supported: 1 (fake), 2 (display), 3 (file), 4 (udp: "
                                                                      "RTP streaming, with rtsp-port an RTSP server)",
                                                        what[num - 5]);
        g_free(tv);
        return st;
    }
    g_free(tv);
    EI_TRY(ei_cfg_get_enum(c, g, "type", sink_types, &type, &present));
    if (!present)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: [%s] type is required: 1 (fake), 2 (display), 3 (file), 4 (udp)", c->file, g);
    k->type = (ei_app_sink_type)type;
    k->sync = k->type == EI_APP_SINK_DISPLAY;
    EI_TRY(get_bool(c, g, "sync", &k->sync));
    int     has_source_id = 0;
    int32_t sid = 0;
    EI_TRY(ei_cfg_get_int(c, g, "source-id", 0, EI_APP_MAX_SOURCES - 1, &sid, &has_source_id));
    k->source_id = sid;
    EI_TRY(get_bool(c, g, "link-to-demux", &k->link_to_demux));
    EI_TRY(ei_cfg_get_enum(c, g, "container", containers, &k->container, NULL));
    int codec = k->codec;
    if (k->type == EI_APP_SINK_UDP)
        EI_TRY(get_enum_refusing(c, g, "codec", codecs, EI_APP_CODEC_MPEG4, "mpeg4",
                                 "MPEG-4 part 2 (codec=3) is for file sinks (type=3) only, as in deepstream-app; "
                                 "type=4 (udp) streams H.264 or H.265",
                                 &codec));
    else
        EI_TRY(ei_cfg_get_enum(c, g, "codec", file_codecs, &codec, NULL));
    k->codec = (ei_app_codec)codec;
    EI_TRY(get_int(c, g, "bitrate", 0, INT32_MAX, &k->bitrate));
    EI_TRY(get_int(c, g, "iframeinterval", 0, 100000, &k->iframeinterval));
    EI_TRY(ei_cfg_get_string(c, g, "output-file", &k->output_file, NULL));
    EI_TRY(ei_cfg_get_string(c, g, "host", &k->host, NULL));
    if (!k->host) k->host = g_strdup("127.0.0.1");
    EI_TRY(get_int(c, g, "udp-port", 1, 65535, &k->udp_port));
    EI_TRY(get_int(c, g, "rtsp-port", 0, 65535, &k->rtsp_port));
    EI_TRY(get_int(c, g, "width", 0, 16384, &k->width));
    EI_TRY(get_int(c, g, "height", 0, 16384, &k->height));
    if (k->type == EI_APP_SINK_FILE && !k->output_file)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] output-file is required for type=3 (file)", c->file, g);
    if (k->rtsp_port && k->rtsp_port == k->udp_port)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] rtsp-port and udp-port are both %d: they must differ",
                         c->file, g, k->rtsp_port);
    if (k->rtsp_port && k->type != EI_APP_SINK_UDP)
        ei_cfg_warn(c, "[%s] rtsp-port is ignored: it applies to type=4 (udp) only", g);
    return NULL;
}

/* [sourceN] / [sinkN] groups in N order. */
typedef struct numbered {
    int          number;
    const char * name;
} numbered;

static int cmp_numbered(const void * a, const void * b) {
    const numbered *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

static numbered * numbered_groups(char ** names, gsize n, const char * stem, int * count) {
    numbered * out = g_new0(numbered, n + 1);
    int        k = 0;
    for (gsize i = 0; i < n; i++) {
        int num = group_number(names[i], stem);
        if (num >= 0) out[k].number = num, out[k].name = names[i], k++;
    }
    qsort(out, (size_t)k, sizeof *out, cmp_numbered);
    *count = k;
    return out;
}

static ei_status * group_enabled(ei_cfg_ctx * c, const char * g, bool * enabled) {
    *enabled = true; /* a group that is present is on unless it says enable=0 */
    return get_bool(c, g, "enable", enabled);
}

static void source_clear(ei_app_source * s) {
    g_free(s->uri);
    g_free(s->dir);
    g_free(s->camera_v4l2_dev_node);
    memset(s, 0, sizeof *s);
}

/* One entry of [source-list] list, deepstream-app's way: file://PATH (relative to the config's
 * folder) or a plain path -> type 2; rtsp:// or rtsps:// -> type 4; usb:N -> type 1 (/dev/videoN);
 * csi:N refused (Jetson-only); any other scheme:// -> type 2 (uridecodebin). */
static ei_status * list_entry(ei_cfg_ctx * c, const char * dir, const char * v, ei_app_source * s) {
    if (!v[0]) return ei_cfg_bad_value(c, LIST, "list", v, "an empty entry (URIs are separated by ';')");
    int32_t n = 0;
    if (!g_ascii_strncasecmp(v, "usb:", 4) || !g_ascii_strncasecmp(v, "csi:", 4)) {
        if (!g_ascii_strncasecmp(v, "csi:", 4))
            return ei_cfg_bad_value(c, LIST, "list", v, "a CSI camera (csi:N) is Jetson-only; use usb:N (V4L2)");
        if (ei_cfg_parse_int(v + 4, 0, 1000, &n))
            return ei_cfg_bad_value(c, LIST, "list", v, "expected usb:N with N the V4L2 device number (/dev/videoN)");
        s->type = EI_APP_SOURCE_CAMERA_V4L2;
        g_free(s->camera_v4l2_dev_node);
        s->camera_v4l2_dev_node = g_strdup_printf("/dev/video%d", (int)n);
        return NULL;
    }
    s->type = !g_ascii_strncasecmp(v, "rtsp://", 7) || !g_ascii_strncasecmp(v, "rtsps://", 8) ? EI_APP_SOURCE_RTSP
                                                                                              : EI_APP_SOURCE_URI;
    return resolve_uri(c, dir, LIST, "list", v, &s->uri);
}

/* [source-list] (deepstream-app): one source per entry of list, each with the keys of
 * [source-attr-all], then those of [sourceK] when present (K = the entry's place: deepstream-app's
 * per-source overrides; enable=0 there drops the entry). Source ids follow the list. */
static ei_status * read_source_list(ei_cfg_ctx * c, const char * dir, char ** names, gsize n, ei_app_config * cfg,
                                    bool loop_all) {
    gsize    nuri = 0;
    GError * err = NULL;
    char **  list = g_key_file_get_string_list(c->kf, LIST, "list", &nuri, &err);
    if (!list) {
        ei_status * st =
            err && g_error_matches(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
                ? ei_errorf(EI_CODE_INVALID_ARGUMENT,
                            "%s: [%s] list is required: the sources' URIs separated by ';' (file://, rtsp://, usb:N "
                            "or a path)",
                            c->file, LIST)
                : ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] list: %s", c->file, LIST,
                            err ? err->message : "unreadable");
        if (err) g_error_free(err);
        return st;
    }
    int         bins = 0, has_bins = 0;
    int32_t     b = 0;
    ei_status * st = ei_cfg_get_int(c, LIST, "num-source-bins", 1, EI_APP_MAX_SOURCES, &b, &has_bins);
    bins = b;
    if (!st && nuri == 0) st = ei_cfg_bad_value(c, LIST, "list", "", "no URI (URIs are separated by ';')");
    if (!st && nuri > EI_APP_MAX_SOURCES)
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] list has %u URIs: at most %d sources", c->file, LIST,
                       (unsigned)nuri, EI_APP_MAX_SOURCES);
    if (!st && has_bins && (gsize)bins != nuri) {
        char * v = g_strdup_printf("%d", bins);
        st = ei_cfg_bad_value(c, LIST, "num-source-bins", v, "list has %u URI%s (the two must agree)", (unsigned)nuri,
                              nuri == 1 ? "" : "s");
        g_free(v);
    }
    bool attr = g_key_file_has_group(c->kf, ATTR);
    if (!st && attr) {
        static const char * const from_list[] = {"type", "uri", "num-sources", NULL};
        for (int k = 0; from_list[k]; k++)
            if (g_key_file_has_key(c->kf, ATTR, from_list[k], NULL))
                ei_cfg_warn(c, "[%s] %s is ignored: each source's type and URI come from [%s] list", ATTR, from_list[k],
                            LIST);
    }
    /* [sourceK] groups override entry K; one beyond the list is an error (deepstream-app's too). */
    for (gsize i = 0; !st && i < n; i++) {
        int k = group_number(names[i], "source");
        if (k >= 0 && (gsize)k >= nuri)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "%s: [%s] there is no source %d: [%s] list has %u URIs, and a [sourceK] group overrides "
                           "the keys of its entry K (0..%u)",
                           c->file, names[i], k, LIST, (unsigned)nuri, (unsigned)nuri - 1);
    }
    for (gsize i = 0; !st && i < nuri; i++) {
        ei_app_source * s = &cfg->sources[cfg->n_sources];
        char            g[32];
        g_snprintf(g, sizeof g, "source%u", (unsigned)i);
        bool over = g_key_file_has_group(c->kf, g), on = true;
        if (over) st = group_enabled(c, g, &on);
        if (st || !on) continue;
        source_defaults(s, (int)i, loop_all);
        int present = 0;
        if (attr) st = read_source_keys(c, dir, ATTR, s, false, &present);
        if (!st) st = list_entry(c, dir, list[i], s);
        if (!st && over) st = read_source_keys(c, dir, g, s, true, &present);
        if (!st && s->type == EI_APP_SOURCE_MULTI_URI)
            st = ei_cfg_bad_value(c, g, "type", "3", "multi-uri cannot be used with [%s]: list each URI", LIST);
        if (!st) st = check_source(c, over ? g : LIST, s);
        if (st) {
            source_clear(s);
            break;
        }
        s->first_stream = cfg->n_streams;
        cfg->n_streams += s->n_streams;
        cfg->n_sources++;
    }
    g_strfreev(list);
    return st;
}

static ei_status * read_sources(ei_cfg_ctx * c, const char * dir, char ** names, gsize n, ei_app_config * cfg) {
    bool loop_all = false;
    if (g_key_file_has_group(c->kf, TESTS)) EI_TRY(get_bool(c, TESTS, "file-loop", &loop_all));
    if (g_key_file_has_group(c->kf, LIST)) {
        EI_TRY(read_source_list(c, dir, names, n, cfg, loop_all));
        if (cfg->n_sources == 0)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: no enabled source: every entry of [%s] list is disabled",
                             c->file, LIST);
        return NULL;
    }
    if (g_key_file_has_group(c->kf, ATTR))
        ei_cfg_warn(c, "[%s] is ignored: it gives the attributes of [%s]'s sources, and there is no [%s]", ATTR, LIST,
                    LIST);
    int         count = 0;
    numbered *  groups = numbered_groups(names, n, "source", &count);
    ei_status * st = NULL;
    for (int i = 0; !st && i < count; i++) {
        bool on = true;
        st = group_enabled(c, groups[i].name, &on);
        if (st || !on) continue;
        if (cfg->n_sources == EI_APP_MAX_SOURCES) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] too many sources: at most %d", c->file, groups[i].name,
                           EI_APP_MAX_SOURCES);
            break;
        }
        ei_app_source * s = &cfg->sources[cfg->n_sources++];
        st = read_source(c, dir, groups[i].name, groups[i].number, s, loop_all);
        if (st) break;
        s->first_stream = cfg->n_streams;
        if (cfg->n_streams + s->n_streams > EI_APP_MAX_SOURCES)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] too many streams: at most %d in all", c->file,
                           groups[i].name, EI_APP_MAX_SOURCES);
        cfg->n_streams += s->n_streams;
    }
    g_free(groups);
    if (!st && cfg->n_sources == 0)
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "%s: no enabled source: add a [source0] group with enable=1, type and uri (or dir, udp-port)",
                       c->file);
    return st;
}

static ei_status * read_sinks(ei_cfg_ctx * c, char ** names, gsize n, ei_app_config * cfg) {
    int         count = 0;
    numbered *  groups = numbered_groups(names, n, "sink", &count);
    ei_status * st = NULL;
    for (int i = 0; !st && i < count; i++) {
        bool on = true;
        st = group_enabled(c, groups[i].name, &on);
        if (st || !on) continue;
        if (cfg->n_sinks == EI_APP_MAX_SINKS) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] too many sinks: at most %d", c->file, groups[i].name,
                           EI_APP_MAX_SINKS);
            break;
        }
        ei_app_sink * k = &cfg->sinks[cfg->n_sinks++];
        st = read_sink(c, groups[i].name, groups[i].number, k);
        if (st) break;
        int has_sid = g_key_file_has_key(c->kf, groups[i].name, "source-id", NULL);
        if (k->source_id >= cfg->n_streams) {
            char * v = g_strdup_printf("%d", k->source_id);
            st = ei_cfg_bad_value(c, groups[i].name, "source-id", v, "there are %d source streams (ids 0..%d)",
                                  cfg->n_streams, cfg->n_streams - 1);
            g_free(v);
            break;
        }
        if (cfg->tiled_enabled && !k->link_to_demux) {
            if (has_sid)
                ei_cfg_warn(c,
                            "[%s] source-id is ignored: the sink shows the tiled output ([tiled-display] enable=1; "
                            "set link-to-demux=1 to show one source)",
                            groups[i].name);
            k->source_id = -1;
        } else if (!has_sid && cfg->n_streams > 1) {
            ei_cfg_warn(c,
                        "[%s] no source-id: the sink shows source 0 only; the other %d sources are inferred but not "
                        "shown (set source-id, add sinks, or enable [tiled-display])",
                        groups[i].name, cfg->n_streams - 1);
        }
    }
    g_free(groups);
    if (!st && cfg->n_sinks == 0) {
        ei_cfg_warn(c, "no enabled [sinkN] group: adding a fake sink (type=1) so that the pipeline runs%s",
                    cfg->jsonl_output ? "; results go to jsonl-output-file" : "");
        ei_app_sink * k = &cfg->sinks[cfg->n_sinks++];
        k->sink_group = 0;
        k->type = EI_APP_SINK_FAKE;
        k->source_id = cfg->tiled_enabled ? -1 : 0;
        k->codec = EI_APP_CODEC_H264;
        k->container = 1;
    }
    return st;
}

static ei_status * read_all(ei_cfg_ctx * c, const char * dir, ei_app_config * cfg) {
    check_names(c);

    cfg->perf_interval_sec = 5;
    EI_TRY(get_bool(c, APP, "enable-perf-measurement", &cfg->perf_measurement));
    EI_TRY(get_int(c, APP, "perf-measurement-interval-sec", 1, 3600, &cfg->perf_interval_sec));
    EI_TRY(ei_cfg_get_string(c, APP, "jsonl-output-file", &cfg->jsonl_output, NULL));

    cfg->mux_batched_push_timeout_us = 40000;
    EI_TRY(get_int(c, MUX, "batch-size", 0, 1024, &cfg->mux_batch_size));
    EI_TRY(get_int(c, MUX, "batched-push-timeout", -1, INT32_MAX, &cfg->mux_batched_push_timeout_us));
    EI_TRY(get_int(c, MUX, "width", 0, 16384, &cfg->mux_width));
    EI_TRY(get_int(c, MUX, "height", 0, 16384, &cfg->mux_height));
    if ((cfg->mux_width == 0) != (cfg->mux_height == 0))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] width and height: give both (or neither, 0 = keep)",
                         c->file, MUX);
    EI_TRY(get_bool(c, MUX, "live-source", &cfg->mux_live_source));

    if (g_key_file_has_group(c->kf, GIE)) EI_TRY(group_enabled(c, GIE, &cfg->gie_enabled));
    if (cfg->gie_enabled) {
        EI_TRY(get_path(c, dir, GIE, "config-file", &cfg->gie_config_file));
        if (!cfg->gie_config_file)
            return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                             "%s: [%s] config-file is required: the inference config (e.g. configs/yolox_nano.ini)",
                             c->file, GIE);
        EI_TRY(get_path(c, dir, GIE, "model-engine-file", &cfg->gie_model_engine_file));
        EI_TRY(get_int(c, GIE, "batch-size", 0, 1024, &cfg->gie_batch_size));
        EI_TRY(get_int(c, GIE, "interval", 0, INT32_MAX, &cfg->gie_interval));
        cfg->gie_unique_id = 1;
        EI_TRY(get_int(c, GIE, "gie-unique-id", 0, INT32_MAX, &cfg->gie_unique_id));
    }

    cfg->osd_display_text = cfg->osd_display_mask = cfg->osd_display_bbox = true;
    if (g_key_file_has_group(c->kf, OSD)) EI_TRY(group_enabled(c, OSD, &cfg->osd_enabled));
    if (cfg->osd_enabled) {
        EI_TRY(get_int(c, OSD, "border-width", 0, 100, &cfg->osd_border_width));
        EI_TRY(get_int(c, OSD, "text-size", 0, 200, &cfg->osd_text_size));
        EI_TRY(get_bool(c, OSD, "display-text", &cfg->osd_display_text));
        EI_TRY(get_bool(c, OSD, "display-mask", &cfg->osd_display_mask));
        EI_TRY(get_bool(c, OSD, "display-bbox", &cfg->osd_display_bbox));
    }

    if (g_key_file_has_group(c->kf, TILED)) EI_TRY(group_enabled(c, TILED, &cfg->tiled_enabled));
    if (cfg->tiled_enabled) {
        cfg->tiled_width = 1280, cfg->tiled_height = 720;
        EI_TRY(get_int(c, TILED, "rows", 0, EI_APP_MAX_SOURCES, &cfg->tiled_rows));
        EI_TRY(get_int(c, TILED, "columns", 0, EI_APP_MAX_SOURCES, &cfg->tiled_columns));
        EI_TRY(get_int(c, TILED, "width", 16, 16384, &cfg->tiled_width));
        EI_TRY(get_int(c, TILED, "height", 16, 16384, &cfg->tiled_height));
    }

    gsize       n = 0;
    char **     names = g_key_file_get_groups(c->kf, &n);
    ei_status * st = read_sources(c, dir, names, n, cfg);
    if (!st && cfg->tiled_enabled) {
        /* 0 rows or columns: the smallest near-square grid that holds every stream. */
        if (!cfg->tiled_columns) {
            int cols = 1;
            while (cols * cols < cfg->n_streams) cols++;
            cfg->tiled_columns = cfg->tiled_rows ? (cfg->n_streams + cfg->tiled_rows - 1) / cfg->tiled_rows : cols;
        }
        if (!cfg->tiled_rows) cfg->tiled_rows = (cfg->n_streams + cfg->tiled_columns - 1) / cfg->tiled_columns;
        if (cfg->tiled_rows * cfg->tiled_columns < cfg->n_streams)
            ei_cfg_warn(
                c, "[%s] rows=%d x columns=%d tiles show sources 0..%d of %d; the others are inferred, not shown",
                TILED, cfg->tiled_rows, cfg->tiled_columns, cfg->tiled_rows * cfg->tiled_columns - 1, cfg->n_streams);
        if (cfg->tiled_width < cfg->tiled_columns || cfg->tiled_height < cfg->tiled_rows)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: [%s] %dx%d is too small for %d rows and %d columns", c->file,
                           TILED, cfg->tiled_width, cfg->tiled_height, cfg->tiled_rows, cfg->tiled_columns);
    }
    if (!st) st = read_sinks(c, names, n, cfg);
    g_strfreev(names);
    if (!st && cfg->gie_enabled && cfg->mux_batch_size && cfg->gie_batch_size &&
        cfg->gie_batch_size != cfg->mux_batch_size)
        ei_cfg_warn(c, "[%s] batch-size=%d differs from [%s] batch-size=%d: batches of %d are inferred in pieces", GIE,
                    cfg->gie_batch_size, MUX, cfg->mux_batch_size, cfg->mux_batch_size);
    return st;
}

static void log_stderr(void * user, const char * msg) {
    (void)user;
    fprintf(stderr, "warning: %s\n", msg);
}

ei_status * ei_app_config_parse(const char * text, size_t len, const char * name, const char * dir,
                                void (*log)(void * user, const char * msg), void * user, ei_app_config ** out) {
    if (!out) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_app_config_parse: out is NULL");
    *out = NULL;
    if (!text && len) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_app_config_parse: text is NULL");
    ei_app_config * cfg = g_new0(ei_app_config, 1);
    cfg->path = g_strdup(name ? name : "<app config>");
    char * base = g_canonicalize_filename(dir ? dir : ".", NULL);

    ei_cfg_ctx  c = {.kf = g_key_file_new(), .file = cfg->path, .cfg = NULL, .warnings = g_ptr_array_new()};
    GError *    err = NULL;
    ei_status * st = NULL;
    if (!g_key_file_load_from_data(c.kf, text ? text : "", len, G_KEY_FILE_NONE, &err)) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: not a valid INI file: %s", cfg->path, err->message);
        g_error_free(err);
    } else {
        st = read_all(&c, base, cfg);
    }
    g_key_file_free(c.kf);
    g_free(base);
    if (!log) log = log_stderr;
    for (guint i = 0; i < c.warnings->len; i++) log(user, g_ptr_array_index(c.warnings, i));
    cfg->n_warnings = (int)c.warnings->len;
    g_ptr_array_add(c.warnings, NULL);
    cfg->warnings = (char **)g_ptr_array_free(c.warnings, FALSE);
    if (st) {
        ei_app_config_free(cfg);
        return st;
    }
    *out = cfg;
    return NULL;
}

/* What parse cannot check without the disk: the files and folders the inputs name. */
static ei_status * check_files(const ei_app_config * cfg) {
    for (int i = 0; i < cfg->n_sources; i++) {
        const ei_app_source * s = &cfg->sources[i];
        if (s->type == EI_APP_SOURCE_IMAGE_DIR && !g_file_test(s->dir, G_FILE_TEST_IS_DIR))
            return ei_errorf(EI_CODE_NOT_FOUND, "%s: [source%d] dir: no such folder: %s", cfg->path, s->source_group,
                             s->dir);
        if ((s->type == EI_APP_SOURCE_URI || s->type == EI_APP_SOURCE_MULTI_URI) &&
            !g_ascii_strncasecmp(s->uri, "file:", 5)) {
            char * path = g_filename_from_uri(s->uri, NULL, NULL);
            int    ok = path && g_file_test(path, G_FILE_TEST_IS_REGULAR);
            g_free(path);
            if (!ok)
                return ei_errorf(EI_CODE_NOT_FOUND, "%s: [source%d] uri: no such file: %s", cfg->path, s->source_group,
                                 s->uri);
        }
    }
    if (cfg->gie_enabled && !g_file_test(cfg->gie_config_file, G_FILE_TEST_IS_REGULAR))
        return ei_errorf(EI_CODE_NOT_FOUND, "%s: [%s] config-file: no such file: %s", cfg->path, GIE,
                         cfg->gie_config_file);
    return NULL;
}

ei_status * ei_app_config_load(const char * path, void (*log)(void * user, const char * msg), void * user,
                               ei_app_config ** out) {
    if (!out || !path) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_app_config_load: path or out is NULL");
    *out = NULL;
    char *   text = NULL;
    gsize    n = 0;
    GError * err = NULL;
    if (!g_file_get_contents(path, &text, &n, &err)) {
        ei_code code = err->domain == G_FILE_ERROR && err->code == G_FILE_ERROR_NOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO;
        ei_status * st = ei_errorf(code, "%s: cannot read the app config: %s", path, err->message);
        g_error_free(err);
        return st;
    }
    char *          dir = g_path_get_dirname(path);
    ei_app_config * cfg = NULL;
    ei_status *     st = ei_app_config_parse(text, n, path, dir, log, user, &cfg);
    g_free(dir);
    g_free(text);
    if (!st) st = check_files(cfg);
    if (st) {
        ei_app_config_free(cfg);
        return st;
    }
    *out = cfg;
    return NULL;
}

void ei_app_config_free(ei_app_config * cfg) {
    if (!cfg) return;
    g_free(cfg->path);
    g_free(cfg->jsonl_output);
    for (int i = 0; i < EI_APP_MAX_SOURCES; i++) {
        g_free(cfg->sources[i].uri);
        g_free(cfg->sources[i].dir);
        g_free(cfg->sources[i].camera_v4l2_dev_node);
    }
    g_free(cfg->gie_config_file);
    g_free(cfg->gie_model_engine_file);
    for (int i = 0; i < EI_APP_MAX_SINKS; i++) {
        g_free(cfg->sinks[i].output_file);
        g_free(cfg->sinks[i].host);
    }
    g_strfreev(cfg->warnings);
    g_free(cfg);
}
