/* Direct convolution for ei.ConvBlocked8 with few input channels (first layers) on AVX2 + FMA.
 *
 * A first layer has too few input channels for the usual blocking over them (on one core oneDNN's
 * AVX2 kernel reaches about 70% of the FMA peak on YOLOX-nano's stem, this one about 85%); here
 * the reduction runs over every tap
 * (input channel, ky, kx) instead, and each tap is one rank-1 update of a register tile of NP
 * output pixels (along a row) x NB blocks of 8 output channels: NB weight vectors, NP broadcast
 * input values, NB x NP FMAs into 12 accumulators (NB x NP = 1x12, 2x6, 3x4, 4x3).
 *
 * The taps read X where it is, plain [N, C, H, W] or blocked [N, C/8, H, W, 8] (no copy, no
 * reorder): tap t of a strip whose window starts at X's element e reads e + off[t] + pixel * step
 * (step = stride, times 8 when blocked; only the C real channels are taps). A strip whose windows
 * reach into the pads (or past X, for the last strip of a row cut short) first copies its windows
 * into a small per-worker buffer of the same layout, pads as zeros, and reads that with offsets of
 * its own (offm); interior strips, nearly all of a first layer's, need no bounds test at all.
 *
 * Work items are bands of output rows of one image. In a band, for each group of NB output blocks
 * (its packed weights [taps][NB * 8] stay in L1), each row and each strip of NP pixels: the tap
 * loop, then bias (the accumulators' start), residual, activation and the store into blocked Y,
 * padding lanes written as zeros (their weights and bias are zero; the activation is masked).
 */
#include "cpu/stem.h"

#include "cpu/conv_own.h"

#include <stdlib.h>
#include <string.h>

#include "ops/blocked8.h"
#include "ops/conv_geometry.h"
#include "ops/fused.h"
#include "quant/half.h"

/* Measured single-threaded on single convolutions (docs/cpu-kernels.md): 1x1 kernels stay with
 * oneDNN's jit_1x1 (ours up to 13% slower at 8 and 16 channels); a plain input of 9 to 15 channels,
 * which oneDNN reorders first, is ours (12 -> 16 and 12 -> 64: 15-35% faster); otherwise ours up to
 * 16 input and 16 output channels (YOLOX-nano's 6x6 stem 16% faster, SSDLite320's 3x3 stem 5%,
 * blocked 16 -> 16 3x3 2-12%), oneDNN from 32 output channels (ours even to 12% slower). */
bool ei_stem_wins(int64_t c, int64_t m, int64_t kernel_area, bool plain) {
    if (kernel_area <= 1) return false;
    if (plain && c > EI_BLOCK8 && c < 2 * EI_BLOCK8) return true;
    return c <= 2 * EI_BLOCK8 && m <= 2 * EI_BLOCK8;
}

#ifdef EI_STEM_AVAILABLE
#include <immintrin.h>
#define ST_AVX2 __attribute__((target("avx2,fma")))

#define ST_ROWS_MAX 8 /* output rows per band */

typedef struct st_state {
    int64_t   n, c, h, w;     /* X: images, real channels, size */
    bool      plain;          /* X [N, C, H, W]; else [N, xcb, H, W, 8] */
    int64_t   xcb;            /* X's channel blocks (blocked X) */
    int64_t   lane;           /* floats per X pixel within a channel plane: 1 plain, 8 blocked */
    int64_t   oh, ow, m, mb;  /* Y: size, channels, blocks */
    int64_t   kh, kw, sh, sw; /* kernel, strides */
    int64_t   dh, dw, pt, pl; /* dilations, leading pads */
    int32_t   nb, np;         /* output blocks per group, pixels per strip */
    int64_t   n_groups;       /* ceil(mb / nb) */
    int64_t   taps;           /* c * kh * kw */
    int64_t   rows, n_bands;  /* output rows per band, bands per image */
    int64_t   wh, ww;         /* a strip's windows: rows and columns of X */
    int64_t   ox_lo, ox_hi;   /* strips starting in [ox_lo, ox_hi) read no pad (in rows that read none) */
    int64_t * off;            /* [taps]: tap's offset in X */
    int64_t * offm;           /* [taps]: tap's offset in a strip buffer [c or xcb][wh][ww](8) */
    float *   wp;             /* [n_groups][taps][nb * 8], zero past m */
    float *   bias;           /* [n_groups * nb * 8], zero past m */
    ei_fused  f;
    int32_t   bias_in, res_in; /* input indices or -1 */
    int32_t   n_scratch;
    float **  scratch; /* per worker: one strip buffer */
} st_state;

/* ---- selection ---- */

/* EI_CONV_STEM: 0 off, 1 every node it can compute, otherwise the automatic choice. */
static int st_mode(void) {
    const char * e = getenv("EI_CONV_STEM");
    if (e && !strcmp(e, "0")) return 0;
    if (e && !strcmp(e, "1")) return 1;
    return 2;
}

static bool cpu_ok(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

static bool st_supports(const ei_graph * g, const ei_node * node) {
    int mode = st_mode();
    if (mode == 0 || !cpu_ok()) return false;
    ei_fused       f;
    ei_window_geom geom;
    if (!ei_conv_own_accepts(g, node, &f, &geom)) return false;
    const ei_value * x = &g->values[node->inputs[0]];
    const ei_value * w = &g->values[node->inputs[1]];
    const ei_value * y = &g->values[node->outputs[0]];
    if (y->shape.rank != 5) return false;
    int64_t c = w->shape.dim[1], m = w->shape.dim[0];
    if (x->shape.rank == 4) {
        if (x->shape.dim[1] != c) return false;
    } else if (x->shape.rank != 5 || x->shape.dim[1] != ei_blocks8(c) || x->shape.dim[4] != EI_BLOCK8) {
        return false;
    }
    if (ei_shape_numel(&x->shape) <= 0 || c < 1 || m < 1 || y->shape.dim[0] != x->shape.dim[0] ||
        y->shape.dim[1] != ei_blocks8(m) || y->shape.dim[4] != EI_BLOCK8)
        return false;
    return mode == 1 || ei_stem_wins(c, m, w->shape.dim[2] * w->shape.dim[3], x->shape.rank == 4);
}

/* ---- prepare ---- */

static void st_release(void * state) {
    st_state * s = state;
    if (!s) return;
    free(s->off);
    free(s->offm);
    free(s->wp);
    free(s->bias);
    if (s->scratch)
        for (int32_t i = 0; i < s->n_scratch; i++) free(s->scratch[i]);
    free(s->scratch);
    free(s);
}

/* NB output blocks per group: the fewest blocks computed for nothing (past mb), then the most
 * blocks (fewer broadcasts per FMA). NP = 12 / NB pixels per strip. */
static void plan_tile(st_state * s) {
    int32_t best = 1;
    int64_t best_waste = 0;
    for (int32_t nb = 1; nb <= 4; nb++) {
        int64_t waste = (s->mb + nb - 1) / nb * nb - s->mb;
        if (nb == 1 || waste <= best_waste) {
            best = nb;
            best_waste = waste;
        }
    }
    s->nb = best;
    s->np = 12 / best;
    s->n_groups = (s->mb + s->nb - 1) / s->nb;
}

/* Rows per band: enough bands for 4 items per worker, at most ST_ROWS_MAX rows; the strip window
 * and the strips that need no padding. */
static void plan_bands(st_state * s, int32_t nw) {
    int64_t want = 4 * (int64_t)nw, rows = (s->n * s->oh + want - 1) / want;
    if (rows > ST_ROWS_MAX) rows = ST_ROWS_MAX;
    if (rows > s->oh) rows = s->oh;
    if (rows < 1) rows = 1;
    s->rows = rows;
    s->n_bands = (s->oh + rows - 1) / rows;
    s->wh = (s->kh - 1) * s->dh + 1;
    s->ww = (s->np - 1) * s->sw + (s->kw - 1) * s->dw + 1;
    /* ox sw - pl >= 0 and ox sw - pl + ww <= w */
    s->ox_lo = (s->pl + s->sw - 1) / s->sw;
    s->ox_hi = s->w + s->pl >= s->ww ? (s->w + s->pl - s->ww) / s->sw + 1 : 0;
    if (s->ox_hi < s->ox_lo) s->ox_hi = s->ox_lo;
}

/* wp[g][(i * kh + ky) * kw + kx][j * 8 + l] = W[(g nb + j) 8 + l][i][ky][kx], zero past m; the
 * taps' offsets in X and in a strip buffer. */
static void pack_weights(st_state * s, const float * wt) {
    int64_t kk = s->kh * s->kw, ld = (int64_t)s->nb * EI_BLOCK8;
    for (int64_t o = 0; o < s->m; o++) {
        int64_t g = o / ld, j = o % ld;
        for (int64_t t = 0; t < s->taps; t++) s->wp[(g * s->taps + t) * ld + j] = wt[o * s->taps + t];
    }
    for (int64_t i = 0; i < s->c; i++) {
        int64_t plane = s->plain ? i : i / EI_BLOCK8, lane = s->plain ? 0 : i % EI_BLOCK8;
        for (int64_t k = 0; k < kk; k++) {
            int64_t ky = k / s->kw * s->dh, kx = k % s->kw * s->dw;
            s->off[i * kk + k] = ((plane * s->h + ky) * s->w + kx) * s->lane + lane;
            s->offm[i * kk + k] = ((plane * s->wh + ky) * s->ww + kx) * s->lane + lane;
        }
    }
}

static ei_status * st_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    *state = NULL;
    const ei_shape *  xs = &g->values[node->inputs[0]].shape;
    const ei_shape *  ys = &g->values[node->outputs[0]].shape;
    const ei_tensor * wt = ei_node_input_const(g, node, 1);
    ei_window_geom    geom;
    st_state *        s = calloc(1, sizeof *s);
    if (!s) return ei_status_oom();
    ei_status * st = ei_conv_own_read(g, node, &s->f, &geom, &s->bias_in, &s->res_in);
    if (st) {
        free(s);
        return st;
    }
    s->n = xs->dim[0];
    s->c = wt->shape.dim[1];
    s->plain = xs->rank == 4;
    s->xcb = s->plain ? 0 : xs->dim[1];
    s->lane = s->plain ? 1 : EI_BLOCK8;
    s->h = xs->dim[2];
    s->w = xs->dim[3];
    s->m = wt->shape.dim[0];
    s->mb = ys->dim[1];
    s->oh = ys->dim[2];
    s->ow = ys->dim[3];
    s->kh = wt->shape.dim[2];
    s->kw = wt->shape.dim[3];
    s->sh = geom.stride[0];
    s->sw = geom.stride[1];
    s->dh = geom.dilation[0];
    s->dw = geom.dilation[1];
    s->pt = geom.pad_begin[0];
    s->pl = geom.pad_begin[1];
    s->taps = s->c * s->kh * s->kw;
    s->n_scratch = n_threads > 0 ? n_threads : 1;
    plan_tile(s);
    plan_bands(s, s->n_scratch);
    int64_t ld = (int64_t)s->nb * EI_BLOCK8;
    s->off = malloc((size_t)s->taps * sizeof *s->off);
    s->offm = malloc((size_t)s->taps * sizeof *s->offm);
    s->wp = ei_conv_own_alloc_zero((size_t)(s->n_groups * s->taps * ld));
    s->bias = ei_conv_own_alloc_zero((size_t)(s->n_groups * ld));
    s->scratch = calloc((size_t)s->n_scratch, sizeof *s->scratch);
    bool    ok = s->off && s->offm && s->wp && s->bias && s->scratch;
    int64_t planes = s->plain ? s->c : s->xcb;
    for (int32_t i = 0; ok && i < s->n_scratch; i++)
        ok = (s->scratch[i] = ei_conv_own_alloc_zero((size_t)(planes * s->wh * s->ww * s->lane))) != NULL;
    if (!ok) {
        st_release(s);
        return ei_status_oom();
    }
    const float * wf;
    float *       widened;
    if ((st = ei_conv_own_weights_f32(wt, &wf, &widened))) {
        st_release(s);
        return st;
    }
    pack_weights(s, wf);
    free(widened);
    *state = s;
    return NULL;
}

/* ---- run ---- */

/* One strip: NP pixels of one output row, one group of NB output blocks. */
typedef struct st_strip {
    const st_state * s;
    const float *    x;    /* X (or the strip buffer) at the first pixel's window origin */
    const int64_t *  off;  /* the taps' offsets from x */
    const float *    w;    /* the group's packed weights */
    const float *    bias; /* the group's NB * 8 biases */
    float *          y;    /* Y at (image, group's first block, row, first pixel) */
    const float *    r;    /* residual likewise, or NULL */
    int64_t          ld;   /* floats between blocks of Y (and R) */
    int64_t          nblk; /* real blocks in the group (<= NB) */
    int64_t          cols; /* real pixels (<= NP) */
    int64_t          blk0; /* the group's first block */
} st_strip;

/* Activations applied to the accumulators; the others (exp, erf, tanh) go through
 * ei_fused_act_apply row by row once a row is stored (st_item). */
static bool st_act_in_registers(ei_act_kind act) { return act <= EI_ACT_HARD_SWISH; }

/* v + residual, then the activation when st_act_in_registers, then padding lanes (keep 0) zeroed. */
ST_AVX2 static inline __m256 st_finish(const ei_fused * f, __m256 v, const float * res, __m256 keep) {
    const __m256 zero = _mm256_setzero_ps();
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res));
    switch (f->act) {
    case EI_ACT_NONE: break;
    case EI_ACT_RELU: v = _mm256_max_ps(v, zero); break;
    case EI_ACT_CLIP: v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(f->alpha)), _mm256_set1_ps(f->beta)); break;
    case EI_ACT_LEAKY_RELU:
        v = _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(f->alpha)), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
        break;
    case EI_ACT_HARD_SIGMOID:
    case EI_ACT_HARD_SWISH: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(f->alpha), _mm256_set1_ps(f->beta));
        t = _mm256_min_ps(_mm256_max_ps(t, zero), _mm256_set1_ps(1.0f));
        v = f->act == EI_ACT_HARD_SIGMOID ? t : _mm256_mul_ps(v, t);
        break;
    }
    default: break; /* row by row in st_item */
    }
    return _mm256_and_ps(v, keep);
}

/* Lanes of output block blk that hold channels: all ones, but past m in the last block. */
ST_AVX2 static inline __m256 st_keep(const st_state * s, int64_t blk) {
    int64_t lanes = s->m - blk * EI_BLOCK8;
    if (lanes > EI_BLOCK8) lanes = EI_BLOCK8;
    return _mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}

/* st_finish and store of the first cols pixels of acc [NB][np][8] (bias included): a strip cut short
 * by the end of the row. */
ST_AVX2 static void st_store_part(const st_strip * a, const float * acc, int32_t np) {
    for (int64_t j = 0; j < a->nblk; j++) {
        __m256 keep = st_keep(a->s, a->blk0 + j);
        for (int64_t p = 0; p < a->cols; p++) {
            int64_t o = j * a->ld + p * EI_BLOCK8;
            _mm256_storeu_ps(a->y + o, st_finish(&a->s->f, _mm256_load_ps(acc + (j * np + p) * EI_BLOCK8),
                                                 a->r ? a->r + o : NULL, keep));
        }
    }
}

/* A whole strip's epilogue on the accumulators acc[NB][NP] (bias included): residual, activation (a
 * switch outside the unrolled loops, not one per vector), padding lanes of the last block zeroed,
 * store. */
#define ST_ACC_LOOP(NB, NP, STMT)                                                                                      \
    _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) _Pragma("GCC unroll 12") for (int p = 0; p < NP; p++) STMT
#define ST_FINISH_FULL(NB, NP)                                                                                         \
    do {                                                                                                               \
        const __m256 zero_ = _mm256_setzero_ps(), ones_ = _mm256_castsi256_ps(_mm256_set1_epi32(-1));                  \
        if (a->r)                                                                                                      \
            ST_ACC_LOOP(NB, NP, acc[j][p] = _mm256_add_ps(acc[j][p], _mm256_loadu_ps(a->r + j * a->ld + p * 8)));      \
        switch (s->f.act) {                                                                                            \
        case EI_ACT_NONE: break;                                                                                       \
        case EI_ACT_RELU: ST_ACC_LOOP(NB, NP, acc[j][p] = _mm256_max_ps(acc[j][p], zero_)); break;                     \
        case EI_ACT_CLIP: {                                                                                            \
            const __m256 lo_ = _mm256_set1_ps(s->f.alpha), hi_ = _mm256_set1_ps(s->f.beta);                            \
            ST_ACC_LOOP(NB, NP, acc[j][p] = _mm256_min_ps(_mm256_max_ps(acc[j][p], lo_), hi_));                        \
            break;                                                                                                     \
        }                                                                                                              \
        default: ST_ACC_LOOP(NB, NP, acc[j][p] = st_finish(&s->f, acc[j][p], NULL, ones_)); break;                     \
        }                                                                                                              \
        if (a->blk0 + NB == s->mb && s->m % EI_BLOCK8) {                                                               \
            const __m256 keep_ = st_keep(s, s->mb - 1);                                                                \
            _Pragma("GCC unroll 12") for (int p = 0; p < NP; p++) acc[NB - 1][p] =                                     \
                _mm256_and_ps(acc[NB - 1][p], keep_);                                                                  \
        }                                                                                                              \
        ST_ACC_LOOP(NB, NP, _mm256_storeu_ps(a->y + j * a->ld + p * EI_BLOCK8, acc[j][p]));                            \
    } while (0)

/* The tap loop of an NB x NP tile with input stride SW (a constant where the caller passes one, so
 * that the broadcast addresses fold into the instructions). */
#define ST_TILE(NB, NP)                                                                                                \
    __attribute__((always_inline)) ST_AVX2 static inline void st_tile_##NB##x##NP(const st_strip * a, int64_t sw) {    \
        const st_state * s = a->s;                                                                                     \
        __m256           acc[NB][NP];                                                                                  \
        _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) {                                                         \
            __m256 b = _mm256_load_ps(a->bias + j * EI_BLOCK8);                                                        \
            _Pragma("GCC unroll 12") for (int p = 0; p < NP; p++) acc[j][p] = b;                                       \
        }                                                                                                              \
        const float *   w = a->w;                                                                                      \
        const int64_t * off = a->off;                                                                                  \
        for (int64_t t = 0; t < s->taps; t++, w += NB * EI_BLOCK8) {                                                   \
            const float * xt = a->x + off[t];                                                                          \
            __m256        wv[NB];                                                                                      \
            _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) wv[j] = _mm256_load_ps(w + j * EI_BLOCK8);            \
            _Pragma("GCC unroll 12") for (int p = 0; p < NP; p++) {                                                    \
                __m256 xb = _mm256_broadcast_ss(xt + p * sw);                                                          \
                _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) acc[j][p] =                                       \
                    _mm256_fmadd_ps(xb, wv[j], acc[j][p]);                                                             \
            }                                                                                                          \
        }                                                                                                              \
        if (a->cols == NP && a->nblk == NB) {                                                                          \
            ST_FINISH_FULL(NB, NP);                                                                                    \
            return;                                                                                                    \
        }                                                                                                              \
        _Alignas(32) float out[NB * NP * EI_BLOCK8];                                                                   \
        _Pragma("GCC unroll 4") for (int j = 0; j < NB; j++) _Pragma("GCC unroll 12") for (int p = 0; p < NP; p++)     \
            _mm256_store_ps(out + (j * NP + p) * EI_BLOCK8, acc[j][p]);                                                \
        st_store_part(a, out, NP);                                                                                     \
    }                                                                                                                  \
    ST_AVX2 static void st_tile_##NB##x##NP##_s1(const st_strip * a) { st_tile_##NB##x##NP(a, 1); }                    \
    ST_AVX2 static void st_tile_##NB##x##NP##_s2(const st_strip * a) { st_tile_##NB##x##NP(a, 2); }                    \
    ST_AVX2 static void st_tile_##NB##x##NP##_s8(const st_strip * a) { st_tile_##NB##x##NP(a, 8); }                    \
    ST_AVX2 static void st_tile_##NB##x##NP##_s16(const st_strip * a) { st_tile_##NB##x##NP(a, 16); }                  \
    ST_AVX2 static void st_tile_##NB##x##NP##_sn(const st_strip * a) { st_tile_##NB##x##NP(a, a->s->sw * a->s->lane); }

ST_TILE(1, 12)
ST_TILE(2, 6)
ST_TILE(3, 4)
ST_TILE(4, 3)

typedef void (*st_tile_fn)(const st_strip * a);

/* [nb - 1][pixel step 1, 2, 8, 16, other]: stride 1 and 2 of a plain or blocked X. */
static const st_tile_fn st_tiles[4][5] = {
    {st_tile_1x12_s1, st_tile_1x12_s2, st_tile_1x12_s8, st_tile_1x12_s16, st_tile_1x12_sn},
    {st_tile_2x6_s1, st_tile_2x6_s2, st_tile_2x6_s8, st_tile_2x6_s16, st_tile_2x6_sn},
    {st_tile_3x4_s1, st_tile_3x4_s2, st_tile_3x4_s8, st_tile_3x4_s16, st_tile_3x4_sn},
    {st_tile_4x3_s1, st_tile_4x3_s2, st_tile_4x3_s8, st_tile_4x3_s16, st_tile_4x3_sn},
};

static st_tile_fn st_tile_for(const st_state * s) {
    int64_t step = s->sw * s->lane;
    int     k = step == 1 ? 0 : step == 2 ? 1 : step == 8 ? 2 : step == 16 ? 3 : 4;
    return st_tiles[s->nb - 1][k];
}

typedef struct st_job {
    st_state *    s;
    const float * x;
    const float * r;
    float *       y;
    int32_t       nw;
} st_job;

/* Copies the windows of the strip at X pixel (iy0, ix0) of image n into buf [planes][wh][ww](lane),
 * zero outside X. */
static void st_pack_strip(const st_job * j, int64_t n, int64_t iy0, int64_t ix0, float * buf) {
    const st_state * s = j->s;
    int64_t          planes = s->plain ? s->c : s->xcb, lane = s->lane;
    int64_t          lo = ix0 < 0 ? -ix0 : 0, hi = s->w - ix0 < s->ww ? s->w - ix0 : s->ww;
    if (hi < lo) hi = lo;
    for (int64_t pi = 0; pi < planes; pi++)
        for (int64_t r = 0; r < s->wh; r++) {
            float * dst = buf + (pi * s->wh + r) * s->ww * lane;
            int64_t iy = iy0 + r;
            if (iy < 0 || iy >= s->h) {
                memset(dst, 0, (size_t)(s->ww * lane) * sizeof *dst);
                continue;
            }
            const float * src = j->x + (((n * planes + pi) * s->h + iy) * s->w + ix0) * lane;
            memset(dst, 0, (size_t)(lo * lane) * sizeof *dst);
            memcpy(dst + lo * lane, src + lo * lane, (size_t)((hi - lo) * lane) * sizeof *dst);
            memset(dst + hi * lane, 0, (size_t)((s->ww - hi) * lane) * sizeof *dst);
        }
}

/* The activations st_finish leaves, on one output row of blocks blk0.. (y at the first, ld apart):
 * while the row is in L1, in runs of ow * 8 rather than per strip (function call and tail per run). */
ST_AVX2 static void st_act_rows(const st_state * s, float * y, int64_t ld, int64_t blk0, int64_t nblk) {
    for (int64_t j = 0; j < nblk; j++) {
        float * row = y + j * ld;
        ei_fused_act_apply(&s->f, row, s->ow * EI_BLOCK8);
        if (s->m - (blk0 + j) * EI_BLOCK8 < EI_BLOCK8) {
            __m256i pad =
                _mm256_castps_si256(_mm256_xor_ps(st_keep(s, blk0 + j), _mm256_castsi256_ps(_mm256_set1_epi32(-1))));
            for (int64_t p = 0; p < s->ow; p++) _mm256_maskstore_ps(row + p * EI_BLOCK8, pad, _mm256_setzero_ps());
        }
    }
}

static void st_item(const st_job * j, int64_t item, float * buf) {
    const st_state * s = j->s;
    int64_t          n = item / s->n_bands, oy0 = item % s->n_bands * s->rows;
    int64_t          oy1 = oy0 + s->rows < s->oh ? oy0 + s->rows : s->oh;
    st_tile_fn       tile = st_tile_for(s);
    int64_t          ld = s->oh * s->ow * EI_BLOCK8, gl = (int64_t)s->nb * EI_BLOCK8;
    const float *    xn = j->x + n * (s->plain ? s->c : s->xcb) * s->h * s->w * s->lane;
    for (int64_t g = 0; g < s->n_groups; g++) {
        int64_t  blk0 = g * s->nb, nblk = s->mb - blk0 < s->nb ? s->mb - blk0 : s->nb;
        st_strip a = {s, NULL, NULL, s->wp + g * s->taps * gl, s->bias + g * gl, NULL, NULL, ld, nblk, 0, blk0};
        for (int64_t oy = oy0; oy < oy1; oy++) {
            int64_t iy0 = oy * s->sh - s->pt, yoff = ((n * s->mb + blk0) * s->oh + oy) * s->ow * EI_BLOCK8;
            bool    row_in = iy0 >= 0 && iy0 + s->wh <= s->h;
            for (int64_t ox = 0; ox < s->ow; ox += s->np) {
                int64_t ix0 = ox * s->sw - s->pl;
                if (row_in && ox >= s->ox_lo && ox < s->ox_hi) {
                    a.x = xn + (iy0 * s->w + ix0) * s->lane;
                    a.off = s->off;
                } else {
                    st_pack_strip(j, n, iy0, ix0, buf);
                    a.x = buf;
                    a.off = s->offm;
                }
                a.y = j->y + yoff + ox * EI_BLOCK8;
                a.r = j->r ? j->r + yoff + ox * EI_BLOCK8 : NULL;
                a.cols = s->ow - ox < s->np ? s->ow - ox : s->np;
                tile(&a);
            }
            if (!st_act_in_registers(s->f.act)) st_act_rows(s, j->y + yoff, ld, blk0, nblk);
        }
    }
}

static void st_worker(void * ctx, int64_t begin, int64_t end) {
    const st_job * j = ctx;
    int64_t        items = j->s->n * j->s->n_bands;
    for (int64_t w = begin; w < end; w++)
        for (int64_t it = w; it < items; it += j->nw) st_item(j, it, j->s->scratch[w]);
}

static ei_status * st_run(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    (void)node;
    st_state * s = state;
    if (s->bias_in >= 0 && in[s->bias_in]) memcpy(s->bias, in[s->bias_in]->data, (size_t)s->m * sizeof(float));
    int32_t nw = ei_threadpool_size(ex ? ex->pool : NULL);
    if (nw > s->n_scratch) nw = s->n_scratch;
    if (nw < 1) nw = 1;
    st_job j = {s, in[0]->data, s->res_in >= 0 ? in[s->res_in]->data : NULL, out[0]->data, nw};
    ei_parallel_for(ex ? ex->pool : NULL, nw, 1, st_worker, &j);
    return NULL;
}

const ei_cpu_kernel ei_stem_conv_blocked8 = {
    .supports = st_supports,
    .prepare = st_prepare,
    .run = st_run,
    .release = st_release,
};

#endif
