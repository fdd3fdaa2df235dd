/* COCO box evaluation, step for step as pycocotools' COCOeval (cocoeval.py: _prepare, computeIoU,
 * evaluateImg, accumulate, summarize; maskApi.c: bbIou). Every sort is stable where numpy's
 * mergesort is, ties keep file order, and the arithmetic is done in the same order in doubles, so
 * the twelve numbers match pycocotools' to rounding. Categories are processed one at a time
 * (accumulate treats them independently), so memory stays at one category's per-image results. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/eval.h"

#define T_N     10  /* IoU thresholds .50:.05:.95 */
#define R_N     101 /* recall points 0:.01:1 */
#define A_N     4   /* area ranges all, small, medium, large */
#define M_N     3   /* maxDets 1, 10, 100 */
#define MAX_DET 100

static const int32_t g_max_dets[M_N] = {1, 10, 100};
static const double  g_area_rng[A_N][2] = {{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
static const char *  g_area_lbl[A_N] = {"all", "small", "medium", "large"};

/* np.linspace(start, stop, num): i * step + start, the last one exactly stop. */
static void linspace(double start, double stop, int n, double * out) {
    double step = (stop - start) / (double)(n - 1);
    for (int i = 0; i < n; i++) out[i] = (double)i * step + start;
    out[n - 1] = stop;
}

/* ---- stable sorts (indices), as np.argsort(kind='mergesort') ---- */

typedef struct key_idx {
    double  key;
    int32_t idx;
} key_idx;

static int cmp_key_idx(const void * a, const void * b) {
    const key_idx * x = a;
    const key_idx * y = b;
    if (x->key < y->key) return -1;
    if (x->key > y->key) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx); /* ties: original order (stable) */
}

/* order[0..n) = indices sorting key ascending, stably. tmp has room for n. */
static void stable_argsort(const double * key, int32_t n, key_idx * tmp, int32_t * order) {
    for (int32_t i = 0; i < n; i++) {
        tmp[i].key = key[i];
        tmp[i].idx = i;
    }
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_key_idx);
    for (int32_t i = 0; i < n; i++) order[i] = tmp[i].idx;
}

/* maskApi.c bbIou for one pair. */
static double box_iou(const double * d, const double * g, bool crowd) {
    double ga = g[2] * g[3], da = d[2] * d[3];
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    if (w <= 0) return 0;
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    if (h <= 0) return 0;
    double i = w * h;
    double u = crowd ? da : da + ga - i;
    return i / u;
}

/* ---- lookups ---- */

static int cmp_i64(const void * a, const void * b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted unique copy of ids. */
static int32_t sorted_unique(int64_t * ids, int32_t n) {
    qsort(ids, (size_t)n, sizeof *ids, cmp_i64);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (m == 0 || ids[m - 1] != ids[i]) ids[m++] = ids[i];
    return m;
}

static int32_t index_of(const int64_t * sorted, int32_t n, int64_t id) {
    const int64_t * p = bsearch(&id, sorted, (size_t)n, sizeof *sorted, cmp_i64);
    return p ? (int32_t)(p - sorted) : -1;
}

/* Boxes grouped by (category, image), in file order within each group: start[k * I + i] ..
 * start[k * I + i + 1] index into order[]. */
typedef struct groups {
    int32_t * start;
    int32_t * order;
} groups;

static ei_status * group_boxes(const ei_coco_box * b, int32_t n, const int64_t * cats, int32_t K, const int64_t * imgs,
                               int32_t I, groups * g, int64_t * n_kept) {
    size_t    cells = (size_t)K * (size_t)I;
    int32_t * cell = malloc(((size_t)n + 1) * sizeof *cell);
    g->start = calloc(cells + 1, sizeof *g->start);
    g->order = malloc(((size_t)n + 1) * sizeof *g->order);
    if (!cell || !g->start || !g->order) {
        free(cell);
        return ei_status_oom();
    }
    *n_kept = 0;
    for (int32_t j = 0; j < n; j++) {
        int32_t k = index_of(cats, K, b[j].category_id), i = index_of(imgs, I, b[j].image_id);
        cell[j] = k < 0 || i < 0 ? -1 : k * I + i;
        if (cell[j] >= 0) {
            g->start[cell[j] + 1]++;
            (*n_kept)++;
        }
    }
    for (size_t c = 0; c < cells; c++) g->start[c + 1] += g->start[c];
    int32_t * fill = malloc((cells + 1) * sizeof *fill);
    if (!fill) {
        free(cell);
        return ei_status_oom();
    }
    memcpy(fill, g->start, (cells + 1) * sizeof *fill);
    for (int32_t j = 0; j < n; j++)
        if (cell[j] >= 0) g->order[fill[cell[j]]++] = j;
    free(fill);
    free(cell);
    return NULL;
}

/* evaluateImg's result for one (category, area, image), reduced to what accumulate reads. */
typedef struct img_eval {
    bool      present; /* false: evaluateImg returned None (no gt and no detection) */
    int32_t   n_dt;    /* detections kept (<= 100), score order */
    int32_t   npig;    /* gt not ignored */
    uint8_t * matched; /* [T][n_dt]: dtMatches != 0 */
    uint8_t * ignored; /* [T][n_dt]: dtIgnore */
} img_eval;

typedef struct coco_run {
    const ei_coco_gt *   gt;
    const ei_coco_dets * dets;
    int64_t *            cats;
    int64_t *            imgs;
    int32_t              K, I;
    groups               gg, dg;
    double               iou_thr[T_N], rec_thr[R_N];
    double *             precision; /* [T][R][K][A][M] */
    double *             recall;    /* [T][K][A][M] */
    /* per category scratch */
    img_eval * ev;    /* [A][I] */
    int32_t *  dt_of; /* [I][MAX_DET]: detection index (into dets) in score order */
    uint8_t *  pool;  /* flags for ev */
    double *   ious;  /* [MAX_DET][G] of the current image */
    size_t     cap_ious;
    int32_t *  gt_tmp; /* gt order of the current image and area */
    size_t     cap_gt;
    key_idx *  kidx;
    size_t     cap_kidx;
} coco_run;

static ei_status * reserve(void ** p, size_t * cap, size_t need, size_t elem) {
    if (need <= *cap) return NULL;
    size_t n = need > 2 * *cap ? need : 2 * *cap;
    void * q = realloc(*p, n * elem);
    if (!q) return ei_status_oom();
    *p = q;
    *cap = n;
    return NULL;
}

#define PIDX(t, r, k, a, m) (((((size_t)(t)*R_N + (r)) * (size_t)K + (k)) * A_N + (a)) * M_N + (m))
#define RIDX(t, k, a, m)    ((((size_t)(t) * (size_t)K + (k)) * A_N + (a)) * M_N + (m))

/* computeIoU + evaluateImg for category k, image i, every area range. */
static ei_status * eval_image(coco_run * r, int32_t k, int32_t i) {
    size_t              cell = (size_t)k * (size_t)r->I + (size_t)i;
    const int32_t *     gidx = r->gg.order + r->gg.start[cell];
    const int32_t *     didx = r->dg.order + r->dg.start[cell];
    int32_t             G = r->gg.start[cell + 1] - r->gg.start[cell];
    int32_t             Dall = r->dg.start[cell + 1] - r->dg.start[cell];
    const ei_coco_box * gb = r->gt->anns;
    const ei_coco_box * db = r->dets->items;
    for (int32_t a = 0; a < A_N; a++) r->ev[(size_t)a * r->I + i].present = false;
    if (G == 0 && Dall == 0) return NULL;

    /* Detections by score, descending, stable; the first 100. */
    EI_TRY(reserve((void **)&r->kidx, &r->cap_kidx, (size_t)(Dall > G ? Dall : G) + 1, sizeof *r->kidx));
    double *  key = malloc(((size_t)Dall + 1) * sizeof *key);
    int32_t * ord = malloc(((size_t)Dall + 1) * sizeof *ord);
    if (!key || !ord) {
        free(key);
        free(ord);
        return ei_status_oom();
    }
    for (int32_t j = 0; j < Dall; j++) key[j] = -db[didx[j]].score;
    stable_argsort(key, Dall, r->kidx, ord);
    int32_t   D = Dall < MAX_DET ? Dall : MAX_DET;
    int32_t * dt = r->dt_of + (size_t)i * MAX_DET;
    for (int32_t j = 0; j < D; j++) dt[j] = didx[ord[j]];
    free(key);
    free(ord);

    /* ious[d][g] in the gt file order. */
    EI_TRY(reserve((void **)&r->ious, &r->cap_ious, (size_t)D * (size_t)G + 1, sizeof *r->ious));
    for (int32_t d = 0; d < D; d++)
        for (int32_t g = 0; g < G; g++)
            r->ious[(size_t)d * G + g] = box_iou(db[dt[d]].bbox, gb[gidx[g]].bbox, gb[gidx[g]].iscrowd);

    EI_TRY(reserve((void **)&r->gt_tmp, &r->cap_gt, (size_t)G * 4 + 1, sizeof *r->gt_tmp));
    int32_t * gord = r->gt_tmp;          /* sorted gt position -> file position */
    int32_t * gig = r->gt_tmp + G;       /* _ignore of sorted gt */
    int32_t * gtm = r->gt_tmp + 2 * G;   /* matched flag of sorted gt at the current threshold */
    int32_t * crowd = r->gt_tmp + 3 * G; /* iscrowd of sorted gt */
    for (int32_t a = 0; a < A_N; a++) {
        img_eval * e = &r->ev[(size_t)a * r->I + i];
        e->present = true;
        e->n_dt = D;
        /* _ignore = iscrowd or area outside the range; gt sorted ignore-last, stably. */
        int32_t n0 = 0;
        for (int32_t g = 0; g < G; g++) {
            const ei_coco_box * b = &gb[gidx[g]];
            bool                ig = b->iscrowd || b->area < g_area_rng[a][0] || b->area > g_area_rng[a][1];
            if (!ig) gord[n0++] = g;
        }
        e->npig = n0;
        int32_t n1 = n0;
        for (int32_t g = 0; g < G; g++) {
            const ei_coco_box * b = &gb[gidx[g]];
            bool                ig = b->iscrowd || b->area < g_area_rng[a][0] || b->area > g_area_rng[a][1];
            if (ig) gord[n1++] = g;
        }
        for (int32_t g = 0; g < G; g++) {
            gig[g] = g >= n0;
            crowd[g] = gb[gidx[gord[g]]].iscrowd;
        }
        memset(e->matched, 0, (size_t)T_N * MAX_DET);
        memset(e->ignored, 0, (size_t)T_N * MAX_DET);
        if (G > 0 && D > 0) {
            for (int32_t t = 0; t < T_N; t++) {
                for (int32_t g = 0; g < G; g++) gtm[g] = 0;
                uint8_t * dtm = e->matched + (size_t)t * MAX_DET;
                uint8_t * dig = e->ignored + (size_t)t * MAX_DET;
                for (int32_t d = 0; d < D; d++) {
                    double  iou = fmin(r->iou_thr[t], 1 - 1e-10);
                    int32_t m = -1;
                    for (int32_t g = 0; g < G; g++) {
                        if (gtm[g] && !crowd[g]) continue;
                        if (m > -1 && gig[m] == 0 && gig[g] == 1) break;
                        double v = r->ious[(size_t)d * G + gord[g]];
                        if (v < iou) continue;
                        iou = v;
                        m = g;
                    }
                    if (m == -1) continue;
                    dig[d] = (uint8_t)gig[m];
                    /* dtMatches holds the gt's id: an id of 0 reads as "unmatched" downstream. */
                    dtm[d] = gb[gidx[gord[m]]].id != 0;
                    gtm[m] = 1; /* detection ids are >= 1 */
                }
            }
        }
        /* Unmatched detections outside the area range are ignored. */
        for (int32_t d = 0; d < D; d++) {
            double area = db[dt[d]].area;
            if (!(area < g_area_rng[a][0] || area > g_area_rng[a][1])) continue;
            for (int32_t t = 0; t < T_N; t++)
                if (!e->matched[(size_t)t * MAX_DET + d]) e->ignored[(size_t)t * MAX_DET + d] = 1;
        }
    }
    return NULL;
}

/* accumulate() for category k (after eval_image for all images). */
static ei_status * accumulate_category(coco_run * r, int32_t k) {
    int32_t     K = r->K, I = r->I;
    size_t      cap = (size_t)I * MAX_DET + 1;
    double *    sc = malloc(cap * sizeof *sc);
    int32_t *   src_img = malloc(cap * sizeof *src_img);
    int32_t *   src_pos = malloc(cap * sizeof *src_pos);
    int32_t *   ord = malloc(cap * sizeof *ord);
    double *    pr = malloc(cap * sizeof *pr);
    double *    rc = malloc(cap * sizeof *rc);
    key_idx *   kidx = malloc(cap * sizeof *kidx);
    ei_status * st = NULL;
    if (!sc || !src_img || !src_pos || !ord || !pr || !rc || !kidx) {
        st = ei_status_oom();
        goto done;
    }
    for (int32_t a = 0; a < A_N; a++) {
        for (int32_t m = 0; m < M_N; m++) {
            int32_t maxdet = g_max_dets[m];
            int32_t n = 0, n_present = 0;
            int64_t npig = 0;
            for (int32_t i = 0; i < I; i++) {
                const img_eval * e = &r->ev[(size_t)a * I + i];
                if (!e->present) continue;
                n_present++;
                npig += e->npig;
                int32_t nd = e->n_dt < maxdet ? e->n_dt : maxdet;
                for (int32_t d = 0; d < nd; d++) {
                    sc[n] = -r->dets->items[r->dt_of[(size_t)i * MAX_DET + d]].score;
                    src_img[n] = i;
                    src_pos[n] = d;
                    n++;
                }
            }
            if (n_present == 0 || npig == 0) continue;
            stable_argsort(sc, n, kidx, ord);
            for (int32_t t = 0; t < T_N; t++) {
                double  tp = 0, fp = 0;
                int32_t nd = 0;
                for (int32_t j = 0; j < n; j++) {
                    int32_t          o = ord[j];
                    const img_eval * e = &r->ev[(size_t)a * I + src_img[o]];
                    size_t           f = (size_t)t * MAX_DET + (size_t)src_pos[o];
                    if (e->ignored[f]) {
                        /* neither tp nor fp: the cumulative sums repeat */
                    } else if (e->matched[f]) {
                        tp += 1;
                    } else {
                        fp += 1;
                    }
                    rc[nd] = tp / (double)npig;
                    pr[nd] = tp / (fp + tp + DBL_EPSILON);
                    nd++;
                }
                r->recall[RIDX(t, k, a, m)] = nd ? rc[nd - 1] : 0;
                for (int32_t j = nd - 1; j > 0; j--)
                    if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
                /* searchsorted(rc, recThrs, 'left'); past the end, the rest stay 0. */
                int32_t pi = 0;
                for (int32_t ri = 0; ri < R_N; ri++) {
                    while (pi < nd && rc[pi] < r->rec_thr[ri]) pi++;
                    double q = 0;
                    if (pi < nd) {
                        q = pr[pi];
                    } else {
                        for (int32_t rj = ri; rj < R_N; rj++) r->precision[PIDX(t, rj, k, a, m)] = 0;
                        break;
                    }
                    r->precision[PIDX(t, ri, k, a, m)] = q;
                }
            }
        }
    }
done:
    free(sc);
    free(src_img);
    free(src_pos);
    free(ord);
    free(pr);
    free(rc);
    free(kidx);
    return st;
}

/* summarize()'s _summarize: mean of the entries > -1, or -1. */
static double summarize(const coco_run * r, bool ap, int32_t t_only, int32_t a, int32_t m) {
    int32_t K = r->K;
    double  sum = 0;
    int64_t n = 0;
    for (int32_t t = 0; t < T_N; t++) {
        if (t_only >= 0 && t != t_only) continue;
        for (int32_t k = 0; k < K; k++) {
            if (ap) {
                for (int32_t ri = 0; ri < R_N; ri++) {
                    double v = r->precision[PIDX(t, ri, k, a, m)];
                    if (v > -1) {
                        sum += v;
                        n++;
                    }
                }
            } else {
                double v = r->recall[RIDX(t, k, a, m)];
                if (v > -1) {
                    sum += v;
                    n++;
                }
            }
        }
    }
    return n ? sum / (double)n : -1;
}

static int32_t threshold_index(const coco_run * r, double thr) {
    for (int32_t t = 0; t < T_N; t++)
        if (r->iou_thr[t] == thr) return t; /* np.where(iouThr == p.iouThrs) */
    return -2;                              /* matches nothing: the mean of nothing is -1 */
}

ei_status * ei_coco_evaluate(const ei_coco_gt * gt, const ei_coco_dets * dets, ei_coco_metrics * out) {
    memset(out, 0, sizeof *out);
    if (!gt || !dets) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_coco_evaluate: NULL ground truth or detections");
    coco_run    r = {.gt = gt, .dets = dets};
    ei_status * st = NULL;
    linspace(0.5, 0.95, T_N, r.iou_thr);
    linspace(0.0, 1.0, R_N, r.rec_thr);
    r.cats = malloc(((size_t)gt->n_cats + 1) * sizeof *r.cats);
    r.imgs = malloc(((size_t)gt->n_images + 1) * sizeof *r.imgs);
    if (!r.cats || !r.imgs) {
        st = ei_status_oom();
        goto done;
    }
    for (int32_t k = 0; k < gt->n_cats; k++) r.cats[k] = gt->cats[k].id;
    for (int32_t i = 0; i < gt->n_images; i++) r.imgs[i] = gt->images[i].id;
    r.K = sorted_unique(r.cats, gt->n_cats);
    r.I = sorted_unique(r.imgs, gt->n_images);
    int32_t K = r.K;
    if ((size_t)K * (size_t)r.I > (size_t)INT32_MAX / 4) {
        st = ei_errorf(EI_CODE_INVALID_ARGUMENT, "%d categories x %d images is too many to evaluate", K, r.I);
        goto done;
    }
    out->n_images = r.I;
    out->n_categories = K;
    if ((st = group_boxes(gt->anns, gt->n_anns, r.cats, K, r.imgs, r.I, &r.gg, &out->n_gt))) goto done;
    if ((st = group_boxes(dets->items, dets->count, r.cats, K, r.imgs, r.I, &r.dg, &out->n_dets))) goto done;

    size_t np = (size_t)T_N * R_N * (size_t)K * A_N * M_N, nr = (size_t)T_N * (size_t)K * A_N * M_N;
    r.precision = malloc((np + 1) * sizeof *r.precision);
    r.recall = malloc((nr + 1) * sizeof *r.recall);
    r.ev = calloc((size_t)A_N * (size_t)r.I + 1, sizeof *r.ev);
    r.dt_of = malloc(((size_t)r.I * MAX_DET + 1) * sizeof *r.dt_of);
    r.pool = malloc((size_t)A_N * (size_t)r.I * 2 * T_N * MAX_DET + 1);
    if (!r.precision || !r.recall || !r.ev || !r.dt_of || !r.pool) {
        st = ei_status_oom();
        goto done;
    }
    for (size_t j = 0; j < np; j++) r.precision[j] = -1;
    for (size_t j = 0; j < nr; j++) r.recall[j] = -1;
    for (size_t j = 0; j < (size_t)A_N * (size_t)r.I; j++) {
        r.ev[j].matched = r.pool + j * 2 * T_N * MAX_DET;
        r.ev[j].ignored = r.ev[j].matched + T_N * MAX_DET;
    }
    for (int32_t k = 0; k < K && !st; k++) {
        for (int32_t i = 0; i < r.I && !st; i++) st = eval_image(&r, k, i);
        if (!st) st = accumulate_category(&r, k);
    }
    if (st) goto done;

    int32_t t50 = threshold_index(&r, 0.5), t75 = threshold_index(&r, 0.75);
    out->stats[0] = summarize(&r, true, -1, 0, 2);
    out->stats[1] = summarize(&r, true, t50, 0, 2);
    out->stats[2] = summarize(&r, true, t75, 0, 2);
    out->stats[3] = summarize(&r, true, -1, 1, 2);
    out->stats[4] = summarize(&r, true, -1, 2, 2);
    out->stats[5] = summarize(&r, true, -1, 3, 2);
    out->stats[6] = summarize(&r, false, -1, 0, 0);
    out->stats[7] = summarize(&r, false, -1, 0, 1);
    out->stats[8] = summarize(&r, false, -1, 0, 2);
    out->stats[9] = summarize(&r, false, -1, 1, 2);
    out->stats[10] = summarize(&r, false, -1, 2, 2);
    out->stats[11] = summarize(&r, false, -1, 3, 2);
done:
    free(r.cats);
    free(r.imgs);
    free(r.gg.start);
    free(r.gg.order);
    free(r.dg.start);
    free(r.dg.order);
    free(r.precision);
    free(r.recall);
    free(r.ev);
    free(r.dt_of);
    free(r.pool);
    free(r.ious);
    free(r.gt_tmp);
    free(r.kidx);
    return st;
}

static const char * const g_stat_names[EI_COCO_N_STATS] = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                           "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

const char * ei_coco_stat_name(int32_t i) { return i >= 0 && i < EI_COCO_N_STATS ? g_stat_names[i] : NULL; }

void ei_coco_format_stat(const ei_coco_metrics * m, int32_t i, char * buf, size_t n) {
    if (!buf || !n) return;
    if (i < 0 || i >= EI_COCO_N_STATS) {
        buf[0] = 0;
        return;
    }
    static const char * const iou[EI_COCO_N_STATS] = {"0.50:0.95", "0.50",      "0.75",      "0.50:0.95",
                                                      "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95",
                                                      "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95"};
    static const int32_t      area[EI_COCO_N_STATS] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
    static const int32_t      maxd[EI_COCO_N_STATS] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
    bool                      ap = i < 6;
    /* ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}' */
    snprintf(buf, n, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
             ap ? "Average Precision" : "Average Recall", ap ? "(AP)" : "(AR)", iou[i], g_area_lbl[area[i]], maxd[i],
             m->stats[i]);
}
