/* Greedy non-maximum suppression and nvinfer-style clustering (cluster-mode=2).
 * Both work in place without allocating: a stable in-place merge sort (insertion-sorted blocks
 * merged by rotation, as Go's sort.Stable) orders the boxes once, then each box is compared with
 * the boxes already kept, which sit compacted at the front of the array. */
#include <math.h>
#include <string.h>

#include "edgeinfer/detect.h"

ei_class_attrs ei_class_attrs_default(void) {
    ei_class_attrs a;
    memset(&a, 0, sizeof(a));
    a.pre_cluster_threshold = 0.2f;
    a.post_cluster_threshold = 0.0f;
    a.nms_iou_threshold = 0.3f;
    a.topk = -1;
    return a;
}

/* Same arithmetic as torchvision.ops.box_iou (float32): an empty union gives 0, not NaN. */
float ei_box_iou(const ei_detection * a, const ei_detection * b) {
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (iw <= 0.0f || ih <= 0.0f) return 0.0f;
    float inter = iw * ih;
    float area_a = (a->x2 - a->x1) * (a->y2 - a->y1);
    float area_b = (b->x2 - b->x1) * (b->y2 - b->y1);
    float uni = area_a + area_b - inter;
    return uni > 0.0f ? inter / uni : 0.0f;
}

/* ---- stable in-place sort by score, descending ---- */

static int ei_before(const ei_detection * d, int32_t i, int32_t j) { return d[i].score > d[j].score; }

static void ei_swap(ei_detection * d, int32_t i, int32_t j) {
    ei_detection t = d[i];
    d[i] = d[j];
    d[j] = t;
}

static void ei_swap_range(ei_detection * d, int32_t a, int32_t b, int32_t n) {
    for (int32_t i = 0; i < n; i++) ei_swap(d, a + i, b + i);
}

static void ei_insertion_sort(ei_detection * d, int32_t a, int32_t b) {
    for (int32_t i = a + 1; i < b; i++)
        for (int32_t j = i; j > a && ei_before(d, j, j - 1); j--) ei_swap(d, j, j - 1);
}

/* Rotates [a, m) and [m, b) so that [m, b) comes first. */
static void ei_rotate(ei_detection * d, int32_t a, int32_t m, int32_t b) {
    int32_t i = m - a, j = b - m;
    while (i != j) {
        if (i > j) {
            ei_swap_range(d, m - i, m, j);
            i -= j;
        } else {
            ei_swap_range(d, m - i, m + j - i, i);
            j -= i;
        }
    }
    ei_swap_range(d, m - i, m, i);
}

/* Merges the sorted runs [a, m) and [m, b) in place (SymMerge, Kim and Kutzner 2004). */
static void ei_sym_merge(ei_detection * d, int32_t a, int32_t m, int32_t b) {
    if (m - a == 1) {
        int32_t i = m, j = b;
        while (i < j) {
            int32_t h = (int32_t)((uint32_t)(i + j) >> 1);
            if (ei_before(d, h, a))
                i = h + 1;
            else
                j = h;
        }
        for (int32_t k = a; k < i - 1; k++) ei_swap(d, k, k + 1);
        return;
    }
    if (b - m == 1) {
        int32_t i = a, j = m;
        while (i < j) {
            int32_t h = (int32_t)((uint32_t)(i + j) >> 1);
            if (!ei_before(d, m, h))
                i = h + 1;
            else
                j = h;
        }
        for (int32_t k = m; k > i; k--) ei_swap(d, k, k - 1);
        return;
    }
    int32_t mid = (int32_t)((uint32_t)(a + b) >> 1);
    int32_t n = mid + m, start, r;
    if (m > mid) {
        start = n - b;
        r = mid;
    } else {
        start = a;
        r = m;
    }
    int32_t p = n - 1;
    while (start < r) {
        int32_t c = (int32_t)((uint32_t)(start + r) >> 1);
        if (!ei_before(d, p - c, c))
            start = c + 1;
        else
            r = c;
    }
    int32_t end = n - start;
    if (start < m && m < end) ei_rotate(d, start, m, end);
    if (a < start && start < mid) ei_sym_merge(d, a, start, mid);
    if (mid < end && end < b) ei_sym_merge(d, mid, end, b);
}

static void ei_sort_by_score(ei_detection * d, int32_t n) {
    const int32_t block = 20;
    int32_t       a = 0, b = block;
    while (b <= n) {
        ei_insertion_sort(d, a, b);
        a = b;
        b += block;
    }
    ei_insertion_sort(d, a, n);
    for (int32_t size = block; size < n; size *= 2) {
        a = 0;
        b = 2 * size;
        while (b <= n) {
            ei_sym_merge(d, a, a + size, b);
            a = b;
            b += 2 * size;
        }
        if (a + size < n) ei_sym_merge(d, a, a + size, n);
        if (size > n / 2) break; /* size * 2 would not be < n; also avoids overflow */
    }
}

/* ---- NMS ---- */

int32_t ei_nms(ei_detection * d, int32_t n, float iou_threshold, int class_agnostic, int32_t topk) {
    if (!d || n <= 0) return 0;
    ei_sort_by_score(d, n);
    int32_t kept = 0;
    for (int32_t i = 0; i < n; i++) {
        if (topk > 0 && kept >= topk) break;
        int suppressed = 0;
        for (int32_t k = 0; k < kept && !suppressed; k++) {
            if (!class_agnostic && d[k].class_id != d[i].class_id) continue;
            suppressed = ei_box_iou(&d[k], &d[i]) > iou_threshold;
        }
        if (!suppressed) d[kept++] = d[i];
    }
    return kept;
}

/* Per-class counts for topk live on the stack up to this many classes; beyond it they are
 * counted by scanning the kept boxes (quadratic in the kept count, never allocating). */
#define EI_CLUSTER_STACK_CLASSES 1024

int32_t ei_cluster(ei_detection * d, int32_t n, const ei_class_attrs * attrs, int32_t n_classes, int class_agnostic,
                   int32_t topk) {
    if (!d || !attrs || n <= 0 || n_classes <= 0) return 0;
    /* Pre-cluster threshold, unknown classes dropped (NaN scores fail the comparison too). */
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t c = d[i].class_id;
        if (c < 0 || c >= n_classes || !(d[i].score >= attrs[c].pre_cluster_threshold)) continue;
        d[m++] = d[i];
    }
    ei_sort_by_score(d, m);
    /* Greedy NMS; a box is suppressed by a kept box when their IoU exceeds the suppressed box's
     * own class threshold (the same thing class-wise, where both share the class). */
    int32_t kept = 0;
    for (int32_t i = 0; i < m; i++) {
        float thr = attrs[d[i].class_id].nms_iou_threshold;
        int   suppressed = 0;
        for (int32_t k = 0; k < kept && !suppressed; k++) {
            if (!class_agnostic && d[k].class_id != d[i].class_id) continue;
            suppressed = ei_box_iou(&d[k], &d[i]) > thr;
        }
        if (!suppressed) d[kept++] = d[i];
    }
    /* Post-cluster threshold, size limits, per-class topk, overall topk: one pass in score order. */
    int32_t counts[EI_CLUSTER_STACK_CLASSES];
    int     use_counts = n_classes <= EI_CLUSTER_STACK_CLASSES;
    if (use_counts) memset(counts, 0, (size_t)n_classes * sizeof(counts[0]));
    int32_t out = 0;
    for (int32_t i = 0; i < kept; i++) {
        if (topk > 0 && out >= topk) break;
        const ei_class_attrs * a = &attrs[d[i].class_id];
        float                  w = d[i].x2 - d[i].x1, h = d[i].y2 - d[i].y1;
        if (d[i].score < a->post_cluster_threshold) continue;
        if ((a->min_w > 0.0f && w < a->min_w) || (a->min_h > 0.0f && h < a->min_h)) continue;
        if ((a->max_w > 0.0f && w > a->max_w) || (a->max_h > 0.0f && h > a->max_h)) continue;
        if (a->topk >= 0) {
            int32_t seen = 0;
            if (use_counts) {
                seen = counts[d[i].class_id];
            } else {
                for (int32_t k = 0; k < out; k++) seen += d[k].class_id == d[i].class_id;
            }
            if (seen >= a->topk) continue;
        }
        if (use_counts) counts[d[i].class_id]++;
        d[out++] = d[i];
    }
    return out;
}
