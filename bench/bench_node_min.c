/* bench_node_min MODEL.onnx [RUNS] [THREADS]: per operator type, the sum over its nodes of each
 * node's minimum and median time over RUNS runs (default 300, 2 threads), and the whole run's
 * minimum and median. `edgeinfer bench --profile` averages, which a shared machine's load spikes
 * swamp; a node's minimum over hundreds of runs is what its kernel costs when it gets its cores,
 * and stays comparable between builds measured in the same minute. Run it with
 * OMP_WAIT_POLICY=active to match EI_OMP_POLICY=spin of the CLI. Inputs: pseudo-random in [0, 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/edgeinfer.h"
#include "ir/graph.h"
#include "runtime/session_internal.h"

#include "bench_time.h"

typedef struct prof {
    double   last;
    double * t;   /* [run][node] */
    int32_t  run; /* the current run */
    int32_t  n_nodes;
} prof;

static ei_status * observe(void * user, const ei_graph * g, const ei_node * node, const ei_tensor * const * out) {
    (void)out;
    prof * p = user;
    double t = ei_bench_now_us();
    p->t[(size_t)p->run * (size_t)p->n_nodes + (size_t)(node - g->nodes)] = t - p->last;
    p->last = t;
    return NULL;
}

int main(int argc, char ** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_node_min MODEL.onnx [RUNS] [THREADS]\n");
        return 2;
    }
    int32_t          runs = argc > 2 ? atoi(argv[2]) : 300, threads = argc > 3 ? atoi(argv[3]) : 2;
    ei_model *       m = NULL;
    ei_session *     s = NULL;
    ei_model_options mo = ei_model_options_default();
    ei_status *      st = ei_model_load_file(argv[1], &mo, &m);
    if (!st) {
        ei_session_options so = ei_session_options_default();
        so.n_threads = threads;
        st = ei_session_create(m, &so, &s);
    }
    for (int32_t i = 0; !st && i < ei_model_input_count(m); i++) {
        ei_tensor * t = NULL;
        st = ei_tensor_create(ei_model_input_dtype(m, i), ei_model_input_shape(m, i), &t);
        if (!st && ei_tensor_dtype(t) == EI_DTYPE_F32) {
            float *  d = ei_tensor_data(t);
            uint32_t x = 1u;
            for (size_t k = 0; k < ei_tensor_nbytes(t) / sizeof *d; k++) {
                x = x * 1664525u + 1013904223u;
                d[k] = (float)(x >> 8) / 16777216.0f;
            }
        }
        if (!st) st = ei_session_set_input(s, ei_model_input_name(m, i), t);
        ei_tensor_destroy(t);
    }
    if (st) {
        fprintf(stderr, "error: %s\n", ei_status_message(st));
        ei_status_destroy(st);
        ei_session_destroy(s);
        ei_model_destroy(m);
        return 1;
    }
    const ei_graph * g = ei_session_graph(s);
    prof             p = {0, calloc((size_t)runs * (size_t)g->n_nodes + 1, sizeof(double)), 0, g->n_nodes};
    double *         total = calloc((size_t)runs + 1, sizeof *total);
    double *         col = calloc((size_t)runs + 1, sizeof *col);
    for (int32_t w = 0; w < 20 && !st; w++) st = ei_session_run(s);
    ei_session_set_observer(s, observe, &p);
    for (p.run = 0; p.run < runs && !st; p.run++) {
        double t0 = ei_bench_now_us();
        p.last = t0;
        st = ei_session_run(s);
        total[p.run] = ei_bench_now_us() - t0;
    }
    if (st) {
        fprintf(stderr, "error: %s\n", ei_status_message(st));
        ei_status_destroy(st);
        return 1;
    }
    /* per op type: sums of per-node min and median */
    const char * types[256];
    double       tmin[256] = {0}, tmed[256] = {0};
    int32_t      count[256] = {0}, n_types = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        bool ran = false;
        for (int32_t r = 0; r < runs; r++) {
            col[r] = p.t[(size_t)r * (size_t)g->n_nodes + (size_t)i];
            ran |= col[r] > 0;
        }
        if (!ran) continue;
        qsort(col, (size_t)runs, sizeof *col, ei_bench_cmp_double);
        int32_t k = 0;
        while (k < n_types && strcmp(types[k], g->nodes[i].op_type) != 0) k++;
        if (k == n_types && n_types < 256) types[n_types++] = g->nodes[i].op_type;
        if (k < 256) {
            tmin[k] += col[0];
            tmed[k] += col[runs / 2];
            count[k]++;
        }
    }
    qsort(total, (size_t)runs, sizeof *total, ei_bench_cmp_double);
    printf("%s: %d runs, %d threads; whole run min %.1f us, median %.1f us\n", argv[1], runs, threads, total[0],
           total[runs / 2]);
    printf("  %-24s %6s %12s %12s\n", "operator", "nodes", "sum min us", "sum med us");
    for (int32_t k = 0; k < n_types; k++) printf("  %-24s %6d %12.1f %12.1f\n", types[k], count[k], tmin[k], tmed[k]);
    free(p.t);
    free(total);
    free(col);
    ei_session_destroy(s);
    ei_model_destroy(m);
    return 0;
}
