/* check_pass MODEL.onnx MODEL.expect [LEVEL]: loads the model with optimisation off and at LEVEL
 * (default 1: every pass but the layout plan, so that counts do not depend on oneDNN), checks the
 * optimised graph's op-type counts against the expect file ("OpType count" lines, "total N" for
 * all nodes) and that both runs give the same outputs within 1e-5 on the same random inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/edgeinfer.h"

static int fail(const char * what, ei_status * st) {
    fprintf(stderr, "FAIL %s: %s\n", what, st ? ei_status_message(st) : "");
    ei_status_destroy(st);
    return 1;
}

static int32_t op_count(const ei_model * m, const char * op) {
    if (!strcmp(op, "total")) {
        int32_t n = 0;
        for (int32_t i = 0; i < ei_model_op_type_count(m); i++) n += ei_model_op_type_nodes(m, i);
        return n;
    }
    for (int32_t i = 0; i < ei_model_op_type_count(m); i++)
        if (!strcmp(ei_model_op_type_name(m, i), op)) return ei_model_op_type_nodes(m, i);
    return 0;
}

static int check_counts(const ei_model * m, const char * expect_path) {
    FILE * f = fopen(expect_path, "r");
    if (!f) return fail("cannot open the expect file", NULL);
    char op[128];
    int  want, bad = 0;
    while (fscanf(f, "%127s %d", op, &want) == 2) {
        int32_t got = op_count(m, op);
        if (got != want) {
            fprintf(stderr, "FAIL %s: %d nodes after optimisation, expected %d\n", op, got, want);
            bad = 1;
        }
    }
    fclose(f);
    return bad;
}

/* Runs m on the inputs; *outs gets one copy per graph output. */
static ei_status * run(const ei_model * m, ei_tensor ** inputs, ei_tensor ** outs) {
    ei_session *       s = NULL;
    ei_session_options so = ei_session_options_default();
    so.n_threads = 1;
    ei_status * st = ei_session_create(m, &so, &s);
    for (int32_t i = 0; !st && i < ei_model_input_count(m); i++)
        st = ei_session_set_input(s, ei_model_input_name(m, i), inputs[i]);
    if (!st) st = ei_session_run(s);
    for (int32_t i = 0; !st && i < ei_model_output_count(m); i++) {
        const ei_tensor * t = ei_session_output(s, i);
        st = ei_tensor_create(ei_tensor_dtype(t), ei_tensor_shape(t), &outs[i]);
        if (!st) memcpy(ei_tensor_data(outs[i]), ei_tensor_data_const(t), ei_tensor_nbytes(t));
    }
    ei_session_destroy(s);
    return st;
}

int main(int argc, char ** argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: check_pass MODEL.onnx MODEL.expect [LEVEL]\n");
        return 2;
    }
    ei_model *       m0 = NULL, *m1 = NULL;
    ei_model_options o0 = ei_model_options_default(), o1 = ei_model_options_default();
    o0.optimization_level = 0;
    o1.optimization_level = argc == 4 ? atoi(argv[3]) : 1;
    ei_status * st = ei_model_load_file(argv[1], &o0, &m0);
    if (st) return fail("load -O0", st);
    st = ei_model_load_file(argv[1], &o1, &m1);
    if (st) return fail("load -O1", st);
    int bad = check_counts(m1, argv[2]);
    if (ei_model_output_count(m0) != ei_model_output_count(m1)) return fail("output counts differ", NULL);
    for (int32_t i = 0; i < ei_model_output_count(m0); i++)
        if (strcmp(ei_model_output_name(m0, i), ei_model_output_name(m1, i)) != 0) {
            fprintf(stderr, "FAIL output %d renamed: %s -> %s\n", i, ei_model_output_name(m0, i),
                    ei_model_output_name(m1, i));
            bad = 1;
        }
    int32_t     n_in = ei_model_input_count(m0), n_out = ei_model_output_count(m0);
    ei_tensor **inputs = calloc((size_t)n_in + 1, sizeof *inputs), **out0 = calloc((size_t)n_out + 1, sizeof *out0),
              **out1 = calloc((size_t)n_out + 1, sizeof *out1);
    uint32_t seed = 12345;
    for (int32_t i = 0; !st && i < n_in; i++) {
        st = ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(m0, i), &inputs[i]);
        float * d = st ? NULL : ei_tensor_data(inputs[i]);
        for (int64_t k = 0; d && k < ei_tensor_numel(inputs[i]); k++) {
            seed = seed * 1664525u + 1013904223u;
            d[k] = (float)((double)(seed >> 8) / (double)(1u << 24) * 6.0 - 3.0);
        }
    }
    if (!st) st = run(m0, inputs, out0);
    if (!st) st = run(m1, inputs, out1);
    if (st) return fail("run", st);
    for (int32_t i = 0; i < n_out; i++) {
        int64_t       n = ei_tensor_numel(out0[i]);
        const float * a = ei_tensor_data_const(out0[i]);
        const float * b = ei_tensor_data_const(out1[i]);
        double        worst = 0.0;
        if (n != ei_tensor_numel(out1[i])) {
            fprintf(stderr, "FAIL output %d: %lld vs %lld elements\n", i, (long long)n,
                    (long long)ei_tensor_numel(out1[i]));
            bad = 1;
            continue;
        }
        for (int64_t k = 0; k < n; k++) {
            double e = fabs((double)a[k] - (double)b[k]) / (1.0 + fabs((double)a[k]));
            if (!(e <= worst)) worst = e;
        }
        printf("output %-12s max relative difference %.3g\n", ei_model_output_name(m0, i), worst);
        if (!(worst <= 1e-5)) {
            fprintf(stderr, "FAIL output %s differs from the unoptimised run\n", ei_model_output_name(m0, i));
            bad = 1;
        }
    }
    for (int32_t i = 0; i < n_in; i++) ei_tensor_destroy(inputs[i]);
    for (int32_t i = 0; i < n_out; i++) ei_tensor_destroy(out0[i]), ei_tensor_destroy(out1[i]);
    free(inputs), free(out0), free(out1);
    ei_model_destroy(m0);
    ei_model_destroy(m1);
    if (!bad) printf("ok\n");
    return bad;
}
