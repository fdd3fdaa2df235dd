/* `edgeinfer detect` and `edgeinfer segment`: an inference config and images in; annotated images,
 * a summary per image, and JSON (COCO results for detections, per-class pixel counts for
 * segmentation) out. Both are thin layers over ei_infer (include/edgeinfer/infer.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/status.h"
#include "edgeinfer/config.h"
#include "edgeinfer/draw.h"
#include "edgeinfer/infer.h"

#define MAX_IMAGES 100000

typedef struct vis_args {
    bool         segment; /* which command */
    const char * config;
    const char * out_dir;
    const char * json;
    const char * cache;
    const char * category_ids;
    int          threads;
    float        alpha;
    bool         quiet;
    char **      images; /* owned strings */
    int          n_images, cap_images;
} vis_args;

static void help(bool segment) {
    const char * cmd = segment ? "segment" : "detect";
    printf("usage: edgeinfer %s -c CONFIG.ini IMAGE|DIR... [-o DIR] [--json FILE] [--threads N]\n"
           "                        [--cache DIR]%s [--quiet]\n\n",
           cmd, segment ? " [--alpha A]" : " [--category-ids FILE]");
    if (segment)
        printf("Labels every pixel of each image with a segmentation network (network-type=2) and prints\n"
               "the classes found with their share of the image. With -o it writes <name>_overlay.jpg (the\n"
               "image with the classes blended over it) and <name>_labels.png (one grey level per class id,\n"
               "255 where no class reached segmentation-threshold).\n\n");
    else
        printf("Finds objects in each image with a detector (network-type=0) and prints them in image\n"
               "pixels. With -o it writes <name>.jpg with boxes, labels and scores drawn.\n\n");
    printf("  -c, --config FILE     the inference config: DeepStream nvinfer keys plus edgeinfer's own\n"
           "                        (docs/config-keys.md; ready ones for the bundled models in configs/)\n"
           "  IMAGE|DIR             JPEG or PNG files; a folder means its .jpg/.jpeg/.png files, sorted\n"
           "  -o, --output-dir DIR  write annotated images there (created if missing)\n"
           "  --json FILE           write the results as JSON%s\n"
           "  --threads N           worker threads (default: one per core)\n"
           "  --cache DIR           keep the engine built from onnx-file in DIR and reuse it\n",
           segment ? " (per image: size, classes with pixel counts)" : " in COCO results format");
    if (segment)
        printf("  --alpha A             overlay opacity, 0..1 (default 0.5)\n");
    else
        printf("  --category-ids FILE   line i is the category_id written for class i (COCO's 1..90 ids;\n"
               "                        default: the class index)\n");
    printf("  --quiet               print only errors and the final line\n\n"
           "Images go through the network batch-size at a time. An image that fails (unreadable, corrupt)\n"
           "is reported and skipped; the exit code is then that of the first failure.\n");
}

static int cmp_str(const void * a, const void * b) { return strcmp(*(char * const *)a, *(char * const *)b); }

static bool has_image_ext(const char * name) {
    const char * dot = strrchr(name, '.');
    if (!dot) return false;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png");
}

static int add_image(vis_args * a, const char * path) {
    if (a->n_images >= MAX_IMAGES)
        return ei_cli_usage_error(a->segment ? "segment" : "detect", "more than %d images", MAX_IMAGES);
    /* Folders add any number of files: grow the list (it starts with room for argc paths). */
    if (a->n_images == a->cap_images) {
        int     cap = a->cap_images ? a->cap_images * 2 : 16;
        char ** grow = realloc(a->images, (size_t)cap * sizeof *grow);
        if (!grow) return EI_EXIT_INTERNAL;
        a->images = grow;
        a->cap_images = cap;
    }
    char * dup = strdup(path);
    if (!dup) return EI_EXIT_INTERNAL;
    a->images[a->n_images++] = dup;
    return 0;
}

/* A folder contributes its image files in name order, so runs are reproducible. */
static int add_path(vis_args * a, const char * path) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return add_image(a, path);
    DIR * d = opendir(path);
    if (!d) {
        fprintf(stderr, "error: cannot open folder '%s': %s\n", path, strerror(errno));
        return EI_EXIT_IO;
    }
    int             first = a->n_images, rc = 0;
    struct dirent * e;
    while (!rc && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name)) continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        rc = add_image(a, full);
    }
    closedir(d);
    if (!rc && a->n_images == first) fprintf(stderr, "warning: folder '%s' has no .jpg, .jpeg or .png files\n", path);
    qsort(a->images + first, (size_t)(a->n_images - first), sizeof *a->images, cmp_str);
    return rc;
}

static void free_args(vis_args * a) {
    for (int i = 0; i < a->n_images; i++) free(a->images[i]);
    free(a->images);
}

static int parse_args(int argc, char ** argv, bool segment, vis_args * a) {
    memset(a, 0, sizeof *a);
    a->segment = segment;
    a->alpha = 0.5f;
    const char * cmd = segment ? "segment" : "detect";
    a->images = calloc((size_t)argc, sizeof *a->images);
    if (!a->images) return EI_EXIT_INTERNAL;
    a->cap_images = argc;
    for (int i = 1; i < argc; i++) {
        const char * o = argv[i];
        if (ei_cli_is_help(o)) {
            help(segment);
            return -1;
        }
        bool takes = !strcmp(o, "-c") || !strcmp(o, "--config") || !strcmp(o, "-o") || !strcmp(o, "--output-dir") ||
                     !strcmp(o, "--json") || !strcmp(o, "--threads") || !strcmp(o, "--cache") ||
                     (!segment && !strcmp(o, "--category-ids")) || (segment && !strcmp(o, "--alpha"));
        if (takes && i + 1 >= argc) return ei_cli_usage_error(cmd, "%s needs a value", o);
        if (!strcmp(o, "-c") || !strcmp(o, "--config")) {
            a->config = argv[++i];
        } else if (!strcmp(o, "-o") || !strcmp(o, "--output-dir")) {
            a->out_dir = argv[++i];
        } else if (!strcmp(o, "--json")) {
            a->json = argv[++i];
        } else if (!strcmp(o, "--cache")) {
            a->cache = argv[++i];
        } else if (!strcmp(o, "--category-ids")) {
            a->category_ids = argv[++i];
        } else if (!strcmp(o, "--threads")) {
            char * e;
            long   v = strtol(argv[++i], &e, 10);
            if (*e || v < 0 || v > 1024) return ei_cli_usage_error(cmd, "--threads must be 0..1024, not '%s'", argv[i]);
            a->threads = (int)v;
        } else if (!strcmp(o, "--alpha")) {
            char * e;
            a->alpha = strtof(argv[++i], &e);
            if (*e || !(a->alpha >= 0 && a->alpha <= 1))
                return ei_cli_usage_error(cmd, "--alpha must be a number in [0, 1], not '%s'", argv[i]);
        } else if (!strcmp(o, "--quiet")) {
            a->quiet = true;
        } else if (o[0] == '-' && o[1]) {
            return ei_cli_usage_error(cmd, "unknown option '%s'", o);
        } else {
            int rc = add_path(a, o);
            if (rc) return rc;
        }
    }
    if (!a->config)
        return ei_cli_usage_error(cmd, "missing -c CONFIG.ini (ready configs for the bundled models are in configs/)");
    if (!a->n_images) return ei_cli_usage_error(cmd, "no images given");
    return 0;
}

/* The file name without folder and extension. */
static void stem_of(const char * path, char * out, size_t n) {
    const char * base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%s", base);
    char * dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* COCO's image ids are the numeric file names (000000397133.jpg); other names get their position. */
static long long image_id_of(const char * path, int index) {
    char stem[1024];
    stem_of(path, stem, sizeof stem);
    if (!stem[0]) return index + 1;
    for (const char * p = stem; *p; p++)
        if (!isdigit((unsigned char)*p)) return index + 1;
    return strtoll(stem, NULL, 10);
}

static ei_status * ensure_dir(const char * dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return NULL;
    return ei_errorf(EI_CODE_IO, "cannot create output folder '%s': %s", dir, strerror(errno));
}

static const char * class_name(const ei_labels * labels, int32_t id, char * buf, size_t n) {
    const char * name = ei_labels_name(labels, id);
    if (name) return name;
    snprintf(buf, n, "class %d", id);
    return buf;
}

typedef struct vis_run {
    const vis_args * a;
    ei_infer *       inf;
    FILE *           json;
    int64_t *        cat_ids;
    int32_t          n_cat_ids;
    int              n_json; /* JSON records written */
    long long        n_objects;
    int              exit_code;
} vis_run;

/* path (may be NULL: the message names the file already) prefixes the message. */
static void note_failure(vis_run * r, ei_status * st, const char * path) {
    if (path) st = ei_status_wrapf(st, "%s", path);
    int code = ei_cli_fail(st);
    if (r->exit_code == EI_EXIT_OK) r->exit_code = code;
}

static void report_detections(vis_run * r, const char * path, int index, ei_image * img, const ei_frame_result * fr) {
    const ei_labels * labels = ei_infer_labels(r->inf);
    char              nbuf[32];
    if (!r->a->quiet) {
        ei_infer_timing t = ei_infer_last_timing(r->inf);
        printf("%s: %d object%s (%dx%d; pre %.1f ms, infer %.1f ms, post %.1f ms)\n", path, fr->detections.count,
               fr->detections.count == 1 ? "" : "s", img->width, img->height, t.preprocess_ms, t.infer_ms,
               t.postprocess_ms);
        for (int32_t k = 0; k < fr->detections.count; k++) {
            const ei_detection * d = &fr->detections.items[k];
            printf("  %-14s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", class_name(labels, d->class_id, nbuf, sizeof nbuf),
                   d->score, d->x1, d->y1, d->x2, d->y2);
        }
    }
    r->n_objects += fr->detections.count;
    if (r->json) {
        long long image_id = image_id_of(path, index);
        for (int32_t k = 0; k < fr->detections.count; k++) {
            const ei_detection * d = &fr->detections.items[k];
            long long            cat = d->class_id;
            if (r->cat_ids) cat = d->class_id < r->n_cat_ids ? r->cat_ids[d->class_id] : -1;
            fprintf(r->json,
                    "%s\n  {\"image_id\": %lld, \"category_id\": %lld, \"bbox\": [%.3f, %.3f, %.3f, %.3f], \"score\": "
                    "%.6f}",
                    r->n_json++ ? "," : "", image_id, cat, d->x1, d->y1, d->x2 - d->x1, d->y2 - d->y1, d->score);
        }
    }
}

static void report_segmentation(vis_run * r, const char * path, ei_image * img, const ei_frame_result * fr) {
    const ei_labels *  labels = ei_infer_labels(r->inf);
    const ei_seg_map * m = &fr->seg;
    double             total = (double)m->width * (double)m->height;
    char               nbuf[32];
    if (!r->a->quiet) {
        ei_infer_timing t = ei_infer_last_timing(r->inf);
        printf("%s: %dx%d (pre %.1f ms, infer %.1f ms, post %.1f ms)\n", path, img->width, img->height, t.preprocess_ms,
               t.infer_ms, t.postprocess_ms);
        for (int32_t c = 0; c < m->n_classes; c++)
            if (m->pixel_count[c])
                printf("  %-14s %6.2f%%  (%lld pixels)\n", class_name(labels, c, nbuf, sizeof nbuf),
                       100.0 * (double)m->pixel_count[c] / total, (long long)m->pixel_count[c]);
    }
    if (r->json) {
        fprintf(r->json, "%s\n  {\"file\": ", r->n_json++ ? "," : "");
        ei_cli_json_string(r->json, path);
        fprintf(r->json, ", \"width\": %d, \"height\": %d, \"classes\": [", m->width, m->height);
        int w = 0;
        for (int32_t c = 0; c < m->n_classes; c++) {
            if (!m->pixel_count[c]) continue;
            fprintf(r->json, "%s{\"id\": %d, \"name\": ", w++ ? ", " : "", c);
            ei_cli_json_string(r->json, class_name(labels, c, nbuf, sizeof nbuf));
            fprintf(r->json, ", \"pixels\": %lld, \"fraction\": %.6f}", (long long)m->pixel_count[c],
                    (double)m->pixel_count[c] / total);
        }
        fprintf(r->json, "]}");
    }
}

static ei_status * write_outputs(vis_run * r, const char * path, ei_image * img, const ei_frame_result * fr) {
    if (!r->a->out_dir) return NULL;
    char stem[1024], out[4096 + 1100];
    stem_of(path, stem, sizeof stem);
    if (!r->a->segment) {
        EI_TRY(ei_draw_detections(img, fr->detections.items, fr->detections.count, ei_infer_labels(r->inf)));
        snprintf(out, sizeof out, "%s/%s.jpg", r->a->out_dir, stem);
        return ei_image_save(img, out, 90);
    }
    ei_image labels = {0};
    EI_TRY(ei_image_alloc(EI_PIXEL_GRAY, fr->seg.width, fr->seg.height, &labels));
    for (int32_t y = 0; y < fr->seg.height; y++)
        memcpy(labels.plane[0] + (size_t)y * (size_t)labels.stride[0],
               fr->seg.labels + (size_t)y * (size_t)fr->seg.width, (size_t)fr->seg.width);
    snprintf(out, sizeof out, "%s/%s_labels.png", r->a->out_dir, stem);
    ei_status * st = ei_image_save(&labels, out, 0);
    ei_image_free(&labels);
    if (st) return st;
    EI_TRY(ei_draw_seg_overlay(img, &fr->seg, r->a->alpha, 0));
    snprintf(out, sizeof out, "%s/%s_overlay.jpg", r->a->out_dir, stem);
    return ei_image_save(img, out, 90);
}

/* Runs one batch of images (already decoded) and reports each. */
static void run_batch(vis_run * r, ei_image * imgs, const char ** paths, const int * index, int n,
                      ei_frame_result * res) {
    ei_status * st = ei_infer_run(r->inf, imgs, n, res);
    if (st) {
        /* The message names the frame within the batch; the batch starts at paths[0]. */
        note_failure(r, st, paths[0]);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (r->a->segment)
            report_segmentation(r, paths[i], &imgs[i], &res[i]);
        else
            report_detections(r, paths[i], index[i], &imgs[i], &res[i]);
        st = write_outputs(r, paths[i], &imgs[i], &res[i]);
        if (st) note_failure(r, st, paths[i]);
    }
}

static void log_stderr(void * user, const char * msg) {
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

static int run_command(int argc, char ** argv, bool segment) {
    vis_args a;
    int      rc = parse_args(argc, argv, segment, &a);
    if (rc) {
        free_args(&a);
        return rc < 0 ? EI_EXIT_OK : rc;
    }
    vis_run           r = {.a = &a};
    ei_infer_config * cfg = NULL;
    ei_frame_result * res = NULL;
    ei_image *        imgs = NULL;
    const char **     paths = NULL;
    int *             index = NULL;
    int32_t           batch = 0;
    char              json_tmp[4200] = "";
    ei_status *       st = ei_infer_config_load(a.config, &cfg);
    if (!st && !a.quiet)
        for (int32_t i = 0; i < cfg->n_warnings; i++) fprintf(stderr, "warning: %s\n", cfg->warnings[i]);
    ei_network_type want = segment ? EI_NETWORK_TYPE_SEGMENTATION : EI_NETWORK_TYPE_DETECTOR;
    if (!st && cfg->network_type != want)
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                       "%s has network-type=%d, but `edgeinfer %s` needs network-type=%d; use `edgeinfer %s`", a.config,
                       (int)cfg->network_type, segment ? "segment" : "detect", (int)want,
                       cfg->network_type == EI_NETWORK_TYPE_SEGMENTATION ? "segment"
                       : cfg->network_type == EI_NETWORK_TYPE_DETECTOR   ? "detect"
                                                                         : "run");
    if (!st && a.category_ids) st = ei_cli_read_category_ids(a.category_ids, &r.cat_ids, &r.n_cat_ids);
    if (!st && a.out_dir) st = ensure_dir(a.out_dir);
    if (!st) {
        ei_infer_options io = ei_infer_options_default();
        io.n_threads = a.threads;
        io.cache_dir = a.cache;
        io.log = a.quiet ? NULL : log_stderr;
        st = ei_infer_create(cfg, &io, &r.inf);
    }
    if (!st && r.cat_ids && r.n_cat_ids < ei_infer_num_classes(r.inf))
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "--category-ids %s has %d ids for %d classes", a.category_ids,
                       r.n_cat_ids, ei_infer_num_classes(r.inf));
    if (!st && a.json) {
        /* Written beside the target and renamed at the end: never a half-written file. */
        snprintf(json_tmp, sizeof json_tmp, "%s.tmp", a.json);
        r.json = fopen(json_tmp, "w");
        if (!r.json)
            st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", json_tmp, strerror(errno));
        else
            fputc('[', r.json);
    }
    if (st) {
        rc = ei_cli_fail(st);
        goto done;
    }
    batch = ei_infer_batch_size(r.inf);
    res = calloc((size_t)batch, sizeof *res);
    imgs = calloc((size_t)batch, sizeof *imgs);
    paths = calloc((size_t)batch, sizeof *paths);
    index = calloc((size_t)batch, sizeof *index);
    if (!res || !imgs || !paths || !index) {
        rc = ei_cli_fail(ei_status_oom());
        goto done;
    }
    int n = 0;
    for (int i = 0; i < a.n_images; i++) {
        st = ei_image_load(a.images[i], EI_PIXEL_RGB, &imgs[n]);
        if (st) {
            note_failure(&r, st, NULL);
        } else {
            paths[n] = a.images[i];
            index[n++] = i;
        }
        if (n == batch || (i == a.n_images - 1 && n > 0)) {
            run_batch(&r, imgs, paths, index, n, res);
            for (int k = 0; k < n; k++) ei_image_free(&imgs[k]);
            n = 0;
        }
    }
    if (r.json) {
        fputs(r.n_json ? "\n]\n" : "]\n", r.json);
        int bad = fclose(r.json) != 0;
        r.json = NULL;
        if (bad || rename(json_tmp, a.json) != 0)
            note_failure(&r, ei_errorf(EI_CODE_IO, "cannot write: %s", strerror(errno)), a.json);
        json_tmp[0] = 0;
    }
    if (segment)
        printf("%d image%s segmented%s%s\n", a.n_images, a.n_images == 1 ? "" : "s", a.out_dir ? ", overlays in " : "",
               a.out_dir ? a.out_dir : "");
    else
        printf("%lld object%s in %d image%s%s%s\n", r.n_objects, r.n_objects == 1 ? "" : "s", a.n_images,
               a.n_images == 1 ? "" : "s", a.out_dir ? ", annotated images in " : "", a.out_dir ? a.out_dir : "");
    rc = r.exit_code;
done:
    if (r.json) fclose(r.json);
    if (json_tmp[0]) remove(json_tmp);
    for (int32_t k = 0; res && k < batch; k++) ei_frame_result_free(&res[k]);
    free(res);
    free(imgs);
    free(paths);
    free(index);
    free(r.cat_ids);
    ei_infer_destroy(r.inf);
    ei_infer_config_destroy(cfg);
    free_args(&a);
    return rc;
}

int ei_cmd_detect(int argc, char ** argv) { return run_command(argc, argv, false); }
int ei_cmd_segment(int argc, char ** argv) { return run_command(argc, argv, true); }
