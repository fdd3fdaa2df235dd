/* The score scan's second softmax bound (score_scan.c: the softmax sum is at least
 * sum_j max(0, 1 + x_j - max)), AVX2 and scalar, on the rows where it matters: near-flat rows
 * (an untrained or unsure network), every class close to the maximum, so the first bound admits
 * the row. A rejected row must have no class reaching its threshold (double-precision softmax);
 * an accepted row must give the same passing classes and scores within 1e-6; both paths must
 * report the same passing classes; near-flat rows far below their threshold must be rejected. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ei_test.h"
#include "vision/decode_internal.h"

static uint32_t rng_state = 4242u;

static float uniform(void) { /* [0, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 16777216.0f;
}

static float bound(float t) { /* as decoder.c sets it for softmax */
    if (t == INFINITY) return INFINITY;
    if (t <= 0.0f) return -INFINITY;
    return logf(t) - 1e-4f;
}

enum { MAXN = 1000 };

/* One row through one path: -1 rejected, else the number of passing classes (written to pass). */
static int run_row(int scalar, const float * raw, int32_t n, const float * thr, const float * lim, float * dst,
                   unsigned char * pass) {
    ei_score_scan_force_scalar(scalar);
    int ok = ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, n, thr, lim, dst);
    ei_score_scan_force_scalar(0);
    if (!ok) return -1;
    int k = 0;
    for (int32_t c = 0; c < n; c++) k += pass[c] = dst[c] >= thr[c];
    return k;
}

static void test_flat_rows(void) {
    static float         raw[MAXN], thr[MAXN], lim[MAXN], dst[2][MAXN];
    static unsigned char pass[2][MAXN];
    static double        p[MAXN];
    static const int32_t sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 91, 100, 1000};
    int                  rejected = 0, accepted = 0, far_rejected = 0, far = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int32_t n = sizes[si];
        for (int rep = 0; rep < 300; rep++) {
            float spread = rep % 3 == 0 ? 0.05f : rep % 3 == 1 ? 0.5f : 3.0f;
            for (int32_t c = 0; c < n; c++) raw[c] = spread * (uniform() - 0.5f);
            if (rep % 10 == 7) raw[(int32_t)(uniform() * (float)n)] += 4.0f; /* one confident class */
            double m = raw[0], sum = 0.0, pmax = 0.0;
            for (int32_t c = 1; c < n; c++) m = raw[c] > m ? raw[c] : m;
            for (int32_t c = 0; c < n; c++) sum += p[c] = exp((double)raw[c] - m);
            for (int32_t c = 0; c < n; c++) {
                p[c] /= sum;
                pmax = c > 0 && p[c] > pmax ? p[c] : pmax;
            }
            /* thresholds around the best score (both sides), far above it, or per class mixed */
            float f = rep % 4 == 0 ? 0.5f : rep % 4 == 1 ? 0.98f : rep % 4 == 2 ? 1.02f : 0.3f + 1.4f * uniform();
            int   ref = 0, near = 0;
            for (int32_t c = 0; c < n; c++) {
                thr[c] = c == 0 && n > 1 ? INFINITY : (float)(pmax > 0 ? pmax : p[0]) * f;
                if (rep % 4 == 3 && c % 2) thr[c] *= 1.5f;
                lim[c] = bound(thr[c]);
                ref += p[c] >= thr[c];
                near |= fabs(p[c] - thr[c]) < 1e-5 * thr[c];
            }
            int k0 = run_row(0, raw, n, thr, lim, dst[0], pass[0]);
            int k1 = run_row(1, raw, n, thr, lim, dst[1], pass[1]);
            if (!near) {
                EI_CHECK((k0 < 0 ? 0 : k0) == ref);
                EI_CHECK((k1 < 0 ? 0 : k1) == ref);
            }
            for (int path = 0; path < 2; path++) {
                int k = path ? k1 : k0;
                if (k < 0) {
                    rejected++;
                    continue;
                }
                accepted++;
                double err = 0.0;
                for (int32_t c = 0; c < n; c++) err = fmax(err, fabs(dst[path][c] - p[c]));
                EI_CHECK(err < 1e-6);
            }
            if (k0 > 0 && k1 > 0) EI_CHECK(memcmp(pass[0], pass[1], (size_t)n) == 0);
            if (!(k0 > 0) || !(k1 > 0)) EI_CHECK((k0 > 0) == (k1 > 0) || near);
            /* a flat row of many classes with every threshold at twice the best score: the first
             * bound admits it (x_c - max >= ln t for the best class), the second must reject it */
            if (n >= 16 && spread <= 0.5f && rep % 10 != 7 && f == 0.5f) {
                for (int32_t c = 0; c < n; c++) thr[c] = c == 0 ? INFINITY : (float)(2.0 * pmax);
                for (int32_t c = 0; c < n; c++) lim[c] = bound(thr[c]);
                for (int path = 0; path < 2; path++) {
                    far++;
                    far_rejected += run_row(path, raw, n, thr, lim, dst[path], pass[path]) < 0;
                }
            }
        }
    }
    EI_CHECK(rejected > 1000 && accepted > 1000);
    EI_CHECK(far > 100 && far_rejected == far);
}

/* Thresholds of 0 (lim -inf) always admit the row, whatever the sum; a threshold of 1 on a
 * one-class row passes (p = 1), on both paths. */
static void test_edges(void) {
    float         raw[91], thr[91], lim[91], dst[91];
    unsigned char pass[91];
    for (int scalar = 0; scalar <= 1; scalar++) {
        for (int32_t c = 0; c < 91; c++) raw[c] = 0.01f * (float)(c % 5), thr[c] = 0.0f, lim[c] = bound(0.0f);
        EI_CHECK(run_row(scalar, raw, 91, thr, lim, dst, pass) == 91);
        raw[0] = 3.0f, thr[0] = 1.0f, lim[0] = bound(1.0f);
        EI_CHECK(run_row(scalar, raw, 1, thr, lim, dst, pass) == 1);
    }
}

int main(void) {
    EI_RUN(test_flat_rows);
    EI_RUN(test_edges);
    EI_TEST_EXIT();
}
