#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "ei_test.h"

static void test_status(void) {
    EI_CHECK(ei_status_code(NULL) == EI_CODE_OK);
    EI_CHECK(strcmp(ei_status_message(NULL), "") == 0);
    ei_status * st = ei_errorf(EI_CODE_INVALID_MODEL, "node '%s' is bad", "n1");
    st = ei_status_wrapf(st, "loading %s", "m.onnx");
    EI_CHECK(ei_status_code(st) == EI_CODE_INVALID_MODEL);
    EI_CHECK(strcmp(ei_status_message(st), "loading m.onnx: node 'n1' is bad") == 0);
    ei_status_destroy(st);
    ei_status_destroy(ei_status_oom()); /* the static status survives destroy */
    EI_CHECK(ei_status_code(ei_status_oom()) == EI_CODE_OUT_OF_MEMORY);
}

static void test_shapes(void) {
    ei_shape s = ei_shape_make(4, (const int64_t[]){1, 3, 224, 224});
    char     buf[64];
    EI_CHECK(strcmp(ei_shape_format(&s, buf, sizeof buf), "1x3x224x224") == 0);
    EI_CHECK(ei_shape_numel(&s) == 150528);
    size_t nb = 0;
    EI_CHECK_OK(ei_shape_nbytes_checked(&s, EI_DTYPE_F32, 1 << 30, &nb));
    EI_CHECK(nb == 602112);
    ei_shape huge = ei_shape_make(3, (const int64_t[]){1ll << 30, 1ll << 30, 1ll << 30});
    EI_CHECK_ERROR(ei_shape_nbytes_checked(&huge, EI_DTYPE_F32, (size_t)1 << 40, &nb), EI_CODE_INVALID_ARGUMENT,
                   "more than");
    ei_shape neg = ei_shape_make(2, (const int64_t[]){2, -1});
    EI_CHECK_ERROR(ei_shape_nbytes_checked(&neg, EI_DTYPE_F32, 1 << 30, &nb), EI_CODE_INVALID_ARGUMENT, "negative");
    ei_shape scalar = ei_shape_make(0, NULL);
    EI_CHECK(ei_shape_numel(&scalar) == 1);
    EI_CHECK(strcmp(ei_shape_format(&scalar, buf, sizeof buf), "scalar") == 0);
}

static void test_tensor(void) {
    ei_shape    s = ei_shape_make(2, (const int64_t[]){2, 3});
    ei_tensor * t = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s, &t));
    EI_CHECK(t && ei_tensor_nbytes(t) == 24 && ei_tensor_numel(t) == 6);
    EI_CHECK(((uintptr_t)ei_tensor_data(t) % 64) == 0);
    ((float *)ei_tensor_data(t))[5] = 2.5f;
    ei_tensor * c = NULL;
    EI_CHECK_OK(ei_tensor_clone(t, &c));
    EI_CHECK(c && ((float *)ei_tensor_data(c))[5] == 2.5f);
    ei_tensor_destroy(c);
    ei_tensor_destroy(t);
    EI_CHECK_ERROR(ei_tensor_create(EI_DTYPE_UNDEFINED, &s, &t), EI_CODE_INVALID_ARGUMENT, "dtype");
}

static void test_half(void) {
    const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.1f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float r = ei_f16_to_f32(ei_f32_to_f16(vals[i]));
        EI_CHECK_NEAR(r, vals[i], fabs(vals[i]) * 1e-3);
    }
    EI_CHECK(ei_f32_to_f16(1.0f) == 0x3c00);
    EI_CHECK(ei_f32_to_f16(1e6f) == 0x7c00); /* overflow to inf */
    EI_CHECK(isnan(ei_f16_to_f32(ei_f32_to_f16(NAN))));
    EI_CHECK(ei_f32_to_bf16(1.0f) == 0x3f80);
    EI_CHECK_NEAR(ei_bf16_to_f32(ei_f32_to_bf16(3.14159f)), 3.140625, 1e-6);
    EI_CHECK(ei_dtype_from_onnx(1) == EI_DTYPE_F32 && ei_dtype_from_onnx(16) == EI_DTYPE_BF16);
    EI_CHECK(ei_dtype_from_onnx(8) == EI_DTYPE_UNDEFINED); /* string */
}

typedef struct sum_ctx {
    int64_t * out;
} sum_ctx;

static void fill(void * ctx, int64_t b, int64_t e) {
    sum_ctx * c = ctx;
    for (int64_t i = b; i < e; i++) c->out[i] = i * 2;
}

static void test_threadpool(void) {
    ei_threadpool * p = NULL;
    EI_CHECK_OK(ei_threadpool_create(4, &p));
    EI_CHECK(ei_threadpool_size(p) == 4);
    int64_t * buf = calloc(100000, sizeof *buf);
    sum_ctx   c = {buf};
    for (int rep = 0; rep < 50; rep++) {
        memset(buf, 0, 100000 * sizeof *buf);
        ei_parallel_for(p, 100000, 7, fill, &c);
        int64_t bad = 0;
        for (int64_t i = 0; i < 100000; i++) bad += buf[i] != i * 2;
        EI_CHECK(bad == 0);
    }
    ei_parallel_for(NULL, 10, 1, fill, &c); /* serial */
    EI_CHECK(buf[9] == 18);
    free(buf);
    ei_threadpool_destroy(p);
}

int main(void) {
    EI_RUN(test_status);
    EI_RUN(test_shapes);
    EI_RUN(test_tensor);
    EI_RUN(test_half);
    EI_RUN(test_threadpool);
    EI_TEST_EXIT();
}
