/* `edgeinfer bench --profile`: time spent in each node of the optimised graph, like trtexec's
 * --dumpProfile. The session observer is called after every node, so the time between two
 * calls is that node's; a clock read per node costs tens of nanoseconds, far below a kernel's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/status.h"
#include "ir/graph.h"
#include "runtime/session_internal.h"

typedef struct prof {
    double   last;
    double * node_ms; /* per graph node, summed over the runs */
    int32_t  n_nodes;
} prof;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static ei_status * observe(void * user, const ei_graph * g, const ei_node * node, const ei_tensor * const * out) {
    (void)out;
    prof * p = user;
    double t = now_ms();
    p->node_ms[node - g->nodes] += t - p->last;
    p->last = t;
    return NULL;
}

typedef struct row {
    const char * key;
    double       ms;
    int32_t      count;
    int32_t      node; /* -1 for an op-type row */
} row;

static int by_time(const void * a, const void * b) {
    double x = ((const row *)a)->ms, y = ((const row *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void print_tables(FILE * f, const ei_graph * g, const prof * p, long runs, int top) {
    row *   ops = calloc((size_t)g->n_nodes + 1, sizeof *ops);
    row *   nodes = calloc((size_t)g->n_nodes + 1, sizeof *nodes);
    int32_t n_ops = 0, n_nodes = 0;
    double  total = 0;
    if (!ops || !nodes) {
        free(ops), free(nodes);
        fprintf(f, "profile      : out of memory\n");
        return;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (p->node_ms[i] <= 0) continue;
        double ms = p->node_ms[i] / (double)runs;
        total += ms;
        nodes[n_nodes++] = (row){g->nodes[i].name, ms, 1, i};
        int32_t k = 0;
        while (k < n_ops && strcmp(ops[k].key, g->nodes[i].op_type) != 0) k++;
        if (k == n_ops) ops[n_ops++] = (row){g->nodes[i].op_type, 0, 0, -1};
        ops[k].ms += ms;
        ops[k].count++;
    }
    qsort(ops, (size_t)n_ops, sizeof *ops, by_time);
    qsort(nodes, (size_t)n_nodes, sizeof *nodes, by_time);
    fprintf(f, "profile      : %ld runs, %.3f ms per run in %d nodes\n", runs, total, n_nodes);
    fprintf(f, "  %-28s %6s %10s %7s\n", "operator", "nodes", "ms/run", "share");
    for (int32_t i = 0; i < n_ops; i++)
        fprintf(f, "  %-28s %6d %10.4f %6.1f%%\n", ops[i].key, ops[i].count, ops[i].ms,
                total > 0 ? 100.0 * ops[i].ms / total : 0);
    int shown = top < n_nodes ? top : n_nodes;
    fprintf(f, "  slowest %d node%s:\n  %-40s %-20s %-22s %9s %7s\n", shown, shown == 1 ? "" : "s", "node", "operator",
            "output", "ms/run", "share");
    for (int i = 0; i < shown; i++) {
        const ei_node * n = &g->nodes[nodes[i].node];
        char            shape[64] = "";
        if (n->n_outputs && n->outputs[0] >= 0) ei_shape_format(&g->values[n->outputs[0]].shape, shape, sizeof shape);
        fprintf(f, "  %-40.40s %-20.20s %-22.22s %9.4f %6.1f%%\n", n->name, n->op_type, shape, nodes[i].ms,
                total > 0 ? 100.0 * nodes[i].ms / total : 0);
    }
    fprintf(f, "\n");
    free(ops);
    free(nodes);
}

ei_status * ei_bench_profile(ei_session * s, double min_ms, long min_runs, int top, FILE * f) {
    const ei_graph * g = ei_session_graph(s);
    prof             p = {.n_nodes = g->n_nodes};
    p.node_ms = calloc((size_t)g->n_nodes + 1, sizeof *p.node_ms);
    if (!p.node_ms) return ei_status_oom();
    ei_session_set_observer(s, observe, &p);
    ei_status * st = NULL;
    long        runs = 0;
    double      start = now_ms();
    while (!st && (runs < min_runs || now_ms() - start < min_ms)) {
        p.last = now_ms();
        st = ei_session_run(s);
        runs++;
    }
    ei_session_set_observer(s, NULL, NULL);
    if (!st) print_tables(f, g, &p, runs, top);
    free(p.node_ms);
    return st;
}
