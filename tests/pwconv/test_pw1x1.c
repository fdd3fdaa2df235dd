/* The blocked pointwise kernel (src/cpu/pw1x1.h) against a double-precision loop over the plain
 * tensors: channels that are not multiples of 8, one pixel, 3x5 pixels, more pixels than one work
 * item takes, two images, every tile remainder (1 to 3 output blocks, 1 to 4 pixels), each
 * activation, a residual (separate and in place), no bias; the AVX2 path and the portable one.
 * Padding lanes of Y must be zero. Tolerance: 1e-5 * (1 + sum |w x|) per output, float32 sums of up
 * to 1024 products in another order than the reference. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/threadpool.h"
#include "cpu/pw1x1.h"
#include "ei_test.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static float frand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double act_ref(const ei_fused * f, double v) {
    switch (f->act) {
    case EI_ACT_NONE: return v;
    case EI_ACT_RELU: return v > 0 ? v : 0;
    case EI_ACT_CLIP: return v < f->alpha ? f->alpha : v > f->beta ? f->beta : v;
    case EI_ACT_HARD_SWISH: {
        double h = f->alpha * v + f->beta;
        return v * (h < 0 ? 0 : h > 1 ? 1 : h);
    }
    case EI_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    default: return NAN;
    }
}

typedef struct pw_case {
    int64_t     ic, oc, n, h, w;
    ei_act_kind act;
    int         res; /* 0 none, 1 separate, 2 in place (Y holds R) */
    bool        bias;
} pw_case;

static void check_case(const pw_case * c, ei_threadpool * pool, bool portable) {
    int64_t icb = (c->ic + 7) / 8, ocb = (c->oc + 7) / 8, hw = c->h * c->w;
    size_t  xn = (size_t)(c->n * icb * hw * 8), yn = (size_t)(c->n * ocb * hw * 8);
    float * w = malloc((size_t)(c->oc * c->ic) * sizeof *w);
    float * b = malloc((size_t)c->oc * sizeof *b);
    float * x = malloc(xn * sizeof *x);
    float * r = malloc(yn * sizeof *r);
    float * y = malloc(yn * sizeof *y);
    EI_CHECK(w && b && x && r && y);
    if (!w || !b || !x || !r || !y) goto done;
    for (int64_t i = 0; i < c->oc * c->ic; i++) w[i] = frand() / sqrtf((float)c->ic);
    for (int64_t i = 0; i < c->oc; i++) b[i] = frand();
    for (size_t i = 0; i < xn; i++)
        x[i] = (int64_t)(i % 8) < c->ic - (int64_t)(i / 8 / (size_t)hw % (size_t)icb) * 8
                   ? frand() * 2.0f
                   : 0.0f; /* padding lanes zero, as the layout keeps them */
    for (size_t i = 0; i < yn; i++)
        r[i] = (int64_t)(i % 8) < c->oc - (int64_t)(i / 8 / (size_t)hw % (size_t)ocb) * 8 ? frand() : 0.0f;
    for (size_t i = 0; i < yn; i++) y[i] = c->res == 2 ? r[i] : NAN;
    ei_fused f = {.act = c->act, .residual = c->res != 0};
    if (c->act == EI_ACT_CLIP) f.alpha = -0.25f, f.beta = 0.5f;
    if (c->act == EI_ACT_HARD_SWISH) f.alpha = 1.0f / 6.0f, f.beta = 0.5f;
    ei_pw1x1 * k = NULL;
    EI_CHECK_OK(ei_pw1x1_create(c->ic, c->oc, w, c->bias ? b : NULL, &f, &k));
    if (!k) goto done;
    ei_pw1x1_force_portable(portable);
    ei_pw1x1_run(k, pool, x, c->res == 1 ? r : c->res == 2 ? y : NULL, y, c->n, hw);
    ei_pw1x1_force_portable(false);
    ei_pw1x1_destroy(k);
    int bad = 0;
    for (int64_t n = 0; n < c->n; n++)
        for (int64_t o = 0; o < ocb * 8; o++)
            for (int64_t p = 0; p < hw; p++) {
                size_t yi = (size_t)(((n * ocb + o / 8) * hw + p) * 8 + o % 8);
                double want = 0, mag = 1;
                if (o < c->oc) {
                    double s = c->bias ? b[o] : 0;
                    for (int64_t i = 0; i < c->ic; i++) {
                        double t = (double)w[o * c->ic + i] * x[((n * icb + i / 8) * hw + p) * 8 + i % 8];
                        s += t;
                        mag += fabs(t);
                    }
                    if (c->res) s += r[yi];
                    want = act_ref(&f, s);
                }
                if (!(fabs(y[yi] - want) <= 1e-5 * mag) && bad++ < 3)
                    fprintf(
                        stderr,
                        "ic %lld oc %lld n %lld hw %lld act %d res %d portable %d: y[%lld,%lld,%lld] = %g, want %g\n",
                        (long long)c->ic, (long long)c->oc, (long long)c->n, (long long)hw, (int)c->act, c->res,
                        (int)portable, (long long)n, (long long)o, (long long)p, y[yi], want);
            }
    EI_CHECK(bad == 0);
done:
    free(w);
    free(b);
    free(x);
    free(r);
    free(y);
}

static const pw_case g_cases[] = {
    {67, 75, 2, 3, 5, EI_ACT_RELU, 0, true},         {64, 64, 1, 1, 1, EI_ACT_NONE, 0, true},
    {1024, 520, 1, 5, 5, EI_ACT_RELU, 0, true},      {96, 200, 1, 20, 20, EI_ACT_CLIP, 0, true},
    {8, 1, 1, 1, 7, EI_ACT_NONE, 0, false},          {9, 17, 2, 1, 3, EI_ACT_HARD_SWISH, 1, true},
    {40, 24, 1, 7, 11, EI_ACT_NONE, 2, true},        {13, 21, 3, 2, 2, EI_ACT_SIGMOID, 1, false},
    {160, 960, 1, 5, 5, EI_ACT_HARD_SWISH, 0, true}, {33, 48, 1, 9, 15, EI_ACT_CLIP, 2, false},
    {256, 48, 1, 19, 19, EI_ACT_NONE, 1, true},
};

static void test_avx2(void) {
    if (!ei_pw1x1_has_avx2()) {
        printf("no AVX2 + FMA on this CPU: the portable path only\n");
        return;
    }
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(2, &pool));
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) check_case(&g_cases[i], pool, false);
    for (size_t i = 0; i < 3; i++) check_case(&g_cases[i], NULL, false);
    ei_threadpool_destroy(pool);
}

static void test_portable(void) {
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(2, &pool));
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) check_case(&g_cases[i], pool, true);
    ei_threadpool_destroy(pool);
}

static void test_wanted(void) {
    /* EI_PW1X1=1: SSD-MobileNet-v1's weight-heavy layers, not SSDLite's 160 -> 960 nor a large image. */
    setenv("EI_PW1X1", "1", 1);
    if (ei_pw1x1_has_avx2()) {
        EI_CHECK(ei_pw1x1_wanted(1024, 1024, 100));
        EI_CHECK(ei_pw1x1_wanted(512, 512, 361));
    }
    EI_CHECK(!ei_pw1x1_wanted(160, 960, 100));
    EI_CHECK(!ei_pw1x1_wanted(1024, 1024, 38 * 38));
}

int main(void) {
    EI_RUN(test_avx2);
    EI_RUN(test_portable);
    EI_RUN(test_wanted);
    EI_TEST_EXIT();
}
