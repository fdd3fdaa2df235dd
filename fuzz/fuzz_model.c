/* Fuzz target for the whole load path: wire decoding, import, shape inference and constant
 * folding (which runs the reference kernels on whatever constants the input holds). Any input
 * must load or be refused with a status, never crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/edgeinfer.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_model * m = NULL;
    /* A base folder with nothing in it, so external-data references cannot reach real files. */
    ei_status * st = ei_model_load_memory(data, size, "/nonexistent-edgeinfer-fuzz", NULL, &m);
    if (!st) {
        ei_session_options so = ei_session_options_default();
        so.n_threads = 1;
        so.max_memory_bytes = 256u << 20; /* stay inside libFuzzer's memory limit */
        int64_t bytes = 0;
        for (int32_t i = 0; i < ei_model_input_count(m); i++)
            bytes += ei_shape_numel(ei_model_input_shape(m, i)) * (int64_t)ei_dtype_size(ei_model_input_dtype(m, i));
        /* Run small models on zero inputs too: exercises the session path and the kernels. */
        ei_session * s = NULL;
        if (bytes < (1 << 20) && !(st = ei_session_create(m, &so, &s))) {
            for (int32_t i = 0; i < ei_model_input_count(m) && !st; i++) {
                ei_tensor * t = NULL;
                st = ei_tensor_create(ei_model_input_dtype(m, i), ei_model_input_shape(m, i), &t);
                if (!st) st = ei_session_set_input(s, ei_model_input_name(m, i), t);
                ei_tensor_destroy(t);
            }
            if (!st) st = ei_session_run(s);
        }
        ei_session_destroy(s);
    }
    ei_status_destroy(st);
    ei_model_destroy(m);
    return 0;
}
