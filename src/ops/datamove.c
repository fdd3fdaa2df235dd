#include "ops/datamove.h"

#include <string.h>

/* Copies n elements read with stride `stride` (elements) into dense dst. Typed loops let the
 * compiler move whole elements instead of bytes; the switch runs once per run, not per element. */
static void copy_run(char * dst, const char * src, int64_t n, int64_t stride, size_t esize) {
    if (stride == 1) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
#define EI_DM_RUN(T)                                                                                                   \
    do {                                                                                                               \
        T *       d_ = (T *)(void *)dst;                                                                               \
        const T * s_ = (const T *)(const void *)src;                                                                   \
        for (int64_t i_ = 0; i_ < n; i_++) d_[i_] = s_[i_ * stride];                                                   \
    } while (0)
    switch (esize) {
    case 1: EI_DM_RUN(uint8_t); break;
    case 2: EI_DM_RUN(uint16_t); break;
    case 4: EI_DM_RUN(uint32_t); break;
    case 8: EI_DM_RUN(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * esize, src + i * stride * (int64_t)esize, esize);
        break;
    }
#undef EI_DM_RUN
}

void ei_dm_fill(void * dst, const void * value, size_t esize, int64_t count) {
    if (count <= 0) return;
    if (esize == 1) {
        memset(dst, *(const uint8_t *)value, (size_t)count);
        return;
    }
#define EI_DM_FILL(T)                                                                                                  \
    do {                                                                                                               \
        T v_;                                                                                                          \
        memcpy(&v_, value, sizeof v_);                                                                                 \
        T * d_ = (T *)dst;                                                                                             \
        for (int64_t i_ = 0; i_ < count; i_++) d_[i_] = v_;                                                            \
    } while (0)
    switch (esize) {
    case 2: EI_DM_FILL(uint16_t); break;
    case 4: EI_DM_FILL(uint32_t); break;
    case 8: EI_DM_FILL(uint64_t); break;
    default:
        for (int64_t i = 0; i < count; i++) memcpy((char *)dst + (size_t)i * esize, value, esize);
        break;
    }
#undef EI_DM_FILL
}

/* Drops unit dims and merges neighbours that are contiguous in the source, so that e.g. a
 * transpose of NCHW to NHWC becomes a batched (C, H*W) matrix transpose. Returns the new rank
 * (at least 1). */
static int32_t simplify(int32_t rank, const int64_t * dims, const int64_t * strides, int64_t * od, int64_t * os) {
    int32_t r = 0;
    for (int32_t k = 0; k < rank; k++) {
        if (dims[k] == 1) continue;
        if (r > 0 && os[r - 1] == strides[k] * dims[k]) {
            od[r - 1] *= dims[k];
            os[r - 1] = strides[k];
        } else {
            od[r] = dims[k];
            os[r] = strides[k];
            r++;
        }
    }
    if (r == 0) {
        od[0] = 1;
        os[0] = 1;
        r = 1;
    }
    return r;
}

typedef struct strided_ctx {
    char *       dst;
    const char * src;
    size_t       esize;
    int32_t      rank;
    int64_t      dims[EI_DM_MAX_RANK];
    int64_t      strides[EI_DM_MAX_RANK];
} strided_ctx;

static void strided_rows(void * arg, int64_t begin, int64_t end) {
    const strided_ctx * c = arg;
    int32_t             outer = c->rank - 1;
    int64_t             inner = c->dims[outer], istride = c->strides[outer];
    int64_t             idx[EI_DM_MAX_RANK];
    int64_t             off = 0, rem = begin;
    for (int32_t k = outer - 1; k >= 0; k--) {
        idx[k] = rem % c->dims[k];
        rem /= c->dims[k];
        off += idx[k] * c->strides[k];
    }
    size_t row_bytes = (size_t)inner * c->esize;
    char * d = c->dst + (size_t)begin * row_bytes;
    for (int64_t row = begin; row < end; row++) {
        copy_run(d, c->src + off * (int64_t)c->esize, inner, istride, c->esize);
        d += row_bytes;
        for (int32_t k = outer - 1; k >= 0; k--) {
            off += c->strides[k];
            if (++idx[k] < c->dims[k]) break;
            off -= c->strides[k] * c->dims[k];
            idx[k] = 0;
        }
    }
}

/* The tiled path: some axis p other than the last is contiguous in the source (stride 1) while
 * the last is not, as in every real transpose. For each combination of the other ("batch") axes
 * the copy is a 2-D transpose of R = dims[p] by C = dims[last], done in square blocks so that
 * both the reads and the writes of a block stay in cache. NCHW<->NHWC and plain 2-D transposes
 * are the one-batch-axis and no-batch-axis cases. */
typedef struct tiled_ctx {
    char *       dst;
    const char * src;
    size_t       esize;
    int32_t      nb;
    int64_t      bdims[EI_DM_MAX_RANK], bsrc[EI_DM_MAX_RANK], bdst[EI_DM_MAX_RANK]; /* batch axes */
    int64_t      R, C, dR, sC; /* dst stride of p's index, src stride of the last index */
    int64_t      rblocks;
} tiled_ctx;

#define EI_DM_BLOCK 32

static void tiled_blocks(void * arg, int64_t begin, int64_t end) {
    const tiled_ctx * c = arg;
    int64_t           R = c->R, C = c->C, dR = c->dR, sC = c->sC;
    for (int64_t t = begin; t < end; t++) {
        int64_t b = t / c->rblocks, i0 = (t % c->rblocks) * EI_DM_BLOCK;
        int64_t i1 = i0 + EI_DM_BLOCK < R ? i0 + EI_DM_BLOCK : R;
        int64_t so = 0, dof = 0;
        for (int32_t k = c->nb - 1; k >= 0; k--) {
            int64_t x = b % c->bdims[k];
            b /= c->bdims[k];
            so += x * c->bsrc[k];
            dof += x * c->bdst[k];
        }
        char *       dst = c->dst + (size_t)dof * c->esize;
        const char * src = c->src + so * (int64_t)c->esize;
        for (int64_t j0 = 0; j0 < C; j0 += EI_DM_BLOCK) {
            int64_t j1 = j0 + EI_DM_BLOCK < C ? j0 + EI_DM_BLOCK : C;
            /* Walk contiguously the side whose other stride is longer: a long power-of-two
             * stride walked in the inner loop maps the whole block to one cache set. */
#define EI_DM_TR(T)                                                                                                    \
    do {                                                                                                               \
        T *       d_ = (T *)(void *)dst;                                                                               \
        const T * s_ = (const T *)(const void *)src;                                                                   \
        if (sC > dR)                                                                                                   \
            for (int64_t j = j0; j < j1; j++)                                                                          \
                for (int64_t i = i0; i < i1; i++) d_[i * dR + j] = s_[i + j * sC];                                     \
        else                                                                                                           \
            for (int64_t i = i0; i < i1; i++)                                                                          \
                for (int64_t j = j0; j < j1; j++) d_[i * dR + j] = s_[i + j * sC];                                     \
    } while (0)
            switch (c->esize) {
            case 1: EI_DM_TR(uint8_t); break;
            case 2: EI_DM_TR(uint16_t); break;
            case 4: EI_DM_TR(uint32_t); break;
            case 8: EI_DM_TR(uint64_t); break;
            default:
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = j0; j < j1; j++)
                        memcpy(dst + (size_t)(i * dR + j) * c->esize, src + (i + j * sC) * (int64_t)c->esize, c->esize);
                break;
            }
#undef EI_DM_TR
        }
    }
}

void ei_dm_strided_copy(void * dst, const void * src, size_t esize, int32_t rank, const int64_t * dims,
                        const int64_t * strides, ei_threadpool * pool) {
    int64_t numel = 1;
    for (int32_t k = 0; k < rank; k++) numel *= dims[k];
    if (numel <= 0) return;
    strided_ctx c;
    memset(&c, 0, sizeof c);
    c.dst = dst;
    c.src = src;
    c.esize = esize;
    c.rank = simplify(rank, dims, strides, c.dims, c.strides);
    int32_t r = c.rank, p = -1;
    for (int32_t k = 0; k < r - 1 && c.strides[r - 1] != 1; k++)
        if (c.strides[k] == 1) p = k;
    if (p >= 0 && c.dims[r - 1] >= 4 && c.dims[p] >= 4) {
        tiled_ctx t;
        memset(&t, 0, sizeof t);
        t.dst = dst;
        t.src = src;
        t.esize = esize;
        t.R = c.dims[p];
        t.C = c.dims[r - 1];
        t.sC = c.strides[r - 1];
        int64_t dstr[EI_DM_MAX_RANK], dst_stride = 1, batch = 1;
        for (int32_t k = r - 1; k >= 0; k--) {
            dstr[k] = dst_stride;
            dst_stride *= c.dims[k];
        }
        t.dR = dstr[p];
        for (int32_t k = 0; k < r - 1; k++) {
            if (k == p) continue;
            t.bdims[t.nb] = c.dims[k];
            t.bsrc[t.nb] = c.strides[k];
            t.bdst[t.nb++] = dstr[k];
            batch *= c.dims[k];
        }
        t.rblocks = (t.R + EI_DM_BLOCK - 1) / EI_DM_BLOCK;
        int64_t block_bytes = EI_DM_BLOCK * t.C * (int64_t)esize;
        ei_parallel_for(pool, batch * t.rblocks, EI_DM_GRAIN_BYTES / block_bytes + 1, tiled_blocks, &t);
        return;
    }
    int64_t inner = c.dims[r - 1];
    int64_t rows = numel / inner;
    ei_parallel_for(pool, rows, EI_DM_GRAIN_BYTES / (inner * (int64_t)esize) + 1, strided_rows, &c);
}

void ei_dm_transpose(void * dst, const void * src, size_t esize, int32_t rank, const int64_t * in_dims,
                     const int32_t * perm, ei_threadpool * pool) {
    int64_t in_strides[EI_MAX_RANK], dims[EI_MAX_RANK], strides[EI_MAX_RANK];
    int64_t st = 1;
    for (int32_t k = rank - 1; k >= 0; k--) {
        in_strides[k] = st;
        st *= in_dims[k];
    }
    for (int32_t k = 0; k < rank; k++) {
        dims[k] = in_dims[perm[k]];
        strides[k] = in_strides[perm[k]];
    }
    ei_dm_strided_copy(dst, src, esize, rank, dims, strides, pool);
}

typedef struct rows_ctx {
    char *       dst;
    const char * src;
    int64_t      dst_pitch, src_pitch, run;
} rows_ctx;

static void copy_rows_range(void * arg, int64_t begin, int64_t end) {
    const rows_ctx * c = arg;
    for (int64_t r = begin; r < end; r++) memcpy(c->dst + r * c->dst_pitch, c->src + r * c->src_pitch, (size_t)c->run);
}

void ei_dm_copy_rows(void * dst, int64_t dst_pitch, const void * src, int64_t src_pitch, int64_t run_bytes,
                     int64_t rows, ei_threadpool * pool) {
    if (run_bytes <= 0 || rows <= 0) return;
    if (dst_pitch == run_bytes && src_pitch == run_bytes) {
        ei_dm_copy(dst, src, (size_t)(run_bytes * rows), pool);
        return;
    }
    rows_ctx c = {.dst = dst, .src = src, .dst_pitch = dst_pitch, .src_pitch = src_pitch, .run = run_bytes};
    ei_parallel_for(pool, rows, EI_DM_GRAIN_BYTES / run_bytes + 1, copy_rows_range, &c);
}

typedef struct copy_ctx {
    char *       dst;
    const char * src;
    size_t       nbytes;
} copy_ctx;

static void copy_chunks(void * arg, int64_t begin, int64_t end) {
    const copy_ctx * c = arg;
    size_t           b = (size_t)begin * (size_t)EI_DM_GRAIN_BYTES;
    size_t           e = (size_t)end * (size_t)EI_DM_GRAIN_BYTES;
    if (e > c->nbytes) e = c->nbytes;
    memcpy(c->dst + b, c->src + b, e - b);
}

void ei_dm_copy(void * dst, const void * src, size_t nbytes, ei_threadpool * pool) {
    if (!nbytes || dst == src) return;
    copy_ctx c = {.dst = dst, .src = src, .nbytes = nbytes};
    int64_t  chunks = (int64_t)((nbytes + (size_t)EI_DM_GRAIN_BYTES - 1) / (size_t)EI_DM_GRAIN_BYTES);
    /* memcpy is bandwidth-bound: splitting pays off only for megabytes. */
    ei_parallel_for(pool, chunks, 16, copy_chunks, &c);
}
