/* edgeinfer: the inference element. The chain function only queues (buffers and serialized events,
 * in order, at most queue-size buffers); a GstTask on the src pad pops them and cuts their frames
 * into runs of up to batch-size frames (jobs). Each model copy (`instances`) is a thread of its own
 * that takes the next job as soon as it is free, maps the frames as ei_image views (no copy), runs
 * ei_infer and attaches a GstEiFrameMeta and ROI metas to each frame. The task pushes the buffers
 * downstream in their order once every job of theirs is done, and hands out new jobs while the
 * copies work: decoding upstream, inference and the elements downstream overlap, and no copy waits
 * for another (no waves). */
#include "gsteiinfer.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <gst/video/video.h>

#include "edgeinfer/config.h"
#include "edgeinfer/infer.h"
#include "gsteibatch.h"
#include "gsteielements.h"
#include "gsteimeta.h"

GST_DEBUG_CATEGORY_STATIC(gst_ei_infer_debug);
#define GST_CAT_DEFAULT gst_ei_infer_debug

#define DEFAULT_QUEUE_SIZE 4
#define DEFAULT_LEAKY      GST_EI_INFER_LEAKY_NO
/* The environment variable naming an engine cache folder for configs that give only onnx-file. */
#define CACHE_DIR_ENV "EI_ENGINE_CACHE_DIR"

enum {
    PROP_0,
    PROP_CONFIG_FILE_PATH,
    PROP_MODEL_ENGINE_FILE,
    PROP_BATCH_SIZE,
    PROP_INTERVAL,
    PROP_UNIQUE_ID,
    PROP_THREADS,
    PROP_ENGINE_CACHE_DIR,
    PROP_INSTANCES,
    PROP_QUEUE_SIZE,
    PROP_LEAKY,
    PROP_FRAMES_PROCESSED,
    PROP_FRAMES_DROPPED,
};

typedef struct {
    GstBuffer **         slot; /* where the frame's (writable) buffer lives */
    const GstVideoInfo * info;
    guint                source_id;
    guint64              frame_number;
} WorkFrame;

/* The buffers the task took from the queue in one go, in flight until every job of theirs is done. */
typedef struct {
    GstBuffer **    bufs;
    guint           n_bufs;
    GstEiFrameRef * refs;
    WorkFrame *     f; /* every frame of bufs */
    guint           n_frames;
    guint *         picked; /* indices into f of the frames interval selects */
    guint           n_picked;
    guint           pending; /* jobs not finished (element lock) */
    GstFlowReturn   ret;     /* GST_FLOW_ERROR once a job failed (element lock) */
} InferGroup;

/* One inference run: picked frames [first, first + n) of a group, n <= batch size. */
typedef struct {
    InferGroup * group;
    guint        first, n;
} InferJob;

/* A copy of the model on a thread of its own: frames are independent, so on a small machine
 * several single-threaded copies keep every core busy where one multi-threaded run waits at each
 * parallel step for the thread whose core the decoder or encoder took. The first copy's ei_infer is
 * the element's own (inf), the others are owned here. */
typedef struct {
    GstEiInfer * owner;
    GThread *    thread;
    ei_infer *   inf;
    gboolean     owns_inf;
    /* For the EOS log line (element lock): runs, µs running them, µs waiting for one (from the
     * first run on: not the preroll). */
    gboolean          started;
    guint64           runs;
    gint64            busy_us, idle_us;
    ei_frame_result * results; /* model_batch entries */
    ei_image *        imgs;    /* model_batch views */
    GstVideoFrame *   vfs;     /* model_batch mapped frames */
} InferWorker;

struct _GstEiInfer {
    GstElement element;
    GstPad *   sinkpad, *srcpad;

    /* Properties (object lock). */
    gchar *         config_path;
    gchar *         engine_file;
    gchar *         cache_dir; /* NULL: EI_ENGINE_CACHE_DIR, else the user's cache folder; "": none */
    guint           batch_size, interval, unique_id, threads;
    guint           instances; /* model copies that infer frames side by side */
    guint           queue_size;
    GstEiInferLeaky leaky;

    /* The queue between the chain function and the task (lock/cond). */
    GMutex        lock;
    GCond         cond;
    GQueue        queue;     /* GstBuffer and serialized GstEvent, oldest first */
    guint         n_buffers; /* buffers in queue */
    gboolean      flushing;
    GstFlowReturn srcresult;
    guint64       frames_processed, frames_dropped;
    gint64        last_drop_warning; /* monotonic µs */

    /* Model state, READY->PAUSED to PAUSED->READY; used by the task only once created. */
    ei_infer_config * cfg;                /* as loaded (owns every pointer) */
    ei_infer_config   cfg_use;            /* shallow copy with the property overrides; borrows cfg's pointers */
    gchar *           engine_file_in_use; /* the model-engine-file override cfg_use points at */
    ei_infer *        inf;
    gint              model_batch;
    guint             eff_interval, eff_unique_id;
    GQuark *          label_quarks; /* one per class, 0 without a label */
    gint              n_label_quarks;
    InferWorker *     workers; /* n_workers model copies, each on its own thread (the first uses inf) */
    guint             n_workers;

    /* Jobs and groups in flight (lock; the workers wait on work_cond, the task and the chain
     * function on cond). */
    GCond    work_cond;
    GQueue   jobs;   /* InferJob *, not started yet, oldest first */
    GQueue   groups; /* InferGroup *, in their order downstream */
    guint    jobs_running;
    gboolean workers_quit;

    /* Stream state (task thread). */
    gboolean     have_info, is_batch;
    GstVideoInfo info;
    guint64      frame_counter; /* plain frames: the frame number of the next one */
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_EI_VIDEO_FORMATS) "; " GST_EI_BATCH_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_EI_VIDEO_FORMATS) "; " GST_EI_BATCH_CAPS));

#define gst_ei_infer_parent_class parent_class
G_DEFINE_TYPE(GstEiInfer, gst_ei_infer, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(edgeinfer, "edgeinfer", GST_RANK_NONE, GST_TYPE_EI_INFER)

GType gst_ei_infer_leaky_get_type(void) {
    static gsize            id = 0;
    static const GEnumValue values[] = {
        {GST_EI_INFER_LEAKY_NO, "Block upstream while the queue is full", "no"},
        {GST_EI_INFER_LEAKY_DOWNSTREAM, "Drop the oldest waiting buffer when the queue is full", "downstream"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&id)) {
        GType t = g_enum_register_static("GstEiInferLeaky", values);
        g_once_init_leave(&id, t);
    }
    return (GType)id;
}

static void gst_ei_infer_loop(gpointer data);
static void groups_drop(GstEiInfer * self);

/* ---- queue ---- */

/* Frames a queued buffer holds (a batch's frame count, else 1). */
static guint buffer_frames(GstBuffer * buf) {
    GstEiBatchMeta * bm = gst_buffer_get_ei_batch_meta(buf);
    return bm ? bm->n_frames : 1;
}

/* Empties the queue (lock held). */
static void queue_clear(GstEiInfer * self) {
    GstMiniObject * item;
    while ((item = g_queue_pop_head(&self->queue)) != NULL) gst_mini_object_unref(item);
    self->n_buffers = 0;
    g_cond_broadcast(&self->cond);
}

/* Drops the oldest waiting buffer (lock held). */
static void queue_drop_oldest(GstEiInfer * self) {
    for (GList * l = self->queue.head; l; l = l->next) {
        if (!GST_IS_BUFFER(l->data)) continue;
        GstBuffer * buf = l->data;
        guint       n = buffer_frames(buf);
        g_queue_delete_link(&self->queue, l);
        self->n_buffers--;
        self->frames_dropped += n;
        gint64 now = g_get_monotonic_time();
        if (self->last_drop_warning == 0 || now - self->last_drop_warning >= G_USEC_PER_SEC) {
            self->last_drop_warning = now;
            GST_WARNING_OBJECT(self,
                               "queue full (queue-size=%u): dropped the oldest waiting buffer, %" G_GUINT64_FORMAT
                               " frames dropped so far",
                               self->queue_size, self->frames_dropped);
        }
        gst_buffer_unref(buf);
        return;
    }
}

static GstFlowReturn gst_ei_infer_chain(GstPad * pad, GstObject * parent, GstBuffer * buf) {
    GstEiInfer * self = GST_EI_INFER(parent);
    (void)pad;
    g_mutex_lock(&self->lock);
    for (;;) {
        if (self->flushing || self->srcresult != GST_FLOW_OK) {
            GstFlowReturn ret = self->flushing ? GST_FLOW_FLUSHING : self->srcresult;
            g_mutex_unlock(&self->lock);
            gst_buffer_unref(buf);
            return ret;
        }
        guint limit = MAX(self->queue_size, 1u);
        if (self->n_buffers < limit) break;
        if (self->leaky == GST_EI_INFER_LEAKY_DOWNSTREAM)
            queue_drop_oldest(self);
        else
            g_cond_wait(&self->cond, &self->lock);
    }
    g_queue_push_tail(&self->queue, buf);
    self->n_buffers++;
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    return GST_FLOW_OK;
}

static gboolean gst_ei_infer_sink_event(GstPad * pad, GstObject * parent, GstEvent * event) {
    GstEiInfer * self = GST_EI_INFER(parent);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
        g_mutex_lock(&self->lock);
        self->flushing = TRUE;
        queue_clear(self);
        g_mutex_unlock(&self->lock);
        gboolean ok = gst_pad_push_event(self->srcpad, event);
        /* Waits for the task's current iteration to end, then for the runs in flight. */
        gst_pad_pause_task(self->srcpad);
        groups_drop(self);
        g_mutex_lock(&self->lock);
        queue_clear(self);
        g_mutex_unlock(&self->lock);
        return ok;
    }
    case GST_EVENT_FLUSH_STOP: {
        g_mutex_lock(&self->lock);
        queue_clear(self);
        self->flushing = FALSE;
        self->srcresult = GST_FLOW_OK;
        g_mutex_unlock(&self->lock);
        gboolean ok = gst_pad_push_event(self->srcpad, event);
        if (gst_pad_is_active(self->srcpad)) gst_pad_start_task(self->srcpad, gst_ei_infer_loop, self, NULL);
        return ok;
    }
    default: break;
    }
    if (!GST_EVENT_IS_SERIALIZED(event)) return gst_pad_event_default(pad, parent, event);
    /* Serialized events (caps, segment, EOS, GstEiSourceEos, ...) keep their place among the buffers. */
    g_mutex_lock(&self->lock);
    if (self->flushing || (self->srcresult != GST_FLOW_OK && GST_EVENT_TYPE(event) != GST_EVENT_EOS)) {
        g_mutex_unlock(&self->lock);
        gst_event_unref(event);
        return FALSE;
    }
    g_queue_push_tail(&self->queue, event);
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    return TRUE;
}

/* ---- model ---- */

/* Engine decisions (built and why, loaded, where) reach the application as INFO messages on the
 * bus: a first start that builds for seconds must not look like a hang. */
static void log_to_gst(void * user, const char * message) {
    GstElement * self = user;
    GST_INFO_OBJECT(self, "%s", message);
    GError * e = g_error_new_literal(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, message);
    gst_element_post_message(self, gst_message_new_info(GST_OBJECT(self), e, NULL));
    g_error_free(e);
}

/* The engine cache folder: the property, else EI_ENGINE_CACHE_DIR, else $XDG_CACHE_HOME/edgeinfer
 * (~/.cache/edgeinfer), so that a second start loads the engine in milliseconds instead of
 * building it again. Empty = no cache. A folder that cannot be created is reported and skipped:
 * the run goes on, building in memory. */
static gchar * cache_dir_choose(GstEiInfer * self, const gchar * prop) {
    const gchar * dir = prop ? prop : g_getenv(CACHE_DIR_ENV);
    gchar *       out = dir ? g_strdup(dir) : g_build_filename(g_get_user_cache_dir(), "edgeinfer", NULL);
    if (!*out) {
        g_free(out);
        return NULL;
    }
    if (g_mkdir_with_parents(out, 0755) != 0 || g_access(out, W_OK) != 0) {
        gchar * msg = g_strdup_printf("engine cache folder %s is not writable (%s): building the engine in memory "
                                      "at every start; set engine-cache-dir or %s",
                                      out, g_strerror(errno), CACHE_DIR_ENV);
        GST_ELEMENT_WARNING(self, RESOURCE, OPEN_WRITE, ("%s", msg), (NULL));
        g_free(msg);
        g_free(out);
        return NULL;
    }
    return out;
}

static void group_free(InferGroup * g) {
    for (guint i = 0; i < g->n_bufs; i++)
        if (g->bufs[i]) gst_buffer_unref(g->bufs[i]);
    g_free(g->bufs);
    g_free(g->refs);
    g_free(g->f);
    g_free(g->picked);
    g_free(g);
}

/* Drops every group in flight: the jobs not started are forgotten, the running ones finish first
 * (they use the groups' buffers). The task is stopped or paused, or this is the task. */
static void groups_drop(GstEiInfer * self) {
    g_mutex_lock(&self->lock);
    InferJob * j;
    while ((j = g_queue_pop_head(&self->jobs)) != NULL) {
        j->group->pending--;
        g_free(j);
    }
    while (self->jobs_running > 0) g_cond_wait(&self->cond, &self->lock);
    GQueue groups = self->groups;
    g_queue_init(&self->groups);
    g_mutex_unlock(&self->lock);
    InferGroup * g;
    while ((g = g_queue_pop_head(&groups)) != NULL) group_free(g);
}

static gboolean run_job(GstEiInfer * self, InferWorker * w, const InferJob * j);

static gpointer worker_main(gpointer data) {
    InferWorker * w = data;
    GstEiInfer *  self = w->owner;
    g_mutex_lock(&self->lock);
    for (;;) {
        gint64 t0 = g_get_monotonic_time();
        while (!self->workers_quit && g_queue_is_empty(&self->jobs)) g_cond_wait(&self->work_cond, &self->lock);
        if (self->workers_quit) break;
        gint64 t1 = g_get_monotonic_time();
        if (w->started) w->idle_us += t1 - t0;
        w->started = TRUE;
        InferJob * j = g_queue_pop_head(&self->jobs);
        gboolean   skip = j->group->ret != GST_FLOW_OK; /* an earlier run of the group failed */
        self->jobs_running++;
        g_cond_broadcast(&self->cond); /* the task may hand out the next job */
        g_mutex_unlock(&self->lock);
        gboolean ok = skip || run_job(self, w, j);
        g_mutex_lock(&self->lock);
        w->runs++;
        w->busy_us += g_get_monotonic_time() - t1;
        if (!ok) j->group->ret = GST_FLOW_ERROR;
        j->group->pending--;
        self->jobs_running--;
        g_free(j);
        g_cond_broadcast(&self->cond);
    }
    g_mutex_unlock(&self->lock);
    return NULL;
}

static void workers_free(GstEiInfer * self) {
    g_mutex_lock(&self->lock);
    self->workers_quit = TRUE;
    g_cond_broadcast(&self->work_cond);
    g_mutex_unlock(&self->lock);
    for (guint i = 0; i < self->n_workers; i++) {
        InferWorker * w = &self->workers[i];
        if (w->thread) g_thread_join(w->thread);
        if (w->results)
            for (gint k = 0; k < self->model_batch; k++) ei_frame_result_free(&w->results[k]);
        g_free(w->results);
        g_free(w->imgs);
        g_free(w->vfs);
        if (w->owns_inf) ei_infer_destroy(w->inf);
    }
    g_clear_pointer(&self->workers, g_free);
    self->n_workers = 0;
    g_mutex_lock(&self->lock);
    self->workers_quit = FALSE;
    g_mutex_unlock(&self->lock);
}

static void model_free(GstEiInfer * self) {
    groups_drop(self);
    workers_free(self);
    g_clear_pointer(&self->label_quarks, g_free);
    self->n_label_quarks = 0;
    ei_infer_destroy(self->inf);
    self->inf = NULL;
    ei_infer_config_destroy(self->cfg);
    self->cfg = NULL;
    memset(&self->cfg_use, 0, sizeof self->cfg_use);
    self->model_batch = 0;
}

/* Loads the config, applies the property overrides and opens the model; posts an error on failure. */
static gboolean model_open(GstEiInfer * self) {
    GST_OBJECT_LOCK(self);
    gchar * path = g_strdup(self->config_path);
    gchar * engine = g_strdup(self->engine_file);
    gchar * cache_prop = g_strdup(self->cache_dir);
    guint   batch = self->batch_size, interval = self->interval, unique_id = self->unique_id, threads = self->threads;
    guint   instances = MAX(self->instances, 1);
    GST_OBJECT_UNLOCK(self);
    gchar * cache = NULL;

    gboolean ok = FALSE;
    if (!path || !*path) {
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("config-file-path is not set"),
                          ("edgeinfer needs an inference config (configs/*.ini)"));
        goto done;
    }
    ei_status * st = ei_infer_config_load(path, &self->cfg);
    if (st) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", ei_status_message(st)), ("config-file-path=%s", path));
        ei_status_destroy(st);
        goto done;
    }
    for (gint32 i = 0; i < self->cfg->n_warnings; i++) GST_WARNING_OBJECT(self, "%s: %s", path, self->cfg->warnings[i]);

    /* A shallow copy: the loaded config keeps owning every pointer; only the overridden members
     * differ (the engine path is kept in engine_file_in_use). */
    self->cfg_use = *self->cfg;
    if (engine && *engine) {
        g_free(self->engine_file_in_use);
        self->engine_file_in_use = g_steal_pointer(&engine);
        self->cfg_use.model_engine_file = self->engine_file_in_use;
    }
    if (batch > 0) self->cfg_use.batch_size = (int32_t)batch;
    if (interval > 0) self->cfg_use.interval = (int32_t)interval;
    if (unique_id > 0) self->cfg_use.gie_unique_id = (int32_t)unique_id;
    self->eff_interval = (guint)MAX(self->cfg_use.interval, 0);
    self->eff_unique_id = (guint)MAX(self->cfg_use.gie_unique_id, 0);

    ei_infer_options io = ei_infer_options_default();
    io.n_threads = (int32_t)threads;
    cache = cache_dir_choose(self, cache_prop);
    io.cache_dir = cache;
    io.log = log_to_gst;
    io.log_user = self;
    st = ei_infer_create(&self->cfg_use, &io, &self->inf);
    if (st) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s: %s", path, ei_status_message(st)),
                          ("config-file-path=%s", path));
        ei_status_destroy(st);
        goto done;
    }
    self->model_batch = MAX(ei_infer_batch_size(self->inf), 1);
    const ei_labels * labels = ei_infer_labels(self->inf);
    self->n_label_quarks = MAX(ei_infer_num_classes(self->inf), 0);
    self->label_quarks = g_new0(GQuark, MAX(self->n_label_quarks, 1));
    for (gint c = 0; c < self->n_label_quarks; c++) {
        const char * name = labels ? ei_labels_name(labels, c) : NULL;
        self->label_quarks[c] = name ? g_quark_from_string(name) : 0;
    }
    /* The other copies load the engine the first one built (or the same model-engine-file). */
    self->workers = g_new0(InferWorker, instances);
    for (guint i = 0; i < instances; i++) {
        InferWorker * w = &self->workers[i];
        w->owner = self;
        self->n_workers++;
        if (i == 0) {
            w->inf = self->inf;
        } else {
            io.log = NULL;
            st = ei_infer_create(&self->cfg_use, &io, &w->inf);
            if (st) {
                GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                                  ("%s: model copy %u: %s", path, i + 1, ei_status_message(st)),
                                  ("config-file-path=%s", path));
                ei_status_destroy(st);
                goto done;
            }
            w->owns_inf = TRUE;
        }
        w->results = g_new0(ei_frame_result, self->model_batch);
        w->imgs = g_new0(ei_image, self->model_batch);
        w->vfs = g_new0(GstVideoFrame, self->model_batch);
        w->thread = g_thread_new("eiinfer-copy", worker_main, w);
    }
    GST_INFO_OBJECT(self, "%s: batch %d, interval %u, unique-id %u, %u copies", path, self->model_batch,
                    self->eff_interval, self->eff_unique_id, instances);
    ok = TRUE;
done:
    if (!ok) model_free(self);
    g_free(path);
    g_free(engine);
    g_free(cache_prop);
    g_free(cache);
    return ok;
}

/* ---- inference ---- */

static gboolean to_ei_format(GstVideoFormat f, ei_pixel_format * out) {
    switch (f) {
    case GST_VIDEO_FORMAT_RGB: *out = EI_PIXEL_RGB; return TRUE;
    case GST_VIDEO_FORMAT_BGR: *out = EI_PIXEL_BGR; return TRUE;
    case GST_VIDEO_FORMAT_NV12: *out = EI_PIXEL_NV12; return TRUE;
    case GST_VIDEO_FORMAT_I420: *out = EI_PIXEL_I420; return TRUE;
    case GST_VIDEO_FORMAT_RGBA: *out = EI_PIXEL_RGBA; return TRUE;
    case GST_VIDEO_FORMAT_BGRA: *out = EI_PIXEL_BGRA; return TRUE;
    case GST_VIDEO_FORMAT_GRAY8: *out = EI_PIXEL_GRAY; return TRUE;
    default: return FALSE;
    }
}

/* A view of a mapped frame: plane pointers and strides, no copy. */
static void image_view(const GstVideoFrame * vf, ei_pixel_format fmt, ei_image * img) {
    memset(img, 0, sizeof *img);
    img->format = fmt;
    img->width = GST_VIDEO_FRAME_WIDTH(vf);
    img->height = GST_VIDEO_FRAME_HEIGHT(vf);
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(vf) && p < 3; p++) {
        img->plane[p] = GST_VIDEO_FRAME_PLANE_DATA(vf, p);
        img->stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(vf, p);
    }
}

/* One GstEiFrameMeta (+ ROI metas) on the frame; r NULL: skipped by interval. */
static void attach_meta(GstEiInfer * self, const WorkFrame * w, const ei_frame_result * r, const ei_infer_timing * t,
                        guint n_run) {
    GstEiFrameMeta * m = gst_buffer_add_ei_frame_meta(*w->slot);
    if (!m) return;
    m->source_id = w->source_id;
    m->frame_number = w->frame_number;
    m->unique_id = self->eff_unique_id;
    m->inferred = r != NULL;
    m->frame_width = GST_VIDEO_INFO_WIDTH(w->info);
    m->frame_height = GST_VIDEO_INFO_HEIGHT(w->info);
    if (!r) return;
    gdouble div = n_run > 0 ? (gdouble)n_run : 1.0;
    m->times.preprocess_ms = t->preprocess_ms / div;
    m->times.infer_ms = t->infer_ms / div;
    m->times.postprocess_ms = t->postprocess_ms / div;
    gint32 n = r->detections.count;
    if (n > 0) {
        GstEiObject * objs = g_new(GstEiObject, n);
        for (gint32 k = 0; k < n; k++) {
            const ei_detection * d = &r->detections.items[k];
            objs[k].x = d->x1;
            objs[k].y = d->y1;
            objs[k].w = d->x2 - d->x1;
            objs[k].h = d->y2 - d->y1;
            objs[k].confidence = d->score;
            objs[k].class_id = d->class_id;
            objs[k].label =
                d->class_id >= 0 && d->class_id < self->n_label_quarks ? self->label_quarks[d->class_id] : 0;
        }
        gst_ei_frame_meta_set_objects(m, objs, (guint)n);
        g_free(objs);
    }
    if (r->seg.labels) {
        gint64 * counts = g_new(gint64, MAX(r->seg.n_classes, 1));
        for (gint32 c = 0; c < r->seg.n_classes; c++) counts[c] = (gint64)r->seg.pixel_count[c];
        gst_ei_frame_meta_set_mask(m, r->seg.width, r->seg.height, r->seg.n_classes, r->seg.labels, counts);
        g_free(counts);
    }
    gst_ei_frame_meta_add_roi_metas(*w->slot, m);
}

/* Maps the m frames of one run into views; posts an error and returns how many were mapped when
 * one cannot be. */
static guint map_chunk(GstEiInfer * self, const WorkFrame * f, const guint * idx, guint m, GstVideoFrame * vfs,
                       ei_image * imgs) {
    guint mapped = 0;
    for (; mapped < m; mapped++) {
        const WorkFrame * w = &f[idx[mapped]];
        ei_pixel_format   fmt;
        if (!to_ei_format(GST_VIDEO_INFO_FORMAT(w->info), &fmt)) {
            GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                              ("frame of source %u has format %s, edgeinfer takes RGB, BGR, NV12 or I420", w->source_id,
                               gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(w->info))),
                              (NULL));
            break;
        }
        if (!gst_video_frame_map(&vfs[mapped], w->info, *w->slot, GST_MAP_READ)) {
            GST_ELEMENT_ERROR(self, STREAM, FAILED,
                              ("cannot map frame %" G_GUINT64_FORMAT " of source %u (%dx%d %s) for reading",
                               w->frame_number, w->source_id, GST_VIDEO_INFO_WIDTH(w->info),
                               GST_VIDEO_INFO_HEIGHT(w->info),
                               gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(w->info))),
                              (NULL));
            break;
        }
        image_view(&vfs[mapped], fmt, &imgs[mapped]);
    }
    return mapped;
}

/* Runs one job on a model copy (a worker thread) and attaches its frames' metas. Posts an error
 * and returns FALSE on failure. */
static gboolean run_job(GstEiInfer * self, InferWorker * w, const InferJob * j) {
    const InferGroup * g = j->group;
    const guint *      idx = g->picked + j->first;
    guint              mapped = map_chunk(self, g->f, idx, j->n, w->vfs, w->imgs);
    ei_status *        st = mapped == j->n ? ei_infer_run(w->inf, w->imgs, (gint32)j->n, w->results) : NULL;
    /* Unmapped before the metas are added: a mapped frame holds a reference to its buffer. */
    for (guint k = 0; k < mapped; k++) gst_video_frame_unmap(&w->vfs[k]);
    if (mapped != j->n) return FALSE;
    if (st) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("inference failed: %s", ei_status_message(st)),
                          ("frame %" G_GUINT64_FORMAT " of source %u, %u frames in the run", g->f[idx[0]].frame_number,
                           g->f[idx[0]].source_id, j->n));
        ei_status_destroy(st);
        return FALSE;
    }
    ei_infer_timing t = ei_infer_last_timing(w->inf);
    for (guint k = 0; k < j->n; k++) attach_meta(self, &g->f[idx[k]], &w->results[k], &t, j->n);
    return TRUE;
}

/* Takes the buffers (plain frames or muxer batches; ownership too), gives the frames interval
 * skips their meta, cuts the others into jobs of up to batch-size frames for the model copies and
 * puts the group in flight. Returns an error (posted) when the frames cannot be collected. */
static GstFlowReturn group_dispatch(GstEiInfer * self, GstBuffer ** bufs, guint n_bufs) {
    InferGroup * g = g_new0(InferGroup, 1);
    g->bufs = bufs;
    g->n_bufs = n_bufs;
    guint total = 0;
    for (guint i = 0; i < n_bufs; i++) {
        bufs[i] = gst_buffer_make_writable(bufs[i]);
        total += buffer_frames(bufs[i]);
    }
    g->refs = g_new0(GstEiFrameRef, MAX(total, 1));
    g->f = g_new0(WorkFrame, MAX(total, 1));
    g->picked = g_new(guint, MAX(total, 1));
    guint k = 0;
    for (guint i = 0; i < n_bufs; i++) {
        gboolean plain = gst_buffer_get_ei_batch_meta(bufs[i]) == NULL;
        if (plain && !self->is_batch && !self->have_info) {
            GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("a frame arrived before caps"), (NULL));
            group_free(g);
            return GST_FLOW_NOT_NEGOTIATED;
        }
        const GstVideoInfo * single = plain && !self->is_batch ? &self->info : NULL;
        guint got = gst_ei_frames_collect(&bufs[i], single, self->frame_counter, TRUE, g->refs + k, total - k);
        if (single) self->frame_counter++;
        k += got;
    }
    g->n_frames = k;
    guint64 step = (guint64)self->eff_interval + 1;
    for (guint i = 0; i < k; i++) {
        WorkFrame * w = &g->f[i];
        w->slot = g->refs[i].slot;
        w->info = g->refs[i].info;
        w->source_id = g->refs[i].source_id;
        w->frame_number = g->refs[i].frame_number;
        if (w->frame_number % step == 0)
            g->picked[g->n_picked++] = i;
        else
            attach_meta(self, w, NULL, NULL, 0);
    }
    guint bsz = (guint)MAX(self->model_batch, 1);
    g_mutex_lock(&self->lock);
    for (guint s = 0; s < g->n_picked; s += bsz) {
        InferJob * j = g_new(InferJob, 1);
        j->group = g;
        j->first = s;
        j->n = MIN(bsz, g->n_picked - s);
        g->pending++;
        g_queue_push_tail(&self->jobs, j);
    }
    g_queue_push_tail(&self->groups, g);
    g_cond_broadcast(&self->work_cond);
    g_mutex_unlock(&self->lock);
    return GST_FLOW_OK;
}

/* Pushes the buffers of a finished group downstream (or drops them after a failed run) and frees
 * it. */
static GstFlowReturn group_push(GstEiInfer * self, InferGroup * g) {
    GstFlowReturn ret = g->ret;
    if (ret == GST_FLOW_OK) {
        g_mutex_lock(&self->lock);
        self->frames_processed += g->n_frames;
        g_mutex_unlock(&self->lock);
    }
    for (guint i = 0; i < g->n_bufs; i++) {
        GstBuffer * b = g->bufs[i];
        g->bufs[i] = NULL;
        if (ret == GST_FLOW_OK)
            ret = gst_pad_push(self->srcpad, b);
        else
            gst_buffer_unref(b);
    }
    group_free(g);
    return ret;
}

/* ---- the task ---- */

/* At EOS, how each copy spent its time since the last report (GST_DEBUG=edgeinfer:4): a copy that
 * waited for work was starved by the stages upstream. */
static void log_copies(GstEiInfer * self) {
    for (guint i = 0; i < self->n_workers; i++) {
        InferWorker * w = &self->workers[i];
        g_mutex_lock(&self->lock);
        guint64 runs = w->runs;
        gint64  busy = w->busy_us, idle = w->idle_us;
        w->runs = 0;
        w->busy_us = w->idle_us = 0;
        g_mutex_unlock(&self->lock);
        GST_INFO_OBJECT(self, "copy %u: %" G_GUINT64_FORMAT " runs, %.3f s running them, %.3f s waiting for work", i,
                        runs, (double)busy / 1e6, (double)idle / 1e6);
    }
}

static void handle_event(GstEiInfer * self, GstEvent * event) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) log_copies(self);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps * caps;
        gst_event_parse_caps(event, &caps);
        self->is_batch = gst_ei_caps_is_batch(caps);
        self->have_info = FALSE;
        if (!self->is_batch) {
            if (!gst_video_info_from_caps(&self->info, caps)) {
                gchar * text = gst_caps_to_string(caps);
                GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("cannot parse caps %s", text), (NULL));
                g_free(text);
                gst_event_unref(event);
                return;
            }
            self->have_info = TRUE;
        }
        GST_DEBUG_OBJECT(self, "caps %" GST_PTR_FORMAT, (void *)caps);
    }
    gst_pad_push_event(self->srcpad, event);
}

/* Stops the task after a flow that is not OK; fatal ones become an error and EOS downstream. */
static void pause_on_flow(GstEiInfer * self, GstFlowReturn ret, gboolean error_posted) {
    GST_DEBUG_OBJECT(self, "pausing: %s", gst_flow_get_name(ret));
    g_mutex_lock(&self->lock);
    if (!self->flushing) self->srcresult = ret;
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    gst_pad_pause_task(self->srcpad);
    groups_drop(self);
    if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
        if (!error_posted) GST_ELEMENT_FLOW_ERROR(self, ret);
        gst_pad_push_event(self->srcpad, gst_event_new_eos());
    }
}

/* One step of the task: pushes the oldest group once its jobs are done, hands out the next waiting
 * buffers while fewer jobs wait than there are copies (so that a copy that finishes finds its next
 * job at once), and passes a serialized event on once the buffers before it left. */
static void gst_ei_infer_loop(gpointer data) {
    GstEiInfer * self = GST_EI_INFER(data);
    g_mutex_lock(&self->lock);
    for (;;) {
        if (self->flushing || self->srcresult != GST_FLOW_OK) {
            g_mutex_unlock(&self->lock);
            gst_pad_pause_task(self->srcpad);
            return;
        }
        InferGroup * head = g_queue_peek_head(&self->groups);
        if (head && head->pending == 0) {
            g_queue_pop_head(&self->groups);
            g_mutex_unlock(&self->lock);
            GstFlowReturn ret = group_push(self, head);
            /* A failed run posted its error; downstream posts its own. */
            if (ret != GST_FLOW_OK) pause_on_flow(self, ret, TRUE);
            return;
        }
        GstMiniObject * next = g_queue_peek_head(&self->queue);
        if (next && GST_IS_EVENT(next) && head == NULL) {
            g_queue_pop_head(&self->queue);
            g_cond_broadcast(&self->cond);
            g_mutex_unlock(&self->lock);
            handle_event(self, GST_EVENT_CAST(next));
            return;
        }
        if (next && GST_IS_BUFFER(next) && g_queue_get_length(&self->jobs) < self->n_workers) break;
        g_cond_wait(&self->cond, &self->lock);
    }
    guint        want = (guint)MAX(self->model_batch, 1) * self->n_workers;
    GstBuffer ** bufs = g_new(GstBuffer *, want);
    guint        n = 0;
    bufs[n++] = GST_BUFFER_CAST(g_queue_pop_head(&self->queue));
    self->n_buffers--;
    /* Buffers already waiting (plain frames or muxer batches) join the group while their frames fit
     * the model's batch size times its copies; never wait for more. */
    guint frames = buffer_frames(bufs[0]);
    while (n < want && !g_queue_is_empty(&self->queue)) {
        GstMiniObject * more = g_queue_peek_head(&self->queue);
        if (!GST_IS_BUFFER(more) || frames + buffer_frames(GST_BUFFER_CAST(more)) > want) break;
        frames += buffer_frames(GST_BUFFER_CAST(more));
        bufs[n++] = GST_BUFFER_CAST(g_queue_pop_head(&self->queue));
        self->n_buffers--;
    }
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    GstFlowReturn ret = group_dispatch(self, bufs, n);
    if (ret != GST_FLOW_OK) pause_on_flow(self, ret, TRUE);
}

static gboolean gst_ei_infer_src_activate_mode(GstPad * pad, GstObject * parent, GstPadMode mode, gboolean active) {
    GstEiInfer * self = GST_EI_INFER(parent);
    if (mode != GST_PAD_MODE_PUSH) return FALSE;
    if (active) {
        g_mutex_lock(&self->lock);
        self->flushing = FALSE;
        self->srcresult = GST_FLOW_OK;
        g_mutex_unlock(&self->lock);
        return gst_pad_start_task(pad, gst_ei_infer_loop, self, NULL);
    }
    g_mutex_lock(&self->lock);
    self->flushing = TRUE;
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    gboolean ok = gst_pad_stop_task(pad);
    groups_drop(self);
    g_mutex_lock(&self->lock);
    queue_clear(self);
    g_mutex_unlock(&self->lock);
    return ok;
}

/* ---- GObject / GstElement ---- */

static GstStateChangeReturn gst_ei_infer_change_state(GstElement * element, GstStateChange transition) {
    GstEiInfer * self = GST_EI_INFER(element);
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        if (!model_open(self)) return GST_STATE_CHANGE_FAILURE;
        self->have_info = FALSE;
        self->is_batch = FALSE;
        self->frame_counter = 0;
        g_mutex_lock(&self->lock);
        self->frames_processed = 0;
        self->frames_dropped = 0;
        self->last_drop_warning = 0;
        g_mutex_unlock(&self->lock);
    }
    GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
        (transition == GST_STATE_CHANGE_READY_TO_PAUSED && ret == GST_STATE_CHANGE_FAILURE))
        model_free(self);
    return ret;
}

static void gst_ei_infer_set_property(GObject * object, guint id, const GValue * value, GParamSpec * pspec) {
    GstEiInfer * self = GST_EI_INFER(object);
    switch (id) {
    case PROP_QUEUE_SIZE:
        g_mutex_lock(&self->lock);
        self->queue_size = g_value_get_uint(value);
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        return;
    case PROP_LEAKY:
        g_mutex_lock(&self->lock);
        self->leaky = (GstEiInferLeaky)g_value_get_enum(value);
        g_cond_broadcast(&self->cond);
        g_mutex_unlock(&self->lock);
        return;
    default: break;
    }
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_CONFIG_FILE_PATH:
        g_free(self->config_path);
        self->config_path = g_value_dup_string(value);
        break;
    case PROP_MODEL_ENGINE_FILE:
        g_free(self->engine_file);
        self->engine_file = g_value_dup_string(value);
        break;
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_uint(value); break;
    case PROP_INTERVAL: self->interval = g_value_get_uint(value); break;
    case PROP_UNIQUE_ID: self->unique_id = g_value_get_uint(value); break;
    case PROP_THREADS: self->threads = g_value_get_uint(value); break;
    case PROP_INSTANCES: self->instances = g_value_get_uint(value); break;
    case PROP_ENGINE_CACHE_DIR:
        g_free(self->cache_dir);
        self->cache_dir = g_value_dup_string(value);
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void gst_ei_infer_get_property(GObject * object, guint id, GValue * value, GParamSpec * pspec) {
    GstEiInfer * self = GST_EI_INFER(object);
    switch (id) {
    case PROP_QUEUE_SIZE:
    case PROP_LEAKY:
    case PROP_FRAMES_PROCESSED:
    case PROP_FRAMES_DROPPED:
        g_mutex_lock(&self->lock);
        if (id == PROP_QUEUE_SIZE)
            g_value_set_uint(value, self->queue_size);
        else if (id == PROP_LEAKY)
            g_value_set_enum(value, self->leaky);
        else
            g_value_set_uint64(value, id == PROP_FRAMES_PROCESSED ? self->frames_processed : self->frames_dropped);
        g_mutex_unlock(&self->lock);
        return;
    default: break;
    }
    GST_OBJECT_LOCK(self);
    switch (id) {
    case PROP_CONFIG_FILE_PATH: g_value_set_string(value, self->config_path); break;
    case PROP_MODEL_ENGINE_FILE: g_value_set_string(value, self->engine_file); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, self->batch_size); break;
    case PROP_INTERVAL: g_value_set_uint(value, self->interval); break;
    case PROP_UNIQUE_ID: g_value_set_uint(value, self->unique_id); break;
    case PROP_THREADS: g_value_set_uint(value, self->threads); break;
    case PROP_ENGINE_CACHE_DIR: g_value_set_string(value, self->cache_dir); break;
    case PROP_INSTANCES: g_value_set_uint(value, self->instances); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

static void gst_ei_infer_finalize(GObject * object) {
    GstEiInfer * self = GST_EI_INFER(object);
    model_free(self);
    queue_clear(self);
    g_free(self->config_path);
    g_free(self->engine_file);
    g_free(self->cache_dir);
    g_free(self->engine_file_in_use);
    g_mutex_clear(&self->lock);
    g_cond_clear(&self->cond);
    g_cond_clear(&self->work_cond);
    G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_ei_infer_class_init(GstEiInferClass * klass) {
    GObjectClass *    oc = G_OBJECT_CLASS(klass);
    GstElementClass * ec = GST_ELEMENT_CLASS(klass);
    oc->set_property = gst_ei_infer_set_property;
    oc->get_property = gst_ei_infer_get_property;
    oc->finalize = gst_ei_infer_finalize;
    GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
    GParamFlags live = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
    g_object_class_install_property(oc, PROP_CONFIG_FILE_PATH,
                                    g_param_spec_string("config-file-path", "Config file path",
                                                        "The inference config (nvinfer-style INI, docs/config-keys.md)",
                                                        NULL, rw));
    g_object_class_install_property(
        oc, PROP_MODEL_ENGINE_FILE,
        g_param_spec_string("model-engine-file", "Model engine file",
                            "Overrides the config's model-engine-file (built from onnx-file when missing or stale)",
                            NULL, rw));
    g_object_class_install_property(oc, PROP_BATCH_SIZE,
                                    g_param_spec_uint("batch-size", "Batch size",
                                                      "Frames per inference run; 0 = the config's batch-size", 0, 1024,
                                                      0, rw));
    g_object_class_install_property(
        oc, PROP_INTERVAL,
        g_param_spec_uint("interval", "Interval",
                          "Frames skipped between inferences, per source; 0 = the config's interval", 0, G_MAXINT, 0,
                          rw));
    g_object_class_install_property(oc, PROP_UNIQUE_ID,
                                    g_param_spec_uint("unique-id", "Unique id",
                                                      "Id written into the metadata; 0 = the config's gie-unique-id", 0,
                                                      G_MAXINT, 0, rw));
    g_object_class_install_property(
        oc, PROP_THREADS,
        g_param_spec_uint("threads", "Threads", "Inference worker threads; 0 = one per core", 0, 1024, 0, rw));
    g_object_class_install_property(
        oc, PROP_INSTANCES,
        g_param_spec_uint("instances", "Model copies",
                          "Copies of the model that infer waiting frames side by side, each on its own thread "
                          "with `threads` threads, taking the next batch-size run as soon as it is free; frames "
                          "leave in order",
                          1, 64, 1, rw));
    g_object_class_install_property(
        oc, PROP_ENGINE_CACHE_DIR,
        g_param_spec_string("engine-cache-dir", "Engine cache folder",
                            "Where engines built from onnx-file are kept, named by model hash and options "
                            "(NULL: $EI_ENGINE_CACHE_DIR, else ~/.cache/edgeinfer; empty: no cache)",
                            NULL, rw));
    g_object_class_install_property(oc, PROP_QUEUE_SIZE,
                                    g_param_spec_uint("queue-size", "Queue size",
                                                      "Frames or batches waiting for inference", 1, 1024,
                                                      DEFAULT_QUEUE_SIZE, live));
    g_object_class_install_property(oc, PROP_LEAKY,
                                    g_param_spec_enum("leaky", "Leaky", "What a full queue does to upstream",
                                                      GST_TYPE_EI_INFER_LEAKY, DEFAULT_LEAKY, live));
    g_object_class_install_property(oc, PROP_FRAMES_PROCESSED,
                                    g_param_spec_uint64("frames-processed", "Frames processed",
                                                        "Frames that got their metadata (inferred or skipped)", 0,
                                                        G_MAXUINT64, 0, ro));
    g_object_class_install_property(oc, PROP_FRAMES_DROPPED,
                                    g_param_spec_uint64("frames-dropped", "Frames dropped",
                                                        "Frames dropped by leaky=downstream", 0, G_MAXUINT64, 0, ro));

    gst_element_class_add_static_pad_template(ec, &sink_template);
    gst_element_class_add_static_pad_template(ec, &src_template);
    gst_element_class_set_static_metadata(
        ec, "edgeinfer inference", "Filter/Analyzer/Video",
        "Runs a detection or segmentation model (edgeinfer inference config) on video frames or batches, on its own "
        "thread, and attaches the results as metadata",
        "edgeinfer");
    ec->change_state = gst_ei_infer_change_state;
    gst_type_mark_as_plugin_api(GST_TYPE_EI_INFER_LEAKY, 0);
    GST_DEBUG_CATEGORY_INIT(gst_ei_infer_debug, "edgeinfer", 0, "edgeinfer inference element");
}

static void gst_ei_infer_init(GstEiInfer * self) {
    g_mutex_init(&self->lock);
    g_cond_init(&self->cond);
    g_cond_init(&self->work_cond);
    g_queue_init(&self->queue);
    g_queue_init(&self->jobs);
    g_queue_init(&self->groups);
    self->queue_size = DEFAULT_QUEUE_SIZE;
    self->instances = 1;
    self->leaky = DEFAULT_LEAKY;
    self->flushing = TRUE;
    self->srcresult = GST_FLOW_FLUSHING;

    self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
    gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_ei_infer_chain));
    gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_ei_infer_sink_event));
    GST_PAD_SET_PROXY_CAPS(self->sinkpad);
    GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
    gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

    self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
    gst_pad_set_activatemode_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_ei_infer_src_activate_mode));
    GST_PAD_SET_PROXY_CAPS(self->srcpad);
    gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
