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
#define PW_KCB  16 /* input blocks of 8 channels per pass over a work item's pixels */

struct ei_pw1x1 {
    int64_t  ic, oc, icb, ocb; /* channels and their 8-blocks */
    float *  w;                /* per group of 3 output blocks: [icb * 8][blocks in the group * 8] */
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
        /* Group g of output blocks [3g, 3g + nob): one stream of nob * 8 weights per input channel. */
        int64_t ob = o / 8, g0 = ob / PW_OB * PW_OB, nob = k->ocb - g0 < PW_OB ? k->ocb - g0 : PW_OB;
        float * dst = k->w + g0 * k->icb * 64 + (ob - g0) * 8 + o % 8;
        for (int64_t i = 0; i < ic; i++) dst[i * nob * 8] = w[o * ic + i];
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

/* One register tile: NOB output blocks from ob, NPX pixels from p, input blocks [cb0, cb1). The
 * first input-block range starts from the bias (and the residual: read before Y is written, so R
 * may be Y), later ones from the partial sums in Y; the last applies ReLU or Clip (the caller
 * applies other activations). `xs`, `ys`: floats between two channel blocks of X and of Y. */
typedef struct pw_tile {
    const ei_pw1x1 * k;
    const float *    x; /* image's X at block cb0, pixel p */
    const float *    r; /* image's R at block ob, pixel p, or NULL */
    float *          y; /* image's Y at block ob, pixel p */
    int64_t          ob, cb0, cb1, xs, ys;
    bool             first, last;
    const char *     pf; /* weights to prefetch, pf_step bytes per tile, from pf_at to pf_bytes */
    int64_t          pf_at, pf_step, pf_bytes;
} pw_tile;

/* Portable path: the same order of operations, plain C (the compiler vectorises the lane loops). */
static inline __attribute__((always_inline)) void tile_generic(const pw_tile * t, int nob, int npx) {
    const ei_pw1x1 * k = t->k;
    float            acc[PW_OB][PW_PX][8];
    for (int j = 0; j < nob; j++)
        for (int p = 0; p < npx; p++)
            for (int l = 0; l < 8; l++)
                acc[j][p][l] = !t->first ? t->y[j * t->ys + p * 8 + l]
                                         : k->bias[(t->ob + j) * 8 + l] + (t->r ? t->r[j * t->ys + p * 8 + l] : 0.0f);
    const float * w0 = k->w + t->ob * k->icb * 64;
    for (int64_t cb = t->cb0; cb < t->cb1; cb++) {
        const float * xb = t->x + (cb - t->cb0) * t->xs;
        for (int c = 0; c < 8; c++) {
            const float * wc = w0 + (cb * 8 + c) * nob * 8;
            for (int j = 0; j < nob; j++)
                for (int p = 0; p < npx; p++) {
                    float xv = xb[p * 8 + c];
                    for (int l = 0; l < 8; l++) acc[j][p][l] += wc[j * 8 + l] * xv;
                }
        }
    }
    for (int j = 0; j < nob; j++)
        for (int p = 0; p < npx; p++) {
            float * yp = t->y + j * t->ys + p * 8;
            for (int l = 0; l < 8; l++) {
                float v = acc[j][p][l];
                if (t->last && k->f.act == EI_ACT_RELU)
                    v = v > 0.0f ? v : 0.0f;
                else if (t->last && k->f.act == EI_ACT_CLIP)
                    v = v < k->f.alpha ? k->f.alpha : v > k->f.beta ? k->f.beta : v;
                yp[l] = v;
            }
        }
}

/* A row of n_px pixels from t's position: full tiles of PW_PX pixels, then the rest; before each
 * tile, the next pf_step bytes of t->pf are prefetched. */
#define PW_ROW_FN(name, body, attr, NOB)                                                                               \
    attr static void name(pw_tile t, int64_t n_px) {                                                                   \
        for (; n_px > 0; n_px -= PW_PX) {                                                                              \
            for (int64_t e = t.pf_at + t.pf_step; t.pf_at < e && t.pf_at < t.pf_bytes; t.pf_at += 64)                  \
                __builtin_prefetch(t.pf + t.pf_at);                                                                    \
            switch (n_px < PW_PX ? n_px : PW_PX) {                                                                     \
            case 4: body(&t, NOB, 4); break;                                                                           \
            case 3: body(&t, NOB, 3); break;                                                                           \
            case 2: body(&t, NOB, 2); break;                                                                           \
            default: body(&t, NOB, 1); break;                                                                          \
            }                                                                                                          \
            t.x += PW_PX * 8;                                                                                          \
            t.y += PW_PX * 8;                                                                                          \
            if (t.r) t.r += PW_PX * 8;                                                                                 \
        }                                                                                                              \
    }

#define PW_TILE_FN(name, body, attr)                                                                                   \
    PW_ROW_FN(name##_1, body, attr, 1)                                                                                 \
    PW_ROW_FN(name##_2, body, attr, 2)                                                                                 \
    PW_ROW_FN(name##_3, body, attr, 3)                                                                                 \
    static void name(const pw_tile * t, int nob, int64_t n_px) {                                                       \
        if (nob == 3)                                                                                                  \
            name##_3(*t, n_px);                                                                                        \
        else if (nob == 2)                                                                                             \
            name##_2(*t, n_px);                                                                                        \
        else                                                                                                           \
            name##_1(*t, n_px);                                                                                        \
    }

PW_TILE_FN(tile_generic_any, tile_generic, )

#ifdef EI_PW_X86
#define PW_AVX2 __attribute__((target("avx2,fma")))

PW_AVX2 static inline __attribute__((always_inline)) void tile_avx2(const pw_tile * t, int nob, int npx) {
    const ei_pw1x1 * k = t->k;
    __m256           acc[PW_OB][PW_PX];
    if (t->first) {
#pragma GCC unroll 3
        for (int j = 0; j < nob; j++) {
            __m256 b = _mm256_load_ps(k->bias + (t->ob + j) * 8);
#pragma GCC unroll 4
            for (int p = 0; p < npx; p++)
                acc[j][p] = t->r ? _mm256_add_ps(b, _mm256_loadu_ps(t->r + j * t->ys + p * 8)) : b;
        }
    } else {
#pragma GCC unroll 3
        for (int j = 0; j < nob; j++)
#pragma GCC unroll 4
            for (int p = 0; p < npx; p++) acc[j][p] = _mm256_loadu_ps(t->y + j * t->ys + p * 8);
    }
    const float * w = k->w + t->ob * k->icb * 64 + t->cb0 * 8 * nob * 8;
    const float * xb = t->x;
    for (int64_t cb = t->cb0; cb < t->cb1; cb++, xb += t->xs) {
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++, w += nob * 8) {
            __m256 wv[PW_OB];
#pragma GCC unroll 3
            for (int j = 0; j < nob; j++) wv[j] = _mm256_load_ps(w + j * 8);
#pragma GCC unroll 4
            for (int p = 0; p < npx; p++) {
                __m256 xv = _mm256_broadcast_ss(xb + p * 8 + c);
#pragma GCC unroll 3
                for (int j = 0; j < nob; j++) acc[j][p] = _mm256_fmadd_ps(wv[j], xv, acc[j][p]);
            }
        }
    }
    const bool relu = t->last && k->f.act == EI_ACT_RELU, clip = t->last && k->f.act == EI_ACT_CLIP;
    __m256     lo = _mm256_set1_ps(clip ? k->f.alpha : 0.0f), hi = _mm256_set1_ps(k->f.beta);
#pragma GCC unroll 3
    for (int j = 0; j < nob; j++)
#pragma GCC unroll 4
        for (int p = 0; p < npx; p++) {
            __m256 v = acc[j][p];
            if (relu || clip) v = _mm256_max_ps(v, lo);
            if (clip) v = _mm256_min_ps(v, hi);
            _mm256_storeu_ps(t->y + j * t->ys + p * 8, v);
        }
}

PW_TILE_FN(tile_avx2_any, tile_avx2, PW_AVX2)
#endif

typedef void (*pw_tile_fn)(const pw_tile * t, int nob, int64_t n_px);

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
        int64_t       img = i / (r->n_og * r->n_chunks), og = i / r->n_chunks % r->n_og, ch = i % r->n_chunks;
        int64_t       ob = og * PW_OB, nob = k->ocb - ob < PW_OB ? k->ocb - ob : PW_OB;
        int64_t       p0 = ch * r->chunk, p1 = p0 + r->chunk < r->hw ? p0 + r->chunk : r->hw;
        pw_tile       t = {.k = k, .ob = ob, .xs = xs, .ys = ys};
        const float * wg = k->w + ob * k->icb * 64; /* the group's weights: [icb * 8][nob * 8] */
        int64_t       n_tiles = (p1 - p0 + PW_PX - 1) / PW_PX;
        /* Input blocks PW_KCB at a time: their weights (3 x 128 channels, 12 KiB) stay in L1 while
         * every tile of the chunk reads them. Meanwhile the tiles prefetch the weights of the next pass, or of the next
         * work item's first pass: in a network the weights come from memory, not from a warm cache (SSD-MobileNet-v1
         * holds 38 MB of them). */
        for (t.cb0 = 0; t.cb0 < k->icb; t.cb0 = t.cb1) {
            t.cb1 = t.cb0 + PW_KCB < k->icb ? t.cb0 + PW_KCB : k->icb;
            t.first = t.cb0 == 0;
            t.last = t.cb1 == k->icb;
            t.pf = NULL;
            t.pf_bytes = 0;
            if (!t.last) {
                t.pf = (const char *)(wg + t.cb1 * 8 * nob * 8);
                t.pf_bytes = ((t.cb1 + PW_KCB < k->icb ? t.cb1 + PW_KCB : k->icb) - t.cb1) * 8 * nob * 8 * 4;
            } else if (i + 1 < end) {
                int64_t ob2 = (i + 1) / r->n_chunks % r->n_og * PW_OB,
                        nob2 = k->ocb - ob2 < PW_OB ? k->ocb - ob2 : PW_OB;
                t.pf = (const char *)(k->w + ob2 * k->icb * 64);
                t.pf_bytes = (PW_KCB < k->icb ? PW_KCB : k->icb) * 8 * nob2 * 8 * 4;
            }
            t.pf_at = 0;
            t.pf_step = (t.pf_bytes / 64 + n_tiles - 1) / n_tiles * 64;
            t.x = r->x + (img * k->icb + t.cb0) * xs + p0 * 8;
            t.y = r->y + (img * k->ocb + ob) * ys + p0 * 8;
            t.r = r->r && t.first ? r->r + (img * k->ocb + ob) * ys + p0 * 8 : NULL;
            r->fn(&t, (int)nob, p1 - p0);
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
    /* At least 16 work items where chunks can stay 8 pixels or more, so that two or four threads
     * end together (64 channels at 10x10: 3 groups of output blocks alone would leave one idle a
     * third of the time). */
    while (n * r.n_og * r.n_chunks < 16 && hw / (r.n_chunks * 2) >= 8) r.n_chunks *= 2;
    /* Equal chunks, a multiple of the tile's pixels. */
    r.chunk = (hw + r.n_chunks - 1) / r.n_chunks;
    r.chunk = (r.chunk + PW_PX - 1) / PW_PX * PW_PX;
    r.n_chunks = (hw + r.chunk - 1) / r.chunk;
    ei_parallel_for(pool, n * r.n_og * r.n_chunks, 1, pw_range, &r);
}

bool ei_pw1x1_wanted(int64_t ic, int64_t oc, int64_t hw) {
    static int mode = -1; /* 0: never, 1: weight-heavy small images, 2: every blocked 1x1 */
    int        m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (m < 0) {
        const char * s = getenv("EI_PW1X1");
        m = !s ? 0 : !strcmp(s, "1") ? 1 : !strcmp(s, "all") ? 2 : 0;
        __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
    }
    if (!m || !ei_pw1x1_has_avx2()) return false;
    return m == 2 || (hw <= 400 && ic * oc >= 256 * 1024);
}
