/* ei_sgemm: a Goto/BLIS-style blocked matrix product.
 *
 * C is computed in blocks of KC along k: for each block, op(A) is packed into micro-panels of MR
 * rows and op(B) into micro-panels of NR columns (contiguous, zero-padded, transposition resolved
 * while packing), then a register-blocked micro-kernel multiplies one A micro-panel by one B
 * micro-panel into an MR x NR tile of C. The micro-kernel is chosen once per process from the CPU
 * (AVX2+FMA intrinsics, else portable GCC vector extensions). Vector products (m == 1 or n == 1)
 * skip packing, since every element is used only once. Pack buffers are malloc'd per call; if that
 * fails, a plain loop computes the same result. */
#include "cpu/sgemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EI_SGEMM_X86 1
#endif

/* KC floats of an A micro-panel row and a B micro-panel row stay in L1 across the k loop; the
 * largest MR x KC block handled per task stays in L2. */
#define SG_KC      256
#define SG_NC_MAX  4096 /* columns of B packed at once (4 MiB at KC = 256) */
#define SG_MS_MAX  4096 /* rows of A packed at once */
#define SG_MC_ROWS 144  /* rows of A one compute task reuses a B micro-panel for */
#define SG_MAX_MR  8
#define SG_MAX_NR  16
#define SG_ALIGN   64

/* tile[0:mr, 0:nr] of C (row stride ldc) = alpha * Apanel * Bpanel + beta * tile; beta == 0 does
 * not read C. */
typedef void (*sg_ukr_fn)(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, float alpha,
                          float beta);
/* out[j * ldo] = alpha * sum_p x[p * incx] * M(p, j) + beta * out[j * ldo] for j in [j0, j1). */
typedef struct sg_gemv {
    bool          dot_form; /* M(p, j) = mat[j * ldm + p]; else mat[p * ldm + j] */
    int64_t       k;
    float         alpha, beta;
    const float * x;
    int64_t       incx;
    const float * mat;
    int64_t       ldm;
    float *       out;
    int64_t       ldo;
} sg_gemv;
typedef void (*sg_gemv_fn)(const sg_gemv * g, int64_t j0, int64_t j1);

typedef struct sg_isa {
    const char * name;
    int          mr, nr;
    sg_ukr_fn    ukr;
    sg_gemv_fn   gemv;
} sg_isa;

/* ---------------------------------------------------------------------------------------------
 * Vector products. The body is written once and compiled per target by inlining. */

#define SG_GEMV_CHUNK 512

static inline __attribute__((always_inline)) void gemv_body(const sg_gemv * g, int64_t j0, int64_t j1) {
    const int64_t k = g->k;
    if (g->dot_form) {
        for (int64_t j = j0; j < j1; j++) {
            const float * m = g->mat + j * g->ldm;
            float         s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t       p = 0;
            if (g->incx == 1) {
                for (; p + 8 <= k; p += 8)
                    for (int q = 0; q < 8; q++) s[q] += g->x[p + q] * m[p + q];
            }
            float t = 0.0f;
            for (; p < k; p++) t += g->x[p * g->incx] * m[p];
            t += ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
            float * o = g->out + j * g->ldo;
            *o = g->beta == 0.0f ? g->alpha * t : g->alpha * t + g->beta * *o;
        }
        return;
    }
    float acc[SG_GEMV_CHUNK];
    for (int64_t c0 = j0; c0 < j1; c0 += SG_GEMV_CHUNK) {
        int64_t n = j1 - c0 < SG_GEMV_CHUNK ? j1 - c0 : SG_GEMV_CHUNK;
        for (int64_t j = 0; j < n; j++) acc[j] = 0.0f;
        for (int64_t p = 0; p < k; p++) {
            const float   xp = g->x[p * g->incx];
            const float * m = g->mat + p * g->ldm + c0;
            for (int64_t j = 0; j < n; j++) acc[j] += xp * m[j];
        }
        for (int64_t j = 0; j < n; j++) {
            float * o = g->out + (c0 + j) * g->ldo;
            *o = g->beta == 0.0f ? g->alpha * acc[j] : g->alpha * acc[j] + g->beta * *o;
        }
    }
}

static void gemv_generic(const sg_gemv * g, int64_t j0, int64_t j1) { gemv_body(g, j0, j1); }

/* ---------------------------------------------------------------------------------------------
 * Portable micro-kernel, 6 x 16, with GCC vector extensions: on x86-64 baseline it is SSE2, on
 * AArch64 NEON (whose 32 registers hold the 24 accumulators). */

typedef float sg_v4 __attribute__((vector_size(16)));

static inline sg_v4 v4_load(const float * p) {
    sg_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v4_store(float * p, sg_v4 v) { memcpy(p, &v, sizeof v); }

static void ukr_generic_6x16(int64_t kc, const float * restrict a, const float * restrict b, float * restrict c,
                             int64_t ldc, float alpha, float beta) {
    sg_v4 acc[6][4];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = (sg_v4){0, 0, 0, 0};
    for (int64_t p = 0; p < kc; p++) {
        sg_v4 b0 = v4_load(b), b1 = v4_load(b + 4), b2 = v4_load(b + 8), b3 = v4_load(b + 12);
        for (int i = 0; i < 6; i++) {
            sg_v4 ai = {a[i], a[i], a[i], a[i]};
            acc[i][0] += ai * b0;
            acc[i][1] += ai * b1;
            acc[i][2] += ai * b2;
            acc[i][3] += ai * b3;
        }
        a += 6;
        b += 16;
    }
    sg_v4 va = {alpha, alpha, alpha, alpha}, vb = {beta, beta, beta, beta};
    for (int i = 0; i < 6; i++) {
        float * ci = c + i * ldc;
        for (int j = 0; j < 4; j++) {
            sg_v4 r = va * acc[i][j];
            if (beta != 0.0f) r += vb * v4_load(ci + 4 * j);
            v4_store(ci + 4 * j, r);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * AVX2 + FMA micro-kernel, 6 x 16: 12 accumulators, 2 B vectors and 1 broadcast of the 16 ymm
 * registers; two FMAs per broadcast hide the FMA latency. */

#ifdef EI_SGEMM_X86
#define SG_AVX2 __attribute__((target("avx2,fma")))

#define SG_ROW(i)                                                                                                      \
    do {                                                                                                               \
        __m256 av = _mm256_broadcast_ss(a + (i));                                                                      \
        c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);                                                                    \
        c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);                                                                    \
    } while (0)

#define SG_STORE(i)                                                                                                    \
    do {                                                                                                               \
        float * ci = c + (i)*ldc;                                                                                      \
        __m256  r0 = _mm256_mul_ps(va, c##i##0), r1 = _mm256_mul_ps(va, c##i##1);                                      \
        if (beta != 0.0f) {                                                                                            \
            r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);                                                         \
            r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);                                                     \
        }                                                                                                              \
        _mm256_storeu_ps(ci, r0);                                                                                      \
        _mm256_storeu_ps(ci + 8, r1);                                                                                  \
    } while (0)

SG_AVX2 static void ukr_avx2_6x16(int64_t kc, const float * restrict a, const float * restrict b, float * restrict c,
                                  int64_t ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int i = 0; i < 6; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        SG_ROW(0);
        SG_ROW(1);
        SG_ROW(2);
        SG_ROW(3);
        SG_ROW(4);
        SG_ROW(5);
        a += 6;
        b += 16;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    SG_STORE(0);
    SG_STORE(1);
    SG_STORE(2);
    SG_STORE(3);
    SG_STORE(4);
    SG_STORE(5);
}

SG_AVX2 static void gemv_avx2(const sg_gemv * g, int64_t j0, int64_t j1) { gemv_body(g, j0, j1); }
#endif

/* ---------------------------------------------------------------------------------------------
 * Kernel selection. */

static const sg_isa g_isa_generic = {"generic", 6, 16, ukr_generic_6x16, gemv_generic};
#ifdef EI_SGEMM_X86
static const sg_isa g_isa_avx2 = {"avx2", 6, 16, ukr_avx2_6x16, gemv_avx2};
#endif

static const sg_isa * g_isa; /* resolved on first use */

static const sg_isa * isa_best(void) {
#ifdef EI_SGEMM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &g_isa_avx2;
#endif
    return &g_isa_generic;
}

static const sg_isa * isa_get(void) {
    const sg_isa * s = __atomic_load_n(&g_isa, __ATOMIC_ACQUIRE);
    if (!s) {
        s = isa_best();
        __atomic_store_n(&g_isa, s, __ATOMIC_RELEASE);
    }
    return s;
}

bool ei_sgemm_select(const char * isa) {
    const sg_isa * s = NULL;
    if (!isa || strcmp(isa, "auto") == 0)
        s = isa_best();
    else if (strcmp(isa, "generic") == 0)
        s = &g_isa_generic;
#ifdef EI_SGEMM_X86
    else if (strcmp(isa, "avx2") == 0 && isa_best() == &g_isa_avx2)
        s = &g_isa_avx2;
#endif
    if (!s) return false;
    __atomic_store_n(&g_isa, s, __ATOMIC_RELEASE);
    return true;
}

const char * ei_sgemm_isa(void) { return isa_get()->name; }

/* ---------------------------------------------------------------------------------------------
 * The plain loop: tiny products and the fallback when pack buffers cannot be allocated. */

typedef struct sg_simple {
    bool          ta, tb;
    int64_t       n, k;
    float         alpha, beta;
    const float * a;
    const float * b;
    float *       c;
    int64_t       lda, ldb, ldc;
} sg_simple;

/* Rows [r0, r1) of C; i-k-j order so the inner loop streams rows of B and C. */
static void simple_rows(void * ctx, int64_t r0, int64_t r1) {
    const sg_simple * j = ctx;
    for (int64_t i = r0; i < r1; i++) {
        float * crow = j->c + i * j->ldc;
        if (j->beta == 0.0f) {
            for (int64_t x = 0; x < j->n; x++) crow[x] = 0.0f;
        } else if (j->beta != 1.0f) {
            for (int64_t x = 0; x < j->n; x++) crow[x] *= j->beta;
        }
        for (int64_t p = 0; p < j->k; p++) {
            float av = j->alpha * (j->ta ? j->a[p * j->lda + i] : j->a[i * j->lda + p]);
            if (!j->tb) {
                const float * brow = j->b + p * j->ldb;
                for (int64_t x = 0; x < j->n; x++) crow[x] += av * brow[x];
            } else {
                for (int64_t x = 0; x < j->n; x++) crow[x] += av * j->b[x * j->ldb + p];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The blocked product. */

typedef struct sg_ctx {
    const sg_isa * isa;
    bool           ta, tb;
    const float *  a;
    const float *  b;
    float *        c;
    int64_t        lda, ldb, ldc;
    float          alpha, beta; /* beta of the current k block: the caller's, then 1 */
    int64_t        i0, mcur, j0, ncur, p0, kcur;
    int64_t        m_panels, n_panels;
    int64_t        mc_panels, nb, n_chunk; /* compute task grid */
    float *        ap;
    float *        bp;
} sg_ctx;

/* Micro-panel ip of op(A) rows [i0, i0 + mcur), k range [p0, p0 + kcur): dst[p * mr + r]. */
static void pack_a(const sg_ctx * x, int64_t ip) {
    const int     mr = x->isa->mr;
    const int64_t kc = x->kcur, r0 = x->i0 + ip * mr;
    int64_t       rows = x->mcur - ip * mr;
    if (rows > mr) rows = mr;
    float * dst = x->ap + ip * mr * kc;
    if (!x->ta) {
        for (int64_t r = 0; r < rows; r++) {
            const float * src = x->a + (r0 + r) * x->lda + x->p0;
            for (int64_t p = 0; p < kc; p++) dst[p * mr + r] = src[p];
        }
        for (int64_t r = rows; r < mr; r++)
            for (int64_t p = 0; p < kc; p++) dst[p * mr + r] = 0.0f;
    } else {
        for (int64_t p = 0; p < kc; p++) {
            const float * src = x->a + (x->p0 + p) * x->lda + r0;
            float *       d = dst + p * mr;
            int64_t       r = 0;
            for (; r < rows; r++) d[r] = src[r];
            for (; r < mr; r++) d[r] = 0.0f;
        }
    }
}

/* Micro-panel jp of op(B) columns [j0, j0 + ncur), k range [p0, p0 + kcur): dst[p * nr + j]. */
static void pack_b(const sg_ctx * x, int64_t jp) {
    const int     nr = x->isa->nr;
    const int64_t kc = x->kcur, c0 = x->j0 + jp * nr;
    int64_t       cols = x->ncur - jp * nr;
    if (cols > nr) cols = nr;
    float * dst = x->bp + jp * nr * kc;
    if (!x->tb) {
        for (int64_t p = 0; p < kc; p++) {
            const float * src = x->b + (x->p0 + p) * x->ldb + c0;
            float *       d = dst + p * nr;
            if (cols == nr) {
                memcpy(d, src, (size_t)nr * sizeof(float));
            } else {
                int64_t j = 0;
                for (; j < cols; j++) d[j] = src[j];
                for (; j < nr; j++) d[j] = 0.0f;
            }
        }
    } else {
        for (int64_t j = 0; j < cols; j++) {
            const float * src = x->b + (c0 + j) * x->ldb + x->p0;
            for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = src[p];
        }
        for (int64_t j = cols; j < nr; j++)
            for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = 0.0f;
    }
}

/* Full micro-panels [jp0, jp1) of untransposed B, row by row: reading whole row segments rather
 * than one panel's 64 bytes per row of B keeps the walk over B sequential (one TLB entry per row
 * instead of one per panel row). */
static void pack_b_rows(const sg_ctx * x, int64_t jp0, int64_t jp1) {
    const int     nr = x->isa->nr;
    const int64_t kc = x->kcur;
    for (int64_t p = 0; p < kc; p++) {
        const float * src = x->b + (x->p0 + p) * x->ldb + x->j0 + jp0 * nr;
        for (int64_t jp = jp0; jp < jp1; jp++, src += nr)
            memcpy(x->bp + (jp * kc + p) * nr, src, (size_t)nr * sizeof(float));
    }
}

static void pack_range(void * ctx, int64_t t0, int64_t t1) {
    const sg_ctx * x = ctx;
    for (int64_t t = t0; t < t1; t++) {
        if (t < x->m_panels) {
            pack_a(x, t);
            continue;
        }
        int64_t jp = t - x->m_panels, full = x->ncur / x->isa->nr;
        if (!x->tb && jp < full) {
            int64_t end = t1 - x->m_panels < full ? t1 - x->m_panels : full;
            pack_b_rows(x, jp, end);
            t += end - jp - 1;
        } else {
            pack_b(x, jp);
        }
    }
}

/* Task t: A micro-panels of one MC block times a chunk of B micro-panels. Each B micro-panel is
 * loaded into L1 once and used against every A micro-panel of the block (which sits in L2). */
static void compute_range(void * ctx, int64_t t0, int64_t t1) {
    const sg_ctx * x = ctx;
    const int      mr = x->isa->mr, nr = x->isa->nr;
    const int64_t  kc = x->kcur;
    float          tmp[SG_MAX_MR * SG_MAX_NR] __attribute__((aligned(SG_ALIGN)));
    for (int64_t t = t0; t < t1; t++) {
        int64_t ib = t / x->nb, jb = t % x->nb;
        int64_t ip0 = ib * x->mc_panels, ip1 = ip0 + x->mc_panels;
        int64_t jp0 = jb * x->n_chunk, jp1 = jp0 + x->n_chunk;
        if (ip1 > x->m_panels) ip1 = x->m_panels;
        if (jp1 > x->n_panels) jp1 = x->n_panels;
        for (int64_t jp = jp0; jp < jp1; jp++) {
            const float * bpan = x->bp + jp * nr * kc;
            int64_t       cols = x->ncur - jp * nr;
            if (cols > nr) cols = nr;
            for (int64_t ip = ip0; ip < ip1; ip++) {
                const float * apan = x->ap + ip * mr * kc;
                int64_t       rows = x->mcur - ip * mr;
                if (rows > mr) rows = mr;
                float * ct = x->c + (x->i0 + ip * mr) * x->ldc + x->j0 + jp * nr;
                if (rows == mr && cols == nr) {
                    x->isa->ukr(kc, apan, bpan, ct, x->ldc, x->alpha, x->beta);
                    continue;
                }
                x->isa->ukr(kc, apan, bpan, tmp, nr, x->alpha, 0.0f);
                for (int64_t r = 0; r < rows; r++) {
                    float *       crow = ct + r * x->ldc;
                    const float * trow = tmp + r * nr;
                    if (x->beta == 0.0f) {
                        for (int64_t j = 0; j < cols; j++) crow[j] = trow[j];
                    } else {
                        for (int64_t j = 0; j < cols; j++) crow[j] = trow[j] + x->beta * crow[j];
                    }
                }
            }
        }
    }
}

/* Splits n into the fewest near-equal parts of at most max each. */
static int64_t balanced_block(int64_t n, int64_t max) {
    int64_t parts = (n + max - 1) / max;
    return (n + parts - 1) / parts;
}

static void gemm_blocked(ei_threadpool * pool, sg_ctx * x, int64_t m, int64_t n, int64_t k, float beta) {
    const int     mr = x->isa->mr, nr = x->isa->nr;
    const int64_t threads = ei_threadpool_size(pool);
    const int64_t ms = balanced_block(m, SG_MS_MAX), nc = balanced_block(n, SG_NC_MAX);
    const int64_t kcb = balanced_block(k, SG_KC);
    for (x->i0 = 0; x->i0 < m; x->i0 += ms) {
        x->mcur = m - x->i0 < ms ? m - x->i0 : ms;
        x->m_panels = (x->mcur + mr - 1) / mr;
        for (x->j0 = 0; x->j0 < n; x->j0 += nc) {
            x->ncur = n - x->j0 < nc ? n - x->j0 : nc;
            x->n_panels = (x->ncur + nr - 1) / nr;
            /* About 4 tasks per thread, without splitting A blocks below SG_MC_ROWS rows. */
            x->mc_panels = balanced_block(x->m_panels, (SG_MC_ROWS + mr - 1) / mr);
            int64_t mb = (x->m_panels + x->mc_panels - 1) / x->mc_panels;
            int64_t nb = (4 * threads + mb - 1) / mb;
            if (nb > x->n_panels) nb = x->n_panels;
            x->n_chunk = (x->n_panels + nb - 1) / nb;
            x->nb = (x->n_panels + x->n_chunk - 1) / x->n_chunk;
            for (x->p0 = 0; x->p0 < k; x->p0 += kcb) {
                x->kcur = k - x->p0 < kcb ? k - x->p0 : kcb;
                x->beta = x->p0 == 0 ? beta : 1.0f;
                ei_parallel_for(pool, x->m_panels + x->n_panels, 4, pack_range, x);
                ei_parallel_for(pool, mb * x->nb, 1, compute_range, x);
            }
        }
    }
}

static void gemv_range(void * ctx, int64_t j0, int64_t j1) {
    const sg_gemv * g = ctx;
    isa_get()->gemv(g, j0, j1);
}

void ei_sgemm(ei_threadpool * pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    /* Small products are not worth waking the pool for. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (flops < 2e5) pool = NULL;
    if (k <= 0 || alpha == 0.0f) {
        /* BLAS semantics: op(A) * op(B) is not evaluated. */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    if (m == 1 || n == 1) {
        sg_gemv g = {.k = k, .alpha = alpha, .beta = beta, .out = c};
        int64_t len;
        if (m == 1) { /* C row = A row * op(B) */
            g.x = a;
            g.incx = trans_a ? lda : 1;
            g.mat = b;
            g.ldm = ldb;
            g.dot_form = trans_b;
            g.ldo = 1;
            len = n;
        } else { /* C column = op(A) * B column */
            g.x = b;
            g.incx = trans_b ? 1 : ldb;
            g.mat = a;
            g.ldm = lda;
            g.dot_form = !trans_a;
            g.ldo = ldc;
            len = m;
        }
        int64_t grain = g.dot_form ? 1 + 32768 / (k + 1) : SG_GEMV_CHUNK;
        ei_parallel_for(pool, len, grain, gemv_range, &g);
        return;
    }
    if (flops <= 8192.0) {
        sg_simple j = {trans_a, trans_b, n, k, alpha, beta, a, b, c, lda, ldb, ldc};
        simple_rows(&j, 0, m);
        return;
    }
    sg_ctx        x = {.isa = isa_get(),
                       .ta = trans_a,
                       .tb = trans_b,
                       .a = a,
                       .b = b,
                       .c = c,
                       .lda = lda,
                       .ldb = ldb,
                       .ldc = ldc,
                       .alpha = alpha};
    const int64_t mr = x.isa->mr, nr = x.isa->nr;
    int64_t       ms = balanced_block(m, SG_MS_MAX), nc = balanced_block(n, SG_NC_MAX), kc = balanced_block(k, SG_KC);
    size_t        abytes = (size_t)((ms + mr - 1) / mr * mr * kc) * sizeof(float);
    size_t        bbytes = (size_t)((nc + nr - 1) / nr * nr * kc) * sizeof(float);
    x.ap = aligned_alloc(SG_ALIGN, (abytes + SG_ALIGN - 1) / SG_ALIGN * SG_ALIGN);
    x.bp = aligned_alloc(SG_ALIGN, (bbytes + SG_ALIGN - 1) / SG_ALIGN * SG_ALIGN);
    if (x.ap && x.bp) {
        gemm_blocked(pool, &x, m, n, k, beta);
    } else {
        sg_simple j = {trans_a, trans_b, n, k, alpha, beta, a, b, c, lda, ldb, ldc};
        ei_parallel_for(pool, m, 1 + 65536 / (n * k + 1), simple_rows, &j);
    }
    free(x.ap);
    free(x.bp);
}
