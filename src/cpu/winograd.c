/* Winograd F(4x4, 3x3) and F(2x2, 3x3) for ei.ConvBlocked8 (3x3, stride 1, dilation 1, group 1)
 * on AVX2 + FMA.
 *
 * Y = A^T [ (G g G^T) . (B^T d B) ] A per 4x4 output tile: each tile reads a 6x6 input patch d, and
 * the 9 multiply-adds per output pixel and channel pair of the direct convolution become 36 per 16
 * pixels (2.25), at the price of three transforms and some float32 accuracy (see the tolerance in
 * tests/kernels_winograd).
 *
 * Layout of the work, per block of `tb` tiles (a multiple of 6) and per chunk of output channels:
 *   1. input transform: for each tile and 8-channel block of X, the 6x6 patch of 8-lane vectors
 *      (the blocked layout gives 8 channels per load) -> 36 vectors, stored at V[p][tile][c]
 *      (p = transform position, c contiguous over all padded input channels);
 *   2. 36 independent products V[p] (tb x C) * U[p] (C x M) -> Mb[p] (tb x M) by a 6-tile x
 *      16-channel register-blocked micro-kernel (12 accumulators, the sgemm one's shape); U, the
 *      transformed weights, is packed at prepare in 16-channel panels, zero past C and M, so X's
 *      padding lanes never reach Y;
 *   3. output transform of the 36 vectors of each tile and 8-channel block, fused with bias,
 *      residual and activation, straight into blocked Y (padding lanes written as zeros).
 * V[p] for one block stays in L2 while the 16-channel weight panels stream past it. Workers (one
 * scratch buffer each) take (tile block, channel chunk) items round-robin; channels are split only
 * when there are too few tile blocks to keep every worker busy.
 *
 * F(2x2, 3x3) (r = 2) is the same with 4x4 patches, 16 positions and 2x2 output tiles: 16 / 4 = 4
 * multiply-adds per output instead of 2.25, but transformed weights 16/9 of the 3x3 ones instead of
 * 36/9. On small maps (few tiles), where U is read from DRAM once per run for little work, that
 * halves the bytes per run (ei_winograd_tile chooses). */
#include "cpu/winograd.h"

#include "cpu/conv_own.h"

#include <stdlib.h>
#include <string.h>

#include "ops/blocked8.h"
#include "ops/conv_geometry.h"
#include "ops/fused.h"
#include "quant/half.h"

bool ei_winograd_wins(int64_t c, int64_t m, int64_t oh, int64_t ow) { return c >= 32 && m >= 8 && oh * ow >= 64; }

int ei_winograd_tile(int64_t n, int64_t oh, int64_t ow) { return n * ((oh + 3) / 4) * ((ow + 3) / 4) <= 18 ? 2 : 4; }

#ifdef EI_WINOGRAD_AVAILABLE
#include <immintrin.h>
#define WG_AVX2 __attribute__((target("avx2,fma")))

#define WG_MR        6  /* tiles per micro-kernel call */
#define WG_NR        16 /* output channels per micro-kernel call / weight panel */
#define WG_FEW_TILES 36 /* at most this many tiles (padded to WG_MR): one tile block (plan_blocks) */

typedef struct wg_state {
    int32_t  r, a, np; /* output tile side (4 or 2), input patch side r + 2, positions a * a */
    int64_t  n, h, w, oh, ow, pt, pl;
    int64_t  m;         /* output channels */
    int64_t  cb, ck;    /* input channel blocks; ck = 8 cb (V's row length) */
    int64_t  mb, m16;   /* output blocks of 8 and panels of 16 */
    int64_t  th, tw;    /* tiles per image, down and across */
    int64_t  tiles, tb; /* all tiles; tiles per block */
    int64_t  n_tb;      /* tile blocks */
    int64_t  mc16;      /* panels per channel chunk */
    int64_t  n_mc;      /* channel chunks */
    int64_t  ldv, ldmb; /* floats between positions in V and Mb (see plan_blocks) */
    ei_fused f;
    int32_t  bias_in, res_in; /* input indices or -1 */
    float *  u;               /* [np][m16][ck][16] */
    float *  bias;            /* [m16 * 16], zero past m */
    int32_t  n_scratch;
    float ** scratch; /* per worker: V [np][ldv] ([tb][ck] used), then Mb [np][ldmb] ([tb][mc16 * 16]) */
} wg_state;

/* ---- selection ---- */

/* EI_CONV_WINOGRAD: 0 off; 1 every node it can compute (automatic tile); 2 / 4 every node, by
 * F(2x2, 3x3) / F(4x4, 3x3); otherwise (-1) the automatic choice. */
static int wg_mode(void) {
    const char * e = getenv("EI_CONV_WINOGRAD");
    if (e && (!strcmp(e, "0") || !strcmp(e, "1") || !strcmp(e, "2") || !strcmp(e, "4"))) return e[0] - '0';
    return -1;
}

/* The output tile side for a node of n images of oh x ow outputs: the forced one, or the automatic
 * choice. */
static int32_t wg_tile_for(int mode, int64_t n, int64_t oh, int64_t ow) {
    return mode == 2 || mode == 4 ? mode : ei_winograd_tile(n, oh, ow);
}

static bool cpu_ok(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

static bool wg_supports(const ei_graph * g, const ei_node * node) {
    int mode = wg_mode();
    if (mode == 0 || !cpu_ok()) return false;
    ei_fused       f;
    ei_window_geom geom;
    if (!ei_conv_own_accepts(g, node, &f, &geom)) return false;
    const ei_value * x = &g->values[node->inputs[0]];
    const ei_value * w = &g->values[node->inputs[1]];
    const ei_value * y = &g->values[node->outputs[0]];
    if (x->shape.rank != 5 || y->shape.rank != 5 || w->shape.dim[2] != 3 || w->shape.dim[3] != 3) return false;
    for (int32_t i = 0; i < 2; i++)
        if (geom.stride[i] != 1 || geom.dilation[i] != 1) return false;
    return mode > 0 || ei_winograd_wins(w->shape.dim[1], w->shape.dim[0], geom.out[0], geom.out[1]);
}

/* ---- prepare ---- */

/* G of F(2x2, 3x3) and of F(4x4, 3x3): U = G g G^T. */
static const double wg_g2[4][3] = {
    {1, 0, 0},
    {0.5, 0.5, 0.5},
    {0.5, -0.5, 0.5},
    {0, 0, 1},
};
static const double wg_g[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

/* U[p][o / 16][i][o % 16] = (G g G^T)[p] for weight g = W[o][i] (double, rounded once). The 16
 * output channels of a panel are transformed together, innermost, so the arithmetic vectorises and
 * each position's 16 results are one contiguous store (SSD300's session start-up was dominated by
 * this loop done one kernel at a time). */
static void pack_weights(wg_state * s, const float * wt, int64_t c) {
    const int64_t pstride = s->m16 * s->ck * WG_NR;
    const int     na = s->a;
    const double(*g)[3] = s->r == 4 ? wg_g : wg_g2;
    for (int64_t gi = 0; gi < s->m16; gi++) {
        int64_t o0 = gi * WG_NR, no = s->m - o0 < WG_NR ? s->m - o0 : WG_NR;
        for (int64_t i = 0; i < c; i++) {
            double k[9][WG_NR], t[6][3][WG_NR];
            for (int e = 0; e < 9; e++)
                for (int64_t oo = 0; oo < WG_NR; oo++) k[e][oo] = oo < no ? wt[((o0 + oo) * c + i) * 9 + e] : 0.0;
            for (int a = 0; a < na; a++)
                for (int b = 0; b < 3; b++)
                    for (int64_t oo = 0; oo < WG_NR; oo++)
                        t[a][b][oo] =
                            g[a][0] * k[0 * 3 + b][oo] + g[a][1] * k[1 * 3 + b][oo] + g[a][2] * k[2 * 3 + b][oo];
            float * u = s->u + (gi * s->ck + i) * WG_NR;
            for (int a = 0; a < na; a++)
                for (int b = 0; b < na; b++) {
                    float * up = u + (a * na + b) * pstride;
                    for (int64_t oo = 0; oo < no; oo++)
                        up[oo] = (float)(t[a][0][oo] * g[b][0] + t[a][1][oo] * g[b][1] + t[a][2][oo] * g[b][2]);
                }
        }
    }
}

static void wg_release(void * state) {
    wg_state * s = state;
    if (!s) return;
    free(s->u);
    free(s->bias);
    if (s->scratch)
        for (int32_t i = 0; i < s->n_scratch; i++) free(s->scratch[i]);
    free(s->scratch);
    free(s);
}

static int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

/* Tiles per block: V and Mb of a block (36 x tb x (ck + chunk) floats) within about 512 KiB (L2),
 * but at least 24 tiles, so that each 16-channel weight panel serves 4 micro-kernel calls (measured
 * on 64 -> 64 at 300x300 and 512 -> 512 at 38x38: 12 and 48 tiles were slower); then blocks evened
 * out over the tiles. */
static void plan_blocks(wg_state * s, int32_t nw) {
    int64_t tb = (int64_t)512 * 1024 / (s->np * 4 * (s->ck + s->m16 * WG_NR));
    if (tb > 96) tb = 96;
    if (tb < 24) tb = 24;
    tb = tb / WG_MR * WG_MR;
    s->n_tb = (s->tiles + tb - 1) / tb;
    s->tb = round_up((s->tiles + s->n_tb - 1) / s->n_tb, WG_MR);
    s->n_tb = (s->tiles + s->tb - 1) / s->tb;
    /* Few tiles (small maps: SSD heads at 19x19 by F(4x4), 10x10 by F(2x2)): every tile block
     * streams all of U, which is then much larger than the block's work, so make one block (U read
     * once, the workers splitting the channels below) while one position's slice of V (re-read for
     * every 16-channel panel) stays within 256 KiB. */
    int64_t all = round_up(s->tiles, WG_MR);
    if (s->n_tb > 1 && all <= WG_FEW_TILES && all * s->ck * 4 <= 256 * 1024) {
        s->tb = all;
        s->n_tb = 1;
    }
    /* Too few tile blocks for the workers: split the output channels too (each chunk repeats the
     * input transform, a small part of the work when M is large). */
    s->mc16 = s->m16;
    s->n_mc = 1;
    while (nw > 1 && s->n_tb * s->n_mc < 2 * nw && s->mc16 > 1) {
        s->mc16 = (s->mc16 + 1) / 2;
        s->n_mc = (s->m16 + s->mc16 - 1) / s->mc16;
    }
    /* One cache line more than the block per position: the 36 vectors a transform stores or loads
     * would otherwise lie a multiple of 4 KiB apart whenever tb * ck is, all in one L1 set. */
    s->ldv = s->tb * s->ck + WG_NR;
    s->ldmb = s->tb * s->mc16 * WG_NR + WG_NR;
}

static ei_status * wg_prepare(const ei_graph * g, const ei_node * node, int32_t n_threads, void ** state) {
    *state = NULL;
    const ei_shape *  xs = &g->values[node->inputs[0]].shape;
    const ei_shape *  ys = &g->values[node->outputs[0]].shape;
    const ei_tensor * wt = ei_node_input_const(g, node, 1);
    ei_window_geom    geom;
    wg_state *        s = calloc(1, sizeof *s);
    if (!s) return ei_status_oom();
    ei_status * st = ei_conv_own_read(g, node, &s->f, &geom, &s->bias_in, &s->res_in);
    if (st) {
        free(s);
        return st;
    }
    int64_t c = wt->shape.dim[1];
    s->n = xs->dim[0];
    s->cb = xs->dim[1];
    s->ck = s->cb * EI_BLOCK8;
    s->h = xs->dim[2];
    s->w = xs->dim[3];
    s->m = wt->shape.dim[0];
    s->mb = ys->dim[1];
    s->m16 = (s->m + WG_NR - 1) / WG_NR;
    s->oh = ys->dim[2];
    s->ow = ys->dim[3];
    s->pt = geom.pad_begin[0];
    s->pl = geom.pad_begin[1];
    s->r = wg_tile_for(wg_mode(), s->n, s->oh, s->ow);
    s->a = s->r + 2;
    s->np = s->a * s->a;
    s->th = (s->oh + s->r - 1) / s->r;
    s->tw = (s->ow + s->r - 1) / s->r;
    s->tiles = s->n * s->th * s->tw;
    s->n_scratch = n_threads > 0 ? n_threads : 1;
    plan_blocks(s, s->n_scratch);
    s->u = ei_conv_own_alloc_zero((size_t)(s->np * s->m16 * s->ck * WG_NR));
    s->bias = ei_conv_own_alloc_zero((size_t)(s->m16 * WG_NR));
    s->scratch = calloc((size_t)s->n_scratch, sizeof *s->scratch);
    bool ok = s->u && s->bias && s->scratch;
    for (int32_t i = 0; ok && i < s->n_scratch; i++)
        ok = (s->scratch[i] = ei_conv_own_alloc_zero((size_t)(s->np * (s->ldv + s->ldmb)))) != NULL;
    if (!ok) {
        wg_release(s);
        return ei_status_oom();
    }
    const float * wf;
    float *       widened;
    if ((st = ei_conv_own_weights_f32(wt, &wf, &widened))) {
        wg_release(s);
        return st;
    }
    pack_weights(s, wf, c);
    free(widened);
    *state = s;
    return NULL;
}

/* ---- run ---- */

/* B^T applied to 6 vectors (one row or column of a patch). */
#define WG_IN1D(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)                                                        \
    do {                                                                                                               \
        __m256 q1_ = _mm256_fnmadd_ps(four, d2, d4), q2_ = _mm256_fnmadd_ps(four, d1, d3);                             \
        __m256 q3_ = _mm256_sub_ps(d4, d2), q4_ = _mm256_mul_ps(two, _mm256_sub_ps(d3, d1));                           \
        r0 = _mm256_fmadd_ps(four, d0, _mm256_fnmadd_ps(five, d2, d4));                                                \
        r1 = _mm256_add_ps(q1_, q2_);                                                                                  \
        r2 = _mm256_sub_ps(q1_, q2_);                                                                                  \
        r3 = _mm256_add_ps(q3_, q4_);                                                                                  \
        r4 = _mm256_sub_ps(q3_, q4_);                                                                                  \
        r5 = _mm256_fmadd_ps(four, d1, _mm256_fnmadd_ps(five, d3, d5));                                                \
    } while (0)

/* A^T applied to 6 vectors. */
#define WG_OUT1D(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                                               \
    do {                                                                                                               \
        __m256 a_ = _mm256_add_ps(m1, m2), b_ = _mm256_sub_ps(m1, m2);                                                 \
        __m256 c_ = _mm256_add_ps(m3, m4), d_ = _mm256_sub_ps(m3, m4);                                                 \
        o0 = _mm256_add_ps(_mm256_add_ps(m0, a_), c_);                                                                 \
        o1 = _mm256_fmadd_ps(two, d_, b_);                                                                             \
        o2 = _mm256_fmadd_ps(four, c_, a_);                                                                            \
        o3 = _mm256_add_ps(_mm256_fmadd_ps(eight, d_, b_), m5);                                                        \
    } while (0)

/* The n x n patch of 8-lane vectors at (iy0, ix0) of one 8-channel plane xb (h x w x 8), zero
 * outside it, into d[a * n + b]; inlined with n constant for both tile sizes. */
WG_AVX2 static inline void load_patch(const float * xb, int64_t h, int64_t w, int64_t iy0, int64_t ix0, int n,
                                      __m256 * d) {
    if (iy0 >= 0 && ix0 >= 0 && iy0 + n <= h && ix0 + n <= w) {
        for (int a = 0; a < n; a++) {
            const float * row = xb + ((iy0 + a) * w + ix0) * EI_BLOCK8;
            for (int b = 0; b < n; b++) d[a * n + b] = _mm256_loadu_ps(row + b * EI_BLOCK8);
        }
        return;
    }
    for (int a = 0; a < n; a++) {
        int64_t iy = iy0 + a;
        for (int b = 0; b < n; b++) {
            int64_t ix = ix0 + b;
            d[a * n + b] = iy >= 0 && iy < h && ix >= 0 && ix < w ? _mm256_loadu_ps(xb + (iy * w + ix) * EI_BLOCK8)
                                                                  : _mm256_setzero_ps();
        }
    }
}

/* The 36 transformed vectors of the 6x6 patch at (iy0, ix0) of one 8-channel plane xb (h x w x 8),
 * zero outside it; v[p * ldp] for position p. */
WG_AVX2 static void in_tile(const float * xb, int64_t h, int64_t w, int64_t iy0, int64_t ix0, float * v, int64_t ldp) {
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
    __m256       d[6][6], t[6][6];
    load_patch(xb, h, w, iy0, ix0, 6, &d[0][0]);
    for (int b = 0; b < 6; b++)
        WG_IN1D(d[0][b], d[1][b], d[2][b], d[3][b], d[4][b], d[5][b], t[0][b], t[1][b], t[2][b], t[3][b], t[4][b],
                t[5][b]);
    for (int i = 0; i < 6; i++) {
        __m256 r0, r1, r2, r3, r4, r5;
        WG_IN1D(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], r0, r1, r2, r3, r4, r5);
        float * o = v + i * 6 * ldp;
        _mm256_storeu_ps(o, r0);
        _mm256_storeu_ps(o + ldp, r1);
        _mm256_storeu_ps(o + 2 * ldp, r2);
        _mm256_storeu_ps(o + 3 * ldp, r3);
        _mm256_storeu_ps(o + 4 * ldp, r4);
        _mm256_storeu_ps(o + 5 * ldp, r5);
    }
}

/* F(2x2, 3x3): the 16 transformed vectors (B^T d B) of the 4x4 patch at (iy0, ix0), as in_tile. */
WG_AVX2 static void in_tile2(const float * xb, int64_t h, int64_t w, int64_t iy0, int64_t ix0, float * v, int64_t ldp) {
    __m256 d[4][4], t[4][4];
    load_patch(xb, h, w, iy0, ix0, 4, &d[0][0]);
    /* B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], on the columns, then on the rows. */
    for (int b = 0; b < 4; b++) {
        t[0][b] = _mm256_sub_ps(d[0][b], d[2][b]);
        t[1][b] = _mm256_add_ps(d[1][b], d[2][b]);
        t[2][b] = _mm256_sub_ps(d[2][b], d[1][b]);
        t[3][b] = _mm256_sub_ps(d[1][b], d[3][b]);
    }
    for (int i = 0; i < 4; i++) {
        float * o = v + i * 4 * ldp;
        _mm256_storeu_ps(o, _mm256_sub_ps(t[i][0], t[i][2]));
        _mm256_storeu_ps(o + ldp, _mm256_add_ps(t[i][1], t[i][2]));
        _mm256_storeu_ps(o + 2 * ldp, _mm256_sub_ps(t[i][2], t[i][1]));
        _mm256_storeu_ps(o + 3 * ldp, _mm256_sub_ps(t[i][1], t[i][3]));
    }
}

/* out[t * ldo + 0..16) = sum_k v[t * ldv + k] * u[k * 16 + 0..16) for t < 6. */
WG_AVX2 static void ukr_6x16(int64_t k, const float * restrict v, int64_t ldv, const float * restrict u,
                             float * restrict out, int64_t ldo) {
    __m256       c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256       c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *v0 = v, *v1 = v + ldv, *v2 = v + 2 * ldv, *v3 = v + 3 * ldv, *v4 = v + 4 * ldv, *v5 = v + 5 * ldv;
    for (int64_t i = 0; i < k; i++, u += WG_NR) {
        __m256 b0 = _mm256_load_ps(u), b1 = _mm256_load_ps(u + 8), a;
        a = _mm256_broadcast_ss(v0 + i);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(v1 + i);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(v2 + i);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(v3 + i);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(v4 + i);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(v5 + i);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    _mm256_storeu_ps(out, c00);
    _mm256_storeu_ps(out + 8, c01);
    _mm256_storeu_ps(out + ldo, c10);
    _mm256_storeu_ps(out + ldo + 8, c11);
    _mm256_storeu_ps(out + 2 * ldo, c20);
    _mm256_storeu_ps(out + 2 * ldo + 8, c21);
    _mm256_storeu_ps(out + 3 * ldo, c30);
    _mm256_storeu_ps(out + 3 * ldo + 8, c31);
    _mm256_storeu_ps(out + 4 * ldo, c40);
    _mm256_storeu_ps(out + 4 * ldo + 8, c41);
    _mm256_storeu_ps(out + 5 * ldo, c50);
    _mm256_storeu_ps(out + 5 * ldo + 8, c51);
}

/* Where one output tile of one 8-channel block goes. */
typedef struct wg_out {
    const wg_state * s;
    float *          yb;    /* Y plane of the block (oh x ow x 8) */
    const float *    rb;    /* residual plane, or NULL */
    const float *    bias;  /* 8 values */
    int64_t          lanes; /* real channels in the block (8 but in the last) */
} wg_out;

/* The first cols outputs y of output row oy from column ox0: bias, residual and activation added,
 * padding lanes zeroed, stored into blocked Y. */
WG_AVX2 static void store_row(const wg_out * o, const __m256 * y, int64_t oy, int64_t ox0, int64_t cols) {
    const wg_state * s = o->s;
    const __m256     bias = _mm256_loadu_ps(o->bias), zero = _mm256_setzero_ps();
    const __m256     alpha = _mm256_set1_ps(s->f.alpha), beta = _mm256_set1_ps(s->f.beta);
    int64_t          off = (oy * s->ow + ox0) * EI_BLOCK8;
    float *          dst = o->yb + off;
    const float *    res = o->rb ? o->rb + off : NULL;
    for (int q = 0; q < cols; q++) {
        __m256 v = _mm256_add_ps(y[q], bias);
        if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + q * EI_BLOCK8));
        switch (s->f.act) {
        case EI_ACT_NONE: break;
        case EI_ACT_RELU: v = _mm256_max_ps(v, zero); break;
        case EI_ACT_CLIP: v = _mm256_min_ps(_mm256_max_ps(v, alpha), beta); break;
        case EI_ACT_LEAKY_RELU:
            v = _mm256_blendv_ps(v, _mm256_mul_ps(v, alpha), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            break;
        default: break; /* applied below, row by row */
        }
        _mm256_storeu_ps(dst + q * EI_BLOCK8, v);
    }
    if (s->f.act > EI_ACT_LEAKY_RELU) ei_fused_act_apply(&s->f, dst, cols * EI_BLOCK8);
    if (o->lanes < EI_BLOCK8) {
        __m256i lane_ok =
            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)o->lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int q = 0; q < cols; q++)
            _mm256_maskstore_ps(dst + q * EI_BLOCK8, _mm256_xor_si256(lane_ok, _mm256_set1_epi32(-1)), zero);
    }
}

WG_AVX2 static void out_tile(const wg_out * o, const float * mv, int64_t ldp, int64_t oy0, int64_t ox0) {
    const __m256     two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), eight = _mm256_set1_ps(8.0f);
    const wg_state * s = o->s;
    __m256           t[4][6];
    for (int j = 0; j < 6; j++) {
        const float * c = mv + j * ldp;
        __m256        m0 = _mm256_loadu_ps(c), m1 = _mm256_loadu_ps(c + 6 * ldp), m2 = _mm256_loadu_ps(c + 12 * ldp);
        __m256        m3 = _mm256_loadu_ps(c + 18 * ldp), m4 = _mm256_loadu_ps(c + 24 * ldp);
        __m256        m5 = _mm256_loadu_ps(c + 30 * ldp);
        WG_OUT1D(m0, m1, m2, m3, m4, m5, t[0][j], t[1][j], t[2][j], t[3][j]);
    }
    int64_t rows = s->oh - oy0 < 4 ? s->oh - oy0 : 4, cols = s->ow - ox0 < 4 ? s->ow - ox0 : 4;
    for (int r = 0; r < rows; r++) {
        __m256 y[4];
        WG_OUT1D(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5], y[0], y[1], y[2], y[3]);
        store_row(o, y, oy0 + r, ox0, cols);
    }
}

/* F(2x2, 3x3): A^T = [1 1 1 0; 0 1 -1 -1] on the 16 vectors of one tile, as out_tile. */
WG_AVX2 static void out_tile2(const wg_out * o, const float * mv, int64_t ldp, int64_t oy0, int64_t ox0) {
    const wg_state * s = o->s;
    __m256           t[2][4];
    for (int j = 0; j < 4; j++) {
        const float * c = mv + j * ldp;
        __m256        m0 = _mm256_loadu_ps(c), m1 = _mm256_loadu_ps(c + 4 * ldp), m2 = _mm256_loadu_ps(c + 8 * ldp);
        __m256        m3 = _mm256_loadu_ps(c + 12 * ldp);
        t[0][j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        t[1][j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    int64_t rows = s->oh - oy0 < 2 ? s->oh - oy0 : 2, cols = s->ow - ox0 < 2 ? s->ow - ox0 : 2;
    for (int r = 0; r < rows; r++) {
        __m256 y[2];
        y[0] = _mm256_add_ps(_mm256_add_ps(t[r][0], t[r][1]), t[r][2]);
        y[1] = _mm256_sub_ps(_mm256_sub_ps(t[r][1], t[r][2]), t[r][3]);
        store_row(o, y, oy0 + r, ox0, cols);
    }
}

typedef struct wg_job {
    wg_state *    s;
    const float * x;
    const float * r;
    float *       y;
    int32_t       nw;
} wg_job;

/* Tile block tbi, channel chunk mci, in worker scratch buf. */
WG_AVX2 static void wg_item(const wg_job * j, int64_t tbi, int64_t mci, float * buf) {
    const wg_state * s = j->s;
    int64_t          t0 = tbi * s->tb, nt = s->tiles - t0 < s->tb ? s->tiles - t0 : s->tb;
    int64_t          ntp = round_up(nt, WG_MR), ldm = s->mc16 * WG_NR;
    int64_t          ldv = s->ldv, ldmb = s->ldmb, tpi = s->th * s->tw;
    float *          v = buf, *mb = buf + s->np * ldv;
    int64_t          g0 = mci * s->mc16, g1 = g0 + s->mc16 < s->m16 ? g0 + s->mc16 : s->m16;
    for (int64_t t = 0; t < nt; t++) {
        int64_t tt = t0 + t, n = tt / tpi, ty = tt % tpi / s->tw, tx = tt % s->tw;
        for (int64_t cb = 0; cb < s->cb; cb++) {
            const float * xb = j->x + (n * s->cb + cb) * s->h * s->w * EI_BLOCK8;
            int64_t       iy0 = ty * s->r - s->pt, ix0 = tx * s->r - s->pl;
            if (s->r == 4)
                in_tile(xb, s->h, s->w, iy0, ix0, v + t * s->ck + cb * EI_BLOCK8, ldv);
            else
                in_tile2(xb, s->h, s->w, iy0, ix0, v + t * s->ck + cb * EI_BLOCK8, ldv);
        }
    }
    for (int64_t p = 0; p < s->np; p++)
        for (int64_t gi = g0; gi < g1; gi++) {
            const float * up = s->u + (p * s->m16 + gi) * s->ck * WG_NR;
            for (int64_t t = 0; t < ntp; t += WG_MR)
                ukr_6x16(s->ck, v + p * ldv + t * s->ck, s->ck, up, mb + p * ldmb + t * ldm + (gi - g0) * WG_NR, ldm);
        }
    int64_t b1 = g1 * 2 < s->mb ? g1 * 2 : s->mb, plane = s->oh * s->ow * EI_BLOCK8;
    for (int64_t ob = g0 * 2; ob < b1; ob++) {
        for (int64_t t = 0; t < nt; t++) {
            int64_t tt = t0 + t, n = tt / tpi, ty = tt % tpi / s->tw, tx = tt % s->tw;
            int64_t lanes = s->m - ob * EI_BLOCK8;
            wg_out  o = {s, j->y + (n * s->mb + ob) * plane, j->r ? j->r + (n * s->mb + ob) * plane : NULL,
                         s->bias + ob * EI_BLOCK8, lanes < EI_BLOCK8 ? lanes : EI_BLOCK8};
            if (s->r == 4)
                out_tile(&o, mb + t * ldm + (ob - g0 * 2) * EI_BLOCK8, ldmb, ty * 4, tx * 4);
            else
                out_tile2(&o, mb + t * ldm + (ob - g0 * 2) * EI_BLOCK8, ldmb, ty * 2, tx * 2);
        }
    }
}

static void wg_worker(void * ctx, int64_t begin, int64_t end) {
    const wg_job * j = ctx;
    int64_t        items = j->s->n_tb * j->s->n_mc;
    for (int64_t w = begin; w < end; w++)
        for (int64_t it = w; it < items; it += j->nw) wg_item(j, it / j->s->n_mc, it % j->s->n_mc, j->s->scratch[w]);
}

static ei_status * wg_run(const ei_node * node, void * state, const ei_tensor * const * in, ei_tensor * const * out,
                          const ei_exec * ex) {
    (void)node;
    wg_state * s = state;
    if (s->bias_in >= 0 && in[s->bias_in]) memcpy(s->bias, in[s->bias_in]->data, (size_t)s->m * sizeof(float));
    int32_t nw = ei_threadpool_size(ex->pool);
    if (nw > s->n_scratch) nw = s->n_scratch;
    if (nw < 1) nw = 1;
    wg_job j = {s, in[0]->data, s->res_in >= 0 ? in[s->res_in]->data : NULL, out[0]->data, nw};
    ei_parallel_for(ex->pool, nw, 1, wg_worker, &j);
    return NULL;
}

const ei_cpu_kernel ei_winograd_conv_blocked8 = {
    .supports = wg_supports,
    .prepare = wg_prepare,
    .run = wg_run,
    .release = wg_release,
};

#endif
