/* ei_decode_scores_row (softmax): the AVX2 and the scalar scan against a double-precision softmax
 * on random rows of every tail length; a row reported as rejected must have no class reaching its
 * threshold, and the scores of accepted rows must match. NaN and all -inf rows report nothing. */
#include <math.h>
#include <stdint.h>

#include "ei_test.h"
#include "vision/decode_internal.h"

static uint32_t rng_state = 12345u;

static float uniform(void) { /* [0, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 16777216.0f;
}

/* As decoder.c sets the bound for softmax. */
static float bound(float t) {
    if (t == INFINITY) return INFINITY;
    if (t <= 0.0f) return -INFINITY;
    return logf(t) - 1e-4f;
}

static int passing_classes(const float * dst, const float * thr, int32_t n) {
    int k = 0;
    for (int32_t c = 0; c < n; c++) k += dst[c] >= thr[c];
    return k;
}

static void check_random_rows(int scalar) {
    ei_score_scan_force_scalar(scalar);
    float raw[100], thr[100], lim[100], dst[100];
    int   accepted = 0, rejected = 0;
    for (int32_t n = 1; n <= 100; n++) {
        for (int rep = 0; rep < 60; rep++) {
            for (int32_t c = 0; c < n; c++) {
                raw[c] = 6.0f * uniform() - 3.0f;
                thr[c] = c == 0 ? INFINITY : (rep % 7 == 0 ? 0.0f : 0.05f + 0.5f * uniform());
                lim[c] = bound(thr[c]);
            }
            raw[0] += rep % 3 == 0 ? 0.0f : 5.0f; /* background dominates most rows */
            if (rep % 5 == 1) raw[(int32_t)(uniform() * (float)n)] += 6.0f;
            double m = raw[0], sum = 0.0, p[100];
            for (int32_t c = 1; c < n; c++) m = raw[c] > m ? raw[c] : m;
            for (int32_t c = 0; c < n; c++) sum += p[c] = exp((double)raw[c] - m);
            int ref = 0, near = 0;
            for (int32_t c = 0; c < n; c++) {
                p[c] /= sum;
                ref += p[c] >= thr[c];
                near |= fabs(p[c] - thr[c]) < 1e-5;
            }
            if (near) continue; /* float rounding may decide either way */
            if (!ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, n, thr, lim, dst)) {
                EI_CHECK(ref == 0);
                rejected++;
                continue;
            }
            accepted++;
            EI_CHECK(passing_classes(dst, thr, n) == ref);
            double err = 0.0;
            for (int32_t c = 0; c < n; c++) err = fmax(err, fabs(dst[c] - p[c]));
            EI_CHECK(err < 1e-6);
        }
    }
    EI_CHECK(accepted > 500 && rejected > 500);
    ei_score_scan_force_scalar(0);
}

static void test_avx2_scan(void) { check_random_rows(0); }

static void test_scalar_scan(void) { check_random_rows(1); }

static void test_nan_and_inf_rows(void) {
    for (int scalar = 0; scalar <= 1; scalar++) {
        ei_score_scan_force_scalar(scalar);
        float raw[91], thr[91], lim[91], dst[91];
        for (int32_t c = 0; c < 91; c++) {
            raw[c] = -INFINITY;
            thr[c] = c == 0 ? INFINITY : 0.01f;
            lim[c] = bound(thr[c]);
        }
        if (ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, 91, thr, lim, dst))
            EI_CHECK(passing_classes(dst, thr, 91) == 0);
        for (int32_t c = 0; c < 91; c++) raw[c] = (float)c * 0.01f;
        raw[45] = NAN;
        if (ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, 91, thr, lim, dst))
            EI_CHECK(passing_classes(dst, thr, 91) == 0);
        raw[45] = 0.0f;
        raw[90] = NAN; /* in the masked tail */
        if (ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, 91, thr, lim, dst))
            EI_CHECK(passing_classes(dst, thr, 91) == 0);
        raw[90] = INFINITY;
        if (ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, 91, thr, lim, dst))
            EI_CHECK(passing_classes(dst, thr, 91) == 0);
        raw[90] = 0.0f; /* a finite row where class 1 passes */
        raw[1] = 9.0f;
        EI_CHECK(ei_decode_scores_row(EI_SCORE_SOFTMAX, raw, 91, thr, lim, dst) == 1);
        EI_CHECK(passing_classes(dst, thr, 91) == 1 && dst[1] > 0.9f);
    }
    ei_score_scan_force_scalar(0);
}

int main(void) {
    EI_RUN(test_avx2_scan);
    EI_RUN(test_scalar_scan);
    EI_RUN(test_nan_and_inf_rows);
    EI_TEST_EXIT();
}
