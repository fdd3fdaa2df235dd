/* COCO instances files and results files, read with the bounded JSON reader (vision/json.h).
 * What is kept and how it is defaulted follows pycocotools' COCO() and COCO.loadRes (bbox). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/eval.h"
#include "eval/eval_internal.h"
#include "vision/json.h"

ei_status * ei_eval_read_file(const char * path, const char * what, char ** text, size_t * n) {
    *text = NULL;
    *n = 0;
    FILE * f = fopen(path, "rb");
    if (!f) return ei_errorf(EI_CODE_NOT_FOUND, "cannot open %s '%s': %s", what, path, strerror(errno));
    /* Read in growing chunks (pipes cannot seek), up to one byte past the limit to notice it. */
    const size_t max_cap = EI_JSON_MAX_BYTES + 2;
    char *       buf = NULL;
    size_t       len = 0, cap = 0;
    ei_status *  st = NULL;
    for (;;) {
        if (cap - len < 2) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 16;
            char * g = realloc(buf, ncap < max_cap ? ncap : max_cap);
            if (!g) {
                st = ei_status_oom();
                break;
            }
            buf = g;
            cap = ncap < max_cap ? ncap : max_cap;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (len > EI_JSON_MAX_BYTES) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s '%s' is larger than %zu bytes, the JSON reader's limit", what,
                           path, (size_t)EI_JSON_MAX_BYTES);
            break;
        }
        if (got == 0) {
            if (ferror(f)) st = ei_errorf(EI_CODE_IO, "cannot read %s '%s': %s", what, path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[len] = 0;
    *text = buf;
    *n = len;
    return NULL;
}

/* ---- small JSON helpers ---- */

static ei_status * at(const char * name, const ei_json * v, const char * fmt, const char * what, const char * key) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what, key);
    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d, column %d: %s", name, (int)v->line, (int)v->column, msg);
}

/* An integer member (ids): a JSON number without fraction within +-2^53. */
static ei_status * get_id(const char * name, const ei_json * obj, const char * key, const char * what, bool required,
                          int64_t dflt, int64_t * out) {
    const ei_json * v = ei_json_object_get(obj, key);
    if (!v) {
        if (required) return at(name, obj, "%s has no \"%s\"", what, key);
        *out = dflt;
        return NULL;
    }
    if (v->type != EI_JSON_TYPE_NUMBER || v->number != floor(v->number) || fabs(v->number) > 9007199254740992.0)
        return at(name, v, "%s: \"%s\" must be an integer", what, key);
    *out = (int64_t)v->number;
    return NULL;
}

static ei_status * get_number(const char * name, const ei_json * obj, const char * key, const char * what,
                              double * out) {
    const ei_json * v = ei_json_object_get(obj, key);
    if (!v) return at(name, obj, "%s has no \"%s\"", what, key);
    if (v->type != EI_JSON_TYPE_NUMBER || !isfinite(v->number))
        return at(name, v, "%s: \"%s\" must be a finite number", what, key);
    *out = v->number;
    return NULL;
}

static ei_status * get_bbox(const char * name, const ei_json * obj, const char * what, double bbox[4]) {
    const ei_json * v = ei_json_object_get(obj, "bbox");
    if (!v) return at(name, obj, "%s has no \"%s\"", what, "bbox");
    if (v->type != EI_JSON_TYPE_ARRAY || v->n_children != 4)
        return at(name, v, "%s: \"%s\" must be a list of 4 numbers [x, y, width, height]", what, "bbox");
    int i = 0;
    for (const ei_json * c = v->child; c; c = c->next, i++) {
        if (c->type != EI_JSON_TYPE_NUMBER || !isfinite(c->number))
            return at(name, c, "%s: \"%s\" must be a list of 4 numbers [x, y, width, height]", what, "bbox");
        bbox[i] = c->number;
    }
    return NULL;
}

static char * dup_string(const ei_json * obj, const char * key) {
    const ei_json * v = ei_json_object_get(obj, key);
    return strdup(v && v->type == EI_JSON_TYPE_STRING ? v->str : "");
}

static const ei_json * get_list(const char * name, const ei_json * doc, const char * key, ei_status ** st) {
    const ei_json * v = ei_json_object_get(doc, key);
    *st = NULL;
    if (!v)
        *st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                        "%s: no \"%s\" list: a COCO instances file has \"images\", \"annotations\" and \"categories\"",
                        name, key);
    else if (v->type != EI_JSON_TYPE_ARRAY)
        *st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d, column %d: \"%s\" is a %s, not a list", name,
                        (int)v->line, (int)v->column, key, ei_json_type_name(v->type));
    return v;
}

static ei_status * need_object(const char * name, const ei_json * v, const char * what) {
    if (v->type == EI_JSON_TYPE_OBJECT) return NULL;
    return ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: line %d, column %d: %s is a %s, not an object", name, (int)v->line,
                     (int)v->column, what, ei_json_type_name(v->type));
}

/* ---- ground truth ---- */

void ei_coco_gt_destroy(ei_coco_gt * gt) {
    if (!gt) return;
    for (int32_t i = 0; i < gt->n_images; i++) free(gt->images[i].file_name);
    for (int32_t i = 0; i < gt->n_cats; i++) free(gt->cats[i].name);
    free(gt->images);
    free(gt->anns);
    free(gt->cats);
    free(gt);
}

static int cmp_i64(const void * a, const void * b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Duplicate ids among n values (sorted copy); the first duplicate into *dup. */
static ei_status * find_duplicate(const int64_t * ids, int32_t n, bool * found, int64_t * dup) {
    *found = false;
    if (n < 2) return NULL;
    int64_t * s = malloc((size_t)n * sizeof *s);
    if (!s) return ei_status_oom();
    memcpy(s, ids, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_i64);
    for (int32_t i = 1; i < n && !*found; i++)
        if (s[i] == s[i - 1]) {
            *found = true;
            *dup = s[i];
        }
    free(s);
    return NULL;
}

static ei_status * gt_from_doc(const ei_json * doc, const char * name, ei_coco_gt * gt) {
    if (doc->type != EI_JSON_TYPE_OBJECT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: the document is a %s, not a COCO instances object (\"images\", \"annotations\", "
                         "\"categories\")%s",
                         name, ei_json_type_name(doc->type),
                         doc->type == EI_JSON_TYPE_ARRAY ? "; a list is a results file: pass it as --detections" : "");
    ei_status *     st;
    const ei_json * images = get_list(name, doc, "images", &st);
    if (st) return st;
    const ei_json * anns = get_list(name, doc, "annotations", &st);
    if (st) return st;
    const ei_json * cats = get_list(name, doc, "categories", &st);
    if (st) return st;

    gt->images = calloc((size_t)images->n_children + 1, sizeof *gt->images);
    gt->anns = calloc((size_t)anns->n_children + 1, sizeof *gt->anns);
    gt->cats = calloc((size_t)cats->n_children + 1, sizeof *gt->cats);
    if (!gt->images || !gt->anns || !gt->cats) return ei_status_oom();

    for (const ei_json * v = images->child; v; v = v->next) {
        EI_TRY(need_object(name, v, "an entry of \"images\""));
        ei_coco_image * im = &gt->images[gt->n_images];
        int64_t         w, h;
        EI_TRY(get_id(name, v, "id", "image", true, 0, &im->id));
        EI_TRY(get_id(name, v, "width", "image", false, 0, &w));
        EI_TRY(get_id(name, v, "height", "image", false, 0, &h));
        if (w < 0 || h < 0 || w > INT32_MAX || h > INT32_MAX)
            return at(name, v, "%s: \"%s\" out of range", "image", "width/height");
        im->width = (int32_t)w;
        im->height = (int32_t)h;
        im->file_name = dup_string(v, "file_name");
        gt->n_images++;
        if (!im->file_name) return ei_status_oom();
    }
    for (const ei_json * v = cats->child; v; v = v->next) {
        EI_TRY(need_object(name, v, "an entry of \"categories\""));
        ei_coco_category * c = &gt->cats[gt->n_cats];
        EI_TRY(get_id(name, v, "id", "category", true, 0, &c->id));
        c->name = dup_string(v, "name");
        gt->n_cats++;
        if (!c->name) return ei_status_oom();
    }
    for (const ei_json * v = anns->child; v; v = v->next) {
        EI_TRY(need_object(name, v, "an entry of \"annotations\""));
        ei_coco_box * a = &gt->anns[gt->n_anns];
        int64_t       crowd;
        EI_TRY(get_id(name, v, "id", "annotation", true, 0, &a->id));
        EI_TRY(get_id(name, v, "image_id", "annotation", true, 0, &a->image_id));
        EI_TRY(get_id(name, v, "category_id", "annotation", true, 0, &a->category_id));
        EI_TRY(get_bbox(name, v, "annotation", a->bbox));
        EI_TRY(get_number(name, v, "area", "annotation", &a->area));
        const ei_json * c = ei_json_object_get(v, "iscrowd");
        if (c && (c->type == EI_JSON_TYPE_TRUE || c->type == EI_JSON_TYPE_FALSE))
            crowd = c->type == EI_JSON_TYPE_TRUE;
        else
            EI_TRY(get_id(name, v, "iscrowd", "annotation", false, 0, &crowd));
        a->iscrowd = crowd != 0;
        gt->n_anns++;
    }

    /* Ids must be unique where pycocotools indexes by them (a dict would keep only the last). */
    int32_t   nmax = gt->n_images > gt->n_cats ? gt->n_images : gt->n_cats;
    int64_t * ids = malloc(((size_t)nmax + 1) * sizeof *ids);
    if (!ids) return ei_status_oom();
    bool    found;
    int64_t dup = 0;
    for (int32_t i = 0; i < gt->n_images; i++) ids[i] = gt->images[i].id;
    st = find_duplicate(ids, gt->n_images, &found, &dup);
    if (!st && found) st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: image id %lld appears twice", name, (long long)dup);
    if (!st) {
        for (int32_t i = 0; i < gt->n_cats; i++) ids[i] = gt->cats[i].id;
        st = find_duplicate(ids, gt->n_cats, &found, &dup);
        if (!st && found)
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%s: category id %lld appears twice", name, (long long)dup);
    }
    free(ids);
    return st;
}

ei_status * ei_coco_gt_parse(const char * text, size_t n, const char * name, ei_coco_gt ** out) {
    *out = NULL;
    if (!name) name = "annotations";
    ei_json * doc = NULL;
    EI_TRY(ei_json_parse(text, n, name, &doc));
    ei_coco_gt * gt = calloc(1, sizeof *gt);
    ei_status *  st = gt ? gt_from_doc(doc, name, gt) : ei_status_oom();
    ei_json_destroy(doc);
    if (st) {
        ei_coco_gt_destroy(gt);
        return st;
    }
    *out = gt;
    return NULL;
}

ei_status * ei_coco_gt_load(const char * path, ei_coco_gt ** out) {
    *out = NULL;
    char * text;
    size_t n;
    EI_TRY(ei_eval_read_file(path, "annotation file", &text, &n));
    ei_status * st = ei_coco_gt_parse(text, n, path, out);
    free(text);
    return st;
}

const ei_coco_image * ei_coco_gt_find_image(const ei_coco_gt * gt, int64_t image_id) {
    for (int32_t i = 0; gt && i < gt->n_images; i++)
        if (gt->images[i].id == image_id) return &gt->images[i];
    return NULL;
}

/* ---- detections ---- */

ei_status * ei_coco_dets_create(ei_coco_dets ** out) {
    *out = calloc(1, sizeof **out);
    return *out ? NULL : ei_status_oom();
}

void ei_coco_dets_destroy(ei_coco_dets * d) {
    if (!d) return;
    free(d->items);
    free(d);
}

ei_status * ei_coco_dets_add(ei_coco_dets * d, int64_t image_id, int64_t category_id, const double bbox[4],
                             double score) {
    if (!isfinite(score) || !isfinite(bbox[0]) || !isfinite(bbox[1]) || !isfinite(bbox[2]) || !isfinite(bbox[3]))
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "detection %d: score and bbox must be finite numbers",
                         (int)d->count + 1);
    if (d->count == d->capacity) {
        if (d->capacity >= INT32_MAX / 2) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "too many detections");
        int32_t       cap = d->capacity ? d->capacity * 2 : 256;
        ei_coco_box * g = realloc(d->items, (size_t)cap * sizeof *g);
        if (!g) return ei_status_oom();
        d->items = g;
        d->capacity = cap;
    }
    ei_coco_box * b = &d->items[d->count++];
    memset(b, 0, sizeof *b);
    b->id = d->count;
    b->image_id = image_id;
    b->category_id = category_id;
    memcpy(b->bbox, bbox, sizeof b->bbox);
    b->area = bbox[2] * bbox[3];
    b->score = score;
    return NULL;
}

static bool has_category(const ei_coco_gt * gt, int64_t id) {
    for (int32_t i = 0; i < gt->n_cats; i++)
        if (gt->cats[i].id == id) return true;
    return false;
}

/* Sorted image ids for bsearch. */
static ei_status * sorted_image_ids(const ei_coco_gt * gt, int64_t ** out) {
    *out = malloc(((size_t)gt->n_images + 1) * sizeof **out);
    if (!*out) return ei_status_oom();
    for (int32_t i = 0; i < gt->n_images; i++) (*out)[i] = gt->images[i].id;
    qsort(*out, (size_t)gt->n_images, sizeof **out, cmp_i64);
    return NULL;
}

static ei_status * dets_from_doc(const ei_json * doc, const char * name, const ei_coco_gt * gt, ei_coco_dets * d) {
    if (doc->type != EI_JSON_TYPE_ARRAY)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: the document is a %s, not a results list [{\"image_id\", \"category_id\", \"bbox\", "
                         "\"score\"}, ...]%s",
                         name, ei_json_type_name(doc->type),
                         doc->type == EI_JSON_TYPE_OBJECT ? "; an object is an annotation file: pass it as --coco"
                                                          : "");
    int64_t * img_ids = NULL;
    EI_TRY(sorted_image_ids(gt, &img_ids));
    ei_status * st = NULL;
    int64_t     last_cat = INT64_MIN; /* one-entry cache: results come grouped by class */
    bool        last_known = false;
    for (const ei_json * v = doc->child; v && !st; v = v->next) {
        int64_t image_id, cat;
        double  bbox[4], score;
        if ((st = need_object(name, v, "a result"))) break;
        if ((st = get_id(name, v, "image_id", "result", true, 0, &image_id))) break;
        if ((st = get_id(name, v, "category_id", "result", true, 0, &cat))) break;
        if ((st = get_bbox(name, v, "result", bbox))) break;
        if ((st = get_number(name, v, "score", "result", &score))) break;
        if (!bsearch(&image_id, img_ids, (size_t)gt->n_images, sizeof *img_ids, cmp_i64)) {
            st = ei_errorf(EI_CODE_INVALID_ARGUMENT,
                           "%s: line %d, column %d: result for image_id %lld, which the annotation file does not have "
                           "(results must belong to the annotated images)",
                           name, (int)v->line, (int)v->column, (long long)image_id);
            break;
        }
        if (cat != last_cat) {
            last_cat = cat;
            last_known = has_category(gt, cat);
        }
        /* Counted as loadRes numbers it (id = position + 1), even when dropped below. */
        if ((st = ei_coco_dets_add(d, image_id, cat, bbox, score))) break;
        if (!last_known) {
            if (!d->n_unknown_category) d->first_unknown_category = cat;
            d->n_unknown_category++;
        }
    }
    free(img_ids);
    if (st) return st;
    if (d->count > 0 && d->n_unknown_category == d->count)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "%s: none of the %d results has a category_id of the annotation file (the first is %lld); "
                         "map class indices to COCO ids (edgeinfer eval --category-ids)",
                         name, (int)d->count, (long long)d->first_unknown_category);
    return NULL;
}

ei_status * ei_coco_dets_parse(const char * text, size_t n, const char * name, const ei_coco_gt * gt,
                               ei_coco_dets ** out) {
    *out = NULL;
    if (!name) name = "results";
    ei_json * doc = NULL;
    EI_TRY(ei_json_parse(text, n, name, &doc));
    ei_coco_dets * d = NULL;
    ei_status *    st = ei_coco_dets_create(&d);
    if (!st) st = dets_from_doc(doc, name, gt, d);
    ei_json_destroy(doc);
    if (st) {
        ei_coco_dets_destroy(d);
        return st;
    }
    *out = d;
    return NULL;
}

ei_status * ei_coco_dets_load(const char * path, const ei_coco_gt * gt, ei_coco_dets ** out) {
    *out = NULL;
    char * text;
    size_t n;
    EI_TRY(ei_eval_read_file(path, "detections file", &text, &n));
    ei_status * st = ei_coco_dets_parse(text, n, path, gt, out);
    free(text);
    return st;
}

ei_status * ei_coco_dets_save(const ei_coco_dets * d, const char * path) {
    size_t len = strlen(path);
    char * tmp = malloc(len + 5);
    if (!tmp) return ei_status_oom();
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE * f = fopen(tmp, "w");
    if (!f) {
        ei_status * st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    fputc('[', f);
    for (int32_t i = 0; i < d->count; i++) {
        const ei_coco_box * b = &d->items[i];
        /* %.17g: the numbers read back bit for bit, so a re-evaluation gives the same metrics. */
        fprintf(f,
                "%s\n{\"image_id\": %lld, \"category_id\": %lld, \"bbox\": [%.17g, %.17g, %.17g, %.17g], "
                "\"score\": %.17g}",
                i ? "," : "", (long long)b->image_id, (long long)b->category_id, b->bbox[0], b->bbox[1], b->bbox[2],
                b->bbox[3], b->score);
    }
    fputs(d->count ? "\n]\n" : "]\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        ei_status * st = ei_errorf(EI_CODE_IO, "cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return NULL;
}
