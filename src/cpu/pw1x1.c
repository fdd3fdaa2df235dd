#include "cpu/pw1x1.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_PW_X86 1
#endif

#define PW_OB   3  /* output blocks of 8 channels per register tile */
#define PW_PX   4  /* pixels per register tile */
#define PW_CHNK 64 /* pixels per work item at most */

struct ei_pw1x1 {
    int64_t  ic, oc, icb, ocb; /* channels and their 8-blocks */
    float *  w;                /* [ocb][icb * 8][8] */
    float *  bias;             /* [ocb * 8], zeros past oc */
    ei_fused f;
};

ei_status * ei_pw1x1_create(int64_t ic, int64_t oc, const float * w, const float * bias, const ei_fused * f,
                            ei_pw1x1 ** out) {
    *out = NULL;
    ei_pw1x1 * k = calloc(1, sizeof *k);
    if (!k) return ei_status_oom();
    k->ic = ic;
    k->oc = oc;
    k->icb = (ic + 7) / 8;
    k->ocb = (oc + 7) / 8;
    k->f = *f;
    size_t wn = (size_t)(k->ocb * k->icb * 64), bn = (size_t)(k->ocb * 8);
    k->w = aligned_alloc(64, (wn * sizeof(float) + 63) / 64 * 64);
    k->bias = aligned_alloc(64, (bn * sizeof(float) + 63) / 64 * 64);
    if (!k->w || !k->bias) {
        ei_pw1x1_destroy(k);
        return ei_status_oom();
    }
    memset(k->w, 0, wn * sizeof(float));
    memset(k->bias, 0, bn * sizeof(float));
    for (int64_t o = 0; o < oc; o++) {
        float * dst = k->w + (o / 8) * k->icb * 64 + o % 8;
        for (int64_t i = 0; i < ic; i++) dst[i * 8] = w[o * ic + i];
        if (bias) k->bias[o] = bias[o];
    }
    *out = k;
    return NULL;
}

void ei_pw1x1_destroy(ei_pw1x1 * k) {
    if (!k) return;
    free(k->w);
    free(k->bias);
    free(k);
}

/* One register tile: NOB output blocks from ob, NPX pixels from p. `xs`, `ys`: floats between two
 * channel blocks of X and of Y (hw * 8). The caller applies activations other than ReLU and Clip. */
typedef struct pw_tile {
    const ei_pw1x1 * k;
    const float *    x; /* image's X at pixel p */
    const float *    r; /* image's R at block ob, pixel p, or NULL */
    float *          y; /* image's Y at block ob, pixel p */
    int64_t          ob, xs, ys;
} pw_tile;

/* Portable path: the same order of operations, plain C (the compiler vectorises the lane loops). */
static inline __attribute__((always_inline)) void tile_generic(const pw_tile * t, int nob, int npx) {
    const ei_pw1x1 * k = t->k;
    float            acc[PW_OB][PW_PX][8];
    for (int j = 0; j < nob; j++)
        for (int p = 0; p < npx; p++)
            for (int l = 0; l < 8; l++) acc[j][p][l] = k->bias[(t->ob + j) * 8 + l];
    const float * w0 = k->w + t->ob * k->icb * 64;
    for (int64_t cb = 0; cb < k->icb; cb++) {
        const float * xb = t->x + cb * t->xs;
        for (int c = 0; c < 8; c++) {
            const float * wc = w0 + (cb * 8 + c) * 8;
            for (int j = 0; j < nob; j++)
                for (int p = 0; p < npx; p++) {
                    float xv = xb[p * 8 + c];
                    for (int l = 0; l < 8; l++) acc[j][p][l] += wc[j * k->icb * 64 + l] * xv;
                }
        }
    }
    for (int j = 0; j < nob; j++)
        for (int p = 0; p < npx; p++) {
            float * yp = t->y + j * t->ys + p * 8;
            for (int l = 0; l < 8; l++) {
                float v = acc[j][p][l];
                if (t->r) v += t->r[j * t->ys + p * 8 + l];
                if (k->f.act == EI_ACT_RELU)
                    v = v > 0.0f ? v : 0.0f;
                else if (k->f.act == EI_ACT_CLIP)
                    v = v < k->f.alpha ? k->f.alpha : v > k->f.beta ? k->f.beta : v;
                yp[l] = v;
            }
        }
}

#define PW_TILE_FN(name, body, attr)                                                                                   \
    attr static void name(const pw_tile * t, int nob, int npx) {                                                       \
        switch (nob * 8 + npx) {                                                                                       \
        case 3 * 8 + 4: body(t, 3, 4); break;                                                                          \
        case 3 * 8 + 3: body(t, 3, 3); break;                                                                          \
        case 3 * 8 + 2: body(t, 3, 2); break;                                                                          \
        case 3 * 8 + 1: body(t, 3, 1); break;                                                                          \
        case 2 * 8 + 4: body(t, 2, 4); break;                                                                          \
        case 2 * 8 + 3: body(t, 2, 3); break;                                                                          \
        case 2 * 8 + 2: body(t, 2, 2); break;                                                                          \
        case 2 * 8 + 1: body(t, 2, 1); break;                                                                          \
        case 1 * 8 + 4: body(t, 1, 4); break;                                                                          \
        case 1 * 8 + 3: body(t, 1, 3); break;                                                                          \
        case 1 * 8 + 2: body(t, 1, 2); break;                                                                          \
        default: body(t, 1, 1); break;                                                                                 \
        }                                                                                                              \
    }

PW_TILE_FN(tile_generic_any, tile_generic, )

#ifdef EI_PW_X86
#define PW_AVX2 __attribute__((target("avx2,fma")))

PW_AVX2 static inline __attribute__((always_inline)) void tile_avx2(const pw_tile * t, int nob, int npx) {
    const ei_pw1x1 * k = t->k;
    const int64_t    wob = k->icb * 64; /* floats between two output blocks' weights */
    __m256           acc[PW_OB][PW_PX];
#pragma GCC unroll 3
    for (int j = 0; j < nob; j++) {
        __m256 b = _mm256_load_ps(k->bias + (t->ob + j) * 8);
#pragma GCC unroll 4
        for (int p = 0; p < npx; p++) acc[j][p] = b;
    }
    const float * w = k->w + t->ob * wob;
    const float * xb = t->x;
    for (int64_t cb = 0; cb < k->icb; cb++, xb += t->xs) {
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++, w += 8) {
            __m256 wv[PW_OB];
#pragma GCC unroll 3
            for (int j = 0; j < nob; j++) wv[j] = _mm256_load_ps(w + j * wob);
#pragma GCC unroll 4
            for (int p = 0; p < npx; p++) {
                __m256 xv = _mm256_broadcast_ss(xb + p * 8 + c);
#pragma GCC unroll 3
                for (int j = 0; j < nob; j++) acc[j][p] = _mm256_fmadd_ps(wv[j], xv, acc[j][p]);
            }
        }
    }
    const bool relu = k->f.act == EI_ACT_RELU, clip = k->f.act == EI_ACT_CLIP;
    __m256     lo = _mm256_set1_ps(clip ? k->f.alpha : 0.0f), hi = _mm256_set1_ps(k->f.beta);
#pragma GCC unroll 3
    for (int j = 0; j < nob; j++)
#pragma GCC unroll 4
        for (int p = 0; p < npx; p++) {
            __m256 v = acc[j][p];
            if (t->r) v = _mm256_add_ps(v, _mm256_loadu_ps(t->r + j * t->ys + p * 8));
            if (relu || clip) v = _mm256_max_ps(v, lo);
            if (clip) v = _mm256_min_ps(v, hi);
            _mm256_storeu_ps(t->y + j * t->ys + p * 8, v);
        }
}

PW_TILE_FN(tile_avx2_any, tile_avx2, PW_AVX2)
#endif

typedef void (*pw_tile_fn)(const pw_tile * t, int nob, int npx);

static int g_force_portable;

bool ei_pw1x1_has_avx2(void) {
#ifdef EI_PW_X86
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

void ei_pw1x1_force_portable(bool on) { __atomic_store_n(&g_force_portable, on ? 1 : 0, __ATOMIC_RELAXED); }

static pw_tile_fn tile_fn(void) {
#ifdef EI_PW_X86
    if (!__atomic_load_n(&g_force_portable, __ATOMIC_RELAXED) && ei_pw1x1_has_avx2()) return tile_avx2_any;
#endif
    return tile_generic_any;
}

typedef struct pw_run {
    const ei_pw1x1 * k;
    pw_tile_fn       fn;
    const float *    x, *r;
    float *          y;
    int64_t          hw, n_og, n_chunks, chunk;
} pw_run;

/* Work item i: image i / (n_og * n_chunks), output blocks 3 * (i / n_chunks % n_og), pixel chunk
 * i % n_chunks. */
static void pw_range(void * ctx, int64_t begin, int64_t end) {
    const pw_run *   r = ctx;
    const ei_pw1x1 * k = r->k;
    const int64_t    xs = r->hw * 8, ys = r->hw * 8;
    const bool       other_act = k->f.act != EI_ACT_NONE && k->f.act != EI_ACT_RELU && k->f.act != EI_ACT_CLIP;
    for (int64_t i = begin; i < end; i++) {
        int64_t img = i / (r->n_og * r->n_chunks), og = i / r->n_chunks % r->n_og, ch = i % r->n_chunks;
        int64_t ob = og * PW_OB, nob = k->ocb - ob < PW_OB ? k->ocb - ob : PW_OB;
        int64_t p0 = ch * r->chunk, p1 = p0 + r->chunk < r->hw ? p0 + r->chunk : r->hw;
        pw_tile t = {.k = k, .ob = ob, .xs = xs, .ys = ys};
        for (int64_t p = p0; p < p1; p += PW_PX) {
            int64_t npx = p1 - p < PW_PX ? p1 - p : PW_PX;
            t.x = r->x + img * k->icb * xs + p * 8;
            t.y = r->y + (img * k->ocb + ob) * ys + p * 8;
            t.r = r->r ? r->r + (img * k->ocb + ob) * ys + p * 8 : NULL;
            r->fn(&t, (int)nob, (int)npx);
        }
        float * yb = r->y + (img * k->ocb + ob) * ys;
        if (other_act)
            for (int64_t j = 0; j < nob; j++) ei_fused_act_apply(&k->f, yb + j * ys + p0 * 8, (p1 - p0) * 8);
        if (ob + nob == k->ocb && k->oc % 8) /* padding lanes of the last block: zeros */
            for (int64_t p = p0; p < p1; p++)
                memset(yb + (nob - 1) * ys + p * 8 + k->oc % 8, 0, (size_t)(8 - k->oc % 8) * sizeof(float));
    }
}

void ei_pw1x1_run(const ei_pw1x1 * k, ei_threadpool * pool, const float * x, const float * res, float * y, int64_t n,
                  int64_t hw) {
    pw_run r = {.k = k, .fn = tile_fn(), .x = x, .r = res, .y = y, .hw = hw};
    r.n_og = (k->ocb + PW_OB - 1) / PW_OB;
    r.n_chunks = (hw + PW_CHNK - 1) / PW_CHNK;
    /* Equal chunks, a multiple of the tile's pixels. */
    r.chunk = (hw + r.n_chunks - 1) / r.n_chunks;
    r.chunk = (r.chunk + PW_PX - 1) / PW_PX * PW_PX;
    r.n_chunks = (hw + r.chunk - 1) / r.chunk;
    ei_parallel_for(pool, n * r.n_og * r.n_chunks, 1, pw_range, &r);
}

bool ei_pw1x1_wanted(int64_t ic, int64_t oc, int64_t hw) {
    static int env = -1;
    int        e = __atomic_load_n(&env, __ATOMIC_RELAXED);
    if (e < 0) {
        const char * s = getenv("EI_PW1X1");
        e = !(s && !strcmp(s, "0"));
        __atomic_store_n(&env, e, __ATOMIC_RELAXED);
    }
    if (!e || !ei_pw1x1_has_avx2()) return false;
    return hw <= 400 && ic >= 64 && oc >= 64;
}
