/* Shared machinery of the elementwise family: one broadcasting loop engine that every elementwise
 * op (binary arithmetic, comparisons, unary math, activations, Where, variadic Min/Max/Sum/Mean,
 * Cast) feeds with a typed run kernel, plus dtype tables and element conversion. */
#ifndef EI_OPS_ELTWISE_H
#define EI_OPS_ELTWISE_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

#define EI_EW_MAX_IN 3

/* Processes n elements of one contiguous output run. step[k] is 1 when input k advances with the
 * output and 0 when in[k] points at a single value repeated over the run (a broadcast operand).
 * The engine calls it once per run, never per element, so kernels keep their loops tight. */
typedef void (*ei_ew_fn)(void * out, const void * const * in, const uint8_t * step, int64_t n, const void * param);

/* Kernels by dtype. A NULL entry for float16/bfloat16 with a float32 entry present means: run the
 * float32 kernel on widened values (the engine converts blocks on the fly). */
typedef ei_ew_fn ei_ew_table[EI_DTYPE_COUNT];

typedef struct ei_ew_call {
    int32_t           n_in;
    const ei_tensor * in[EI_EW_MAX_IN];
    ei_tensor *       out;
    ei_ew_fn          fn;
    const void *      param;
    bool              widen; /* present float16/bfloat16 operands to fn as float32 */
    int64_t           grain; /* minimum elements per parallel task */
} ei_ew_call;

/* Broadcasts every input to out's shape (numpy rules, checked by infer) and runs fn over it,
 * collapsing dimensions so that the common cases (same shape, scalar operand, per-channel
 * [1,C,1,1] over NCHW) become long contiguous runs. */
void ei_ew_run(const ei_exec * ex, const ei_ew_call * c);

/* Grains: cheap arithmetic amortises a task over more elements than transcendental math. */
#define EI_EW_GRAIN_CHEAP 32768
#define EI_EW_GRAIN_MATH  4096

static inline bool ei_ew_is_half(ei_dtype dt) { return dt == EI_DTYPE_F16 || dt == EI_DTYPE_BF16; }

/* The kernel for dt from table, or NULL when dt is unsupported; *widen tells whether the float32
 * kernel stands in for a float16/bfloat16 one. */
ei_ew_fn ei_ew_lookup(const ei_ew_fn * table, ei_dtype dt, bool * widen);

/* Error unless input k's dtype has a kernel in table; lists the supported dtypes. */
ei_status * ei_ew_check_dtype(const ei_graph * g, const ei_node * n, int32_t k, const ei_ew_fn * table);
/* Error unless inputs a and b have the same dtype. */
ei_status * ei_ew_check_same_dtype(const ei_graph * g, const ei_node * n, int32_t a, int32_t b);
/* Broadcast shape of inputs [first, first+count) (present ones). */
ei_status * ei_ew_broadcast_inputs(const ei_graph * g, const ei_node * n, int32_t first, int32_t count, ei_shape * out);

/* Converts n elements between any two supported dtypes with ONNX Cast semantics (float -> int
 * truncates toward zero and saturates, NaN -> 0; int -> int wraps; x -> bool is x != 0). */
void ei_ew_convert(const void * src, ei_dtype sdt, void * dst, ei_dtype ddt, int64_t n);
/* Same, parallel over ex->pool for large tensors. */
void ei_ew_convert_par(const ei_exec * ex, const void * src, ei_dtype sdt, void * dst, ei_dtype ddt, int64_t n);

/* Shared pieces of the broadcasting binary ops (two inputs of one dtype, numpy broadcasting).
 * Output dtype: out_dt, or the input dtype when out_dt is EI_DTYPE_UNDEFINED. */
ei_status * ei_ew_binary_infer(ei_graph * g, ei_node * n, const ei_ew_fn * table, ei_dtype out_dt);
ei_status * ei_ew_binary_run(const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex, const ei_ew_fn * table,
                             const void * param, int64_t grain);
/* Unary ops: the output has the input's shape and dtype (or out_dt when not UNDEFINED). */
ei_status * ei_ew_unary_infer(ei_graph * g, ei_node * n, const ei_ew_fn * table, ei_dtype out_dt);
ei_status * ei_ew_unary_run(const ei_tensor * const * in, ei_tensor * out, const ei_exec * ex, const ei_ew_fn * table,
                            const void * param, int64_t grain);
/* Refuses pre-opset-7 explicit broadcasting with an axis, which numpy rules cannot express. */
ei_status * ei_ew_import_legacy_broadcast(ei_node * n);

/* Kernels that can hit a data-dependent error (integer division by zero) raise *err. */
static inline void ei_ew_raise(int * err) { __atomic_store_n(err, 1, __ATOMIC_RELAXED); }

/* Defines ei_op_def_SYM for a two-input broadcasting op computed by TABLE; OUT_DTYPE is the output
 * dtype (EI_DTYPE_UNDEFINED: the inputs' dtype). */
#define EI_EW_BINARY_OP(SYM, ONNX, TABLE, OUT_DTYPE)                                                                   \
    static ei_status * SYM##_infer(ei_graph * g, ei_node * n) { return ei_ew_binary_infer(g, n, TABLE, OUT_DTYPE); }   \
    static ei_status * SYM##_run(const ei_node * node, const ei_tensor * const * in, ei_tensor * const * out,          \
                                 const ei_exec * ex) {                                                                 \
        (void)node;                                                                                                    \
        return ei_ew_binary_run(in, out[0], ex, TABLE, NULL, EI_EW_GRAIN_CHEAP);                                       \
    }                                                                                                                  \
    const ei_op_def ei_op_def_##SYM = {.name = ONNX,                                                                   \
                                       .in_min = 2,                                                                    \
                                       .in_max = 2,                                                                    \
                                       .out_min = 1,                                                                   \
                                       .out_max = 1,                                                                   \
                                       .import = ei_ew_import_legacy_broadcast,                                        \
                                       .infer = SYM##_infer,                                                           \
                                       .run = SYM##_run};

#endif
