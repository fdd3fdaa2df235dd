#include <unistd.h>

#include "core/tensor.h"
#include "ei_test.h"
#include "io/npy.h"

static void roundtrip(ei_dtype dt, const char * ext) {
    ei_shape    s = ei_shape_make(3, (const int64_t[]){2, 1, 3});
    ei_tensor * t = NULL;
    EI_CHECK_OK(ei_tensor_create(dt, &s, &t));
    uint8_t * d = ei_tensor_data(t);
    for (size_t i = 0; i < ei_tensor_nbytes(t); i++) d[i] = (uint8_t)(i * 7 + 1);
    if (dt == EI_DTYPE_BOOL)
        for (size_t i = 0; i < ei_tensor_nbytes(t); i++) d[i] &= 1;
    char path[128];
    snprintf(path, sizeof path, "tensor_file_test_%d_%s%s", (int)getpid(), ei_dtype_name(dt), ext);
    EI_CHECK_OK(ei_tensor_save_file(t, "x", path));
    ei_tensor * r = NULL;
    EI_CHECK_OK(ei_tensor_load_file(path, &r));
    EI_CHECK(r && r->dtype == dt && ei_shape_equal(&r->shape, &s));
    EI_CHECK(r && memcmp(r->data, t->data, t->nbytes) == 0);
    unlink(path);
    ei_tensor_destroy(r);
    ei_tensor_destroy(t);
}

static void test_roundtrips(void) {
    const ei_dtype dts[] = {EI_DTYPE_F32, EI_DTYPE_F64, EI_DTYPE_I64,  EI_DTYPE_I32,
                            EI_DTYPE_U8,  EI_DTYPE_I8,  EI_DTYPE_BOOL, EI_DTYPE_F16};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        roundtrip(dts[i], ".npy");
        roundtrip(dts[i], ".pb");
    }
}

static void test_bad_npy(void) {
    ei_tensor * t = NULL;
    const char  junk[] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'";
    EI_CHECK_ERROR(ei_npy_decode((const uint8_t *)junk, sizeof junk - 1, "junk", &t), EI_CODE_INVALID_ARGUMENT,
                   "truncated");
    EI_CHECK_ERROR(ei_npy_decode((const uint8_t *)"hello world", 11, "hw", &t), EI_CODE_INVALID_ARGUMENT, "magic");
    EI_CHECK_ERROR(ei_tensor_load_file("does_not_exist.npy", &t), EI_CODE_NOT_FOUND, "cannot open");
    EI_CHECK_ERROR(ei_tensor_load_file("x.txt", &t), EI_CODE_INVALID_ARGUMENT, ".npy or .pb");
    /* declared shape larger than the data */
    char    hdr[128];
    int     n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }\n");
    uint8_t buf[256] = "\x93NUMPY\x01\x00";
    buf[8] = (uint8_t)n;
    memcpy(buf + 10, hdr, (size_t)n);
    EI_CHECK_ERROR(ei_npy_decode(buf, (size_t)(10 + n + 16), "short", &t), EI_CODE_INVALID_ARGUMENT, "truncated");
}

int main(void) {
    EI_RUN(test_roundtrips);
    EI_RUN(test_bad_npy);
    EI_TEST_EXIT();
}
