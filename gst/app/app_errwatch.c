#include "app_errwatch.h"

#include <string.h>

#include <gst/gsttracer.h>

/* Enough for every source of a run failing a few times between checks; older records go first. */
#define ERRWATCH_MAX 64

typedef struct err_record {
    char * path; /* the poster's path string (pipeline0, src1, decodebin0, qtdemux0): it may leave its bin */
    gint64 when_us;
    char * what;
} err_record;

typedef struct EiErrTracer {
    GstTracer parent;
} EiErrTracer;

typedef struct EiErrTracerClass {
    GstTracerClass parent_class;
} EiErrTracerClass;

static GType ei_err_tracer_get_type(void);
G_DEFINE_TYPE(EiErrTracer, ei_err_tracer, GST_TYPE_TRACER)

static GMutex     g_lock;
static err_record g_rec[ERRWATCH_MAX];
static int        g_n, g_next; /* records held; where the next one goes (a ring) */
static gboolean   g_installed;

/* Called in the posting thread (a streaming thread), before the message goes anywhere. */
static void on_post_pre(GObject * self, GstClockTime ts, GstElement * element, GstMessage * msg) {
    (void)self;
    (void)ts;
    if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR || !GST_MESSAGE_SRC(msg)) return;
    GError * err = NULL;
    gst_message_parse_error(msg, &err, NULL);
    char * what = g_strdup_printf("%s: %s", GST_MESSAGE_SRC_NAME(msg), err ? err->message : "error");
    if (err) g_error_free(err);
    char * path = gst_object_get_path_string(GST_MESSAGE_SRC(msg));
    (void)element;
    g_mutex_lock(&g_lock);
    err_record * r = &g_rec[g_next];
    g_free(r->path);
    g_free(r->what);
    r->path = path;
    r->when_us = g_get_monotonic_time();
    r->what = what;
    g_next = (g_next + 1) % ERRWATCH_MAX;
    if (g_n < ERRWATCH_MAX) g_n++;
    g_mutex_unlock(&g_lock);
}

static void ei_err_tracer_class_init(EiErrTracerClass * klass) { (void)klass; }

static void ei_err_tracer_init(EiErrTracer * self) {
    gst_tracing_register_hook(GST_TRACER(self), "element-post-message-pre", G_CALLBACK(on_post_pre));
}

bool ei_app_errwatch_install(void) {
    if (g_installed) return true;
    g_installed = TRUE;
    /* The hook holds its own reference until gst_deinit(). */
    GstTracer * t = g_object_new(ei_err_tracer_get_type(), NULL);
    gst_object_ref_sink(t);
    gst_object_unref(t);
    GList * active = gst_tracing_get_active_tracers();
    bool    ok = false;
    for (GList * l = active; l; l = l->next) ok = ok || G_TYPE_CHECK_INSTANCE_TYPE(l->data, ei_err_tracer_get_type());
    g_list_free_full(active, gst_object_unref);
    return ok;
}

char * ei_app_errwatch_latest(GstElement * bin, gint64 since_us, gint64 * when_us) {
    char * what = NULL;
    char * bin_path = gst_object_get_path_string(GST_OBJECT(bin));
    size_t len = strlen(bin_path);
    g_mutex_lock(&g_lock);
    for (int k = 1; k <= g_n; k++) { /* newest first */
        err_record * r = &g_rec[(g_next - k + ERRWATCH_MAX) % ERRWATCH_MAX];
        if (r->when_us <= since_us) continue;
        if (strncmp(r->path, bin_path, len) || r->path[len] != '/') continue; /* not strictly inside */
        what = g_strdup(r->what);
        if (when_us) *when_us = r->when_us;
        break;
    }
    g_mutex_unlock(&g_lock);
    g_free(bin_path);
    return what;
}

void ei_app_errwatch_clear(void) {
    g_mutex_lock(&g_lock);
    for (int i = 0; i < ERRWATCH_MAX; i++) {
        g_free(g_rec[i].path);
        g_free(g_rec[i].what);
        g_rec[i] = (err_record){0};
    }
    g_n = g_next = 0;
    g_mutex_unlock(&g_lock);
}
