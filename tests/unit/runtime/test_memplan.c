/* The memory plan: no two buffers alive at the same step share bytes, the arena is never below
 * the largest live set and equals it on a chain, in-place steps share their input's bytes, and
 * sessions on planned arenas compute the same results. Models are small ONNX files encoded here. */
#include <stdint.h>

#include "core/tensor.h"
#include "ei_test.h"
#include "runtime/memplan.h"
#include "runtime/model_internal.h"

/* ---- a minimal protobuf writer for ONNX models ---- */

typedef struct pb {
    uint8_t * b;
    size_t    n, cap;
} pb;

static void pb_bytes(pb * p, const void * d, size_t n) {
    if (p->n + n > p->cap) {
        p->cap = (p->n + n) * 2 + 64;
        p->b = realloc(p->b, p->cap);
        if (!p->b) abort();
    }
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_varint(pb * p, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        pb_bytes(p, &c, 1);
    } while (v);
}

static void pb_int(pb * p, uint32_t field, int64_t v) {
    pb_varint(p, (uint64_t)field << 3);
    pb_varint(p, (uint64_t)v);
}

static void pb_len(pb * p, uint32_t field, const void * d, size_t n) {
    pb_varint(p, (uint64_t)field << 3 | 2);
    pb_varint(p, n);
    pb_bytes(p, d, n);
}

static void pb_str(pb * p, uint32_t field, const char * s) { pb_len(p, field, s, strlen(s)); }

/* Appends sub as field `field` of p and frees sub. */
static void pb_msg(pb * p, uint32_t field, pb * sub) {
    pb_len(p, field, sub->b, sub->n);
    free(sub->b);
    memset(sub, 0, sizeof *sub);
}

/* A float tensor value_info of shape 1 x n. */
static void value_info(pb * graph, uint32_t field, const char * name, int64_t rows, int64_t cols) {
    pb dim0 = {0}, dim1 = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    pb_int(&dim0, 1, rows);
    pb_int(&dim1, 1, cols);
    pb_msg(&shape, 1, &dim0);
    pb_msg(&shape, 1, &dim1);
    pb_int(&tt, 1, 1); /* FLOAT */
    pb_msg(&tt, 2, &shape);
    pb_msg(&type, 1, &tt);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    pb_msg(graph, field, &vi);
}

/* node "op(in...) -> out"; ins separated by spaces. */
static void node(pb * graph, const char * op, const char * ins, const char * out) {
    pb   n = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ins);
    for (char * t = strtok(buf, " "); t; t = strtok(NULL, " ")) pb_str(&n, 1, t);
    pb_str(&n, 2, out);
    pb_str(&n, 3, out);
    pb_str(&n, 4, op);
    pb_msg(graph, 1, &n);
}

static void int64_initializer(pb * graph, const char * name, int32_t count, const int64_t * v) {
    pb t = {0};
    pb_int(&t, 1, count);
    pb_int(&t, 2, 7); /* INT64 */
    pb_str(&t, 8, name);
    pb_len(&t, 9, v, (size_t)count * sizeof *v);
    pb_msg(graph, 5, &t);
}

static ei_model * load(pb * graph) {
    pb m = {0}, opset = {0};
    pb_int(&m, 1, 8);
    pb_str(&opset, 1, "");
    pb_int(&opset, 2, 13);
    pb_msg(&m, 8, &opset);
    pb_str(graph, 2, "g");
    pb_msg(&m, 7, graph);
    ei_model *  model = NULL;
    ei_status * st = ei_model_load_memory(m.b, m.n, NULL, NULL, &model);
    if (st) {
        fprintf(stderr, "load: %s\n", ei_status_message(st));
        abort();
    }
    free(m.b);
    return model;
}

/* ---- checks ---- */

/* Plans the model's graph as a session does (every unfolded node; the test graphs have no dead
 * ones) and checks the plan's invariants. Returns the plan for further checks. */
static ei_memplan plan_of(const ei_model * m, bool in_place) {
    const ei_graph * g = m->g;
    int32_t          steps[64], n = 0;
    int32_t          ip[64];
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ei_node * nd = &g->nodes[g->order[i]];
        if (nd->folded) continue;
        ip[n] = in_place && (!strcmp(nd->op_type, "Reshape") || !strcmp(nd->op_type, "Flatten") ||
                             !strcmp(nd->op_type, "Identity"))
                    ? 0
                    : -1;
        steps[n++] = g->order[i];
    }
    ei_memplan p;
    EI_CHECK_OK(ei_memplan_build(g, steps, n, ip, &p));
    for (int32_t i = 0; i < p.n_buffers; i++) {
        const ei_mem_buffer * a = &p.buffers[i];
        EI_CHECK(a->offset % EI_MEMPLAN_ALIGN == 0);
        EI_CHECK(a->offset + a->bytes <= p.arena_bytes);
        for (int32_t j = i + 1; j < p.n_buffers; j++) {
            const ei_mem_buffer * b = &p.buffers[j];
            bool                  together = a->first <= b->last && b->first <= a->last;
            bool                  disjoint = a->offset + a->bytes <= b->offset || b->offset + b->bytes <= a->offset;
            EI_CHECK(!together || !a->bytes || !b->bytes || disjoint);
        }
    }
    EI_CHECK(p.arena_bytes >= p.peak_live_bytes);
    EI_CHECK(p.arena_bytes <= p.unplanned_bytes);
    return p;
}

static void run_and_compare(const ei_model * m, const float * x, int32_t count, float (*expect)(float)) {
    ei_session * s = NULL;
    EI_CHECK_OK(ei_session_create(m, NULL, &s));
    if (!s) return;
    ei_shape    shape = ei_shape_make(2, (const int64_t[]){1, count});
    ei_tensor * in = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &shape, &in));
    memcpy(in->data, x, (size_t)count * sizeof *x);
    EI_CHECK_OK(ei_session_set_input(s, "x", in));
    /* Twice: the input must survive the first run, whose tensors reuse bytes. */
    for (int r = 0; r < 2; r++) {
        EI_CHECK_OK(ei_session_run(s));
        const float * y = ei_tensor_data_const(ei_session_output(s, 0));
        int32_t       bad = 0;
        for (int32_t i = 0; i < count; i++) bad += y[i] != expect(x[i]);
        EI_CHECK(bad == 0);
    }
    ei_session_memory mem;
    ei_session_memory_stats(s, &mem);
    EI_CHECK(mem.arena_bytes >= mem.peak_live_bytes && mem.arena_bytes <= mem.unplanned_bytes);
    EI_CHECK(ei_session_memory_bytes(s) == mem.arena_bytes + mem.other_bytes);
    ei_tensor_destroy(in);
    ei_session_destroy(s);
}

enum { N = 1024, TB = N * 4 }; /* elements and bytes of every test tensor */

static void fill(float * x) {
    for (int32_t i = 0; i < N; i++) x[i] = (float)((i * 37) % 101) - 50.0f;
}

static float chain_expect(float v) { return v > 0 ? -v : 0; } /* Relu, then six Neg and three Abs */

/* x -> Relu -> (Neg -> Abs -> Neg) x 3 -> y: at any step only x, one input and one output are
 * alive, so the arena is exactly three tensors while the unplanned sum is eleven. */
static void test_chain_is_tight(void) {
    pb g = {0};
    node(&g, "Relu", "x", "t0");
    char in[16], out[16];
    for (int i = 0; i < 9; i++) {
        snprintf(in, sizeof in, "t%d", i);
        snprintf(out, sizeof out, i == 8 ? "y" : "t%d", i + 1);
        node(&g, i % 3 == 1 ? "Abs" : "Neg", in, out);
    }
    value_info(&g, 11, "x", 1, N);
    value_info(&g, 12, "y", 1, N);
    ei_model * m = load(&g);
    ei_memplan p = plan_of(m, true);
    EI_CHECK(p.n_buffers == 11);
    EI_CHECK(p.unplanned_bytes == 11 * TB);
    EI_CHECK(p.peak_live_bytes == 3 * TB);
    EI_CHECK(p.arena_bytes == 3 * TB);
    ei_memplan_free(&p);

    ei_session_options o = ei_session_options_default();
    ei_session *       s = NULL;
    o.max_memory_bytes = 3 * TB;
    EI_CHECK_OK(ei_session_create(m, &o, &s));
    ei_session_destroy(s);
    o.max_memory_bytes = 3 * TB - 1;
    EI_CHECK_ERROR(ei_session_create(m, &o, &s), EI_CODE_OUT_OF_MEMORY, "tensors need more than");
    EI_CHECK(s == NULL);

    float x[N];
    fill(x);
    run_and_compare(m, x, N, chain_expect);
    ei_model_destroy(m);
}

static float branch_expect(float v) {
    float a = v > 0 ? v : 0, b = -a, c = b > 0 ? b : 0, d = a + c, e = d * b;
    return -(e + a);
}

/* Skip connections keep tensors alive across several steps; no two of them may share bytes. */
static void test_branches_do_not_overlap(void) {
    pb g = {0};
    node(&g, "Relu", "x", "a");
    node(&g, "Neg", "a", "b");
    node(&g, "Relu", "b", "c");
    node(&g, "Add", "a c", "d");
    node(&g, "Mul", "d b", "e");
    node(&g, "Sigmoid", "e", "z"); /* a second graph output: alive until after the run */
    node(&g, "Add", "e a", "f");
    node(&g, "Neg", "f", "y");
    value_info(&g, 11, "x", 1, N);
    value_info(&g, 12, "y", 1, N);
    value_info(&g, 12, "z", 1, N);
    ei_model * m = load(&g);
    ei_memplan p = plan_of(m, true);
    EI_CHECK(p.n_in_place == 0);
    EI_CHECK(p.arena_bytes < p.unplanned_bytes);
    ei_memplan_free(&p);
    float x[N];
    fill(x);
    run_and_compare(m, x, N, branch_expect);
    ei_model_destroy(m);
}

static float reshape_expect(float v) { return v > 0 ? -v : 0; }

/* Relu -> Reshape -> Flatten -> Identity -> Neg: the copies become one buffer. (Graph passes may
 * remove some of the copies first; every one that remains shares the buffer.) */
static void test_in_place_steps_share_bytes(void) {
    pb g = {0};
    node(&g, "Relu", "x", "a");
    node(&g, "Reshape", "a shape", "r");
    node(&g, "Flatten", "r", "f");
    node(&g, "Identity", "f", "i");
    node(&g, "Neg", "i", "y");
    int64_t shape[] = {4, N / 4};
    int64_initializer(&g, "shape", 2, shape);
    value_info(&g, 11, "x", 1, N);
    value_info(&g, 12, "y", 1, N);
    ei_model * m = load(&g);
    ei_memplan p = plan_of(m, true);
    int32_t    copies = 0, neg_in = -1;
    for (int32_t k = 0; k < m->g->n_nodes; k++) {
        const ei_node * nd = &m->g->nodes[k];
        if (nd->folded) continue;
        if (!strcmp(nd->op_type, "Neg")) neg_in = nd->inputs[0];
        copies += strcmp(nd->op_type, "Relu") && strcmp(nd->op_type, "Neg");
    }
    EI_CHECK(copies >= 1);
    EI_CHECK(p.n_in_place == copies);
    EI_CHECK(p.arena_bytes == 3 * TB); /* x, the shared buffer, y */
    int32_t a = ei_graph_value_find(m->g, "a");
    EI_CHECK(a >= 0 && neg_in >= 0 && p.buffer_of[a] == p.buffer_of[neg_in]);
    ei_memplan_free(&p);
    p = plan_of(m, false);
    EI_CHECK(p.n_in_place == 0);
    ei_memplan_free(&p);
    float x[N];
    fill(x);
    run_and_compare(m, x, N, reshape_expect);
    ei_model_destroy(m);
}

/* The blocked channel-scale Mul (ops/blocked8.h) writes over its big operand, input 1 here as
 * torchvision writes squeeze-and-excitation (scale * x): x [1, N] -> Relu -> Reshape [1, 4, 4, 8, 8]
 * -> Mul(s [1, 4, 1, 1, 8], .) -> Reshape [1, N] -> Neg. The session plans the Mul and the two
 * Reshapes of run-time values in place (the scale's Reshape reads a graph input, which keeps its
 * bytes) and computes -(relu(x) * s). */
static void test_channel_scale_mul_in_place(void) {
    pb g = {0};
    node(&g, "Relu", "x", "a");
    node(&g, "Reshape", "a shape5", "a5");
    node(&g, "Reshape", "s shape_s", "s5");
    node(&g, "Mul", "s5 a5", "m");
    node(&g, "Reshape", "m shape2", "m2");
    node(&g, "Neg", "m2", "y");
    int64_t shape5[] = {1, 4, 4, 8, 8}, shape_s[] = {1, 4, 1, 1, 8}, shape2[] = {1, N};
    int64_initializer(&g, "shape5", 5, shape5);
    int64_initializer(&g, "shape_s", 5, shape_s);
    int64_initializer(&g, "shape2", 2, shape2);
    value_info(&g, 11, "x", 1, N);
    value_info(&g, 11, "s", 1, 32);
    value_info(&g, 12, "y", 1, N);
    ei_model *   m = load(&g);
    ei_session * sess = NULL;
    EI_CHECK_OK(ei_session_create(m, NULL, &sess));
    if (!sess) {
        ei_model_destroy(m);
        return;
    }
    ei_session_memory mem;
    ei_session_memory_stats(sess, &mem);
    EI_CHECK(mem.n_in_place == 3);
    float      x[N], sc[32];
    ei_tensor *tx = NULL, *ts = NULL;
    fill(x);
    for (int32_t i = 0; i < 32; i++) sc[i] = 0.25f * (float)(i - 16);
    ei_shape shx = ei_shape_make(2, (const int64_t[]){1, N}), shs = ei_shape_make(2, (const int64_t[]){1, 32});
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &shx, &tx));
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &shs, &ts));
    if (tx && ts) {
        memcpy(tx->data, x, sizeof x);
        memcpy(ts->data, sc, sizeof sc);
        EI_CHECK_OK(ei_session_set_input(sess, "x", tx));
        EI_CHECK_OK(ei_session_set_input(sess, "s", ts));
        for (int r = 0; r < 2; r++) { /* the second run reads the inputs again */
            EI_CHECK_OK(ei_session_run(sess));
            const float * y = ei_tensor_data_const(ei_session_output(sess, 0));
            int32_t       bad = 0;
            for (int32_t i = 0; i < N; i++) { /* element i: block i / 256, lane i % 8 */
                float relu = x[i] > 0 ? x[i] : 0.0f;
                bad += y[i] != -(sc[(i / 256) * 8 + i % 8] * relu);
            }
            EI_CHECK(bad == 0);
        }
    }
    ei_tensor_destroy(tx);
    ei_tensor_destroy(ts);
    ei_session_destroy(sess);
    ei_model_destroy(m);
}

/* Random lifetimes and sizes: placement never overlaps live buffers and never beats the bound. */
static void test_random_placement(void) {
    uint32_t seed = 12345;
    for (int trial = 0; trial < 200; trial++) {
        ei_mem_buffer b[40];
        int32_t       n = 1 + trial % 40, n_steps = 20;
        for (int32_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            int32_t f = (int32_t)(seed >> 8) % (n_steps + 1) - 1;
            seed = seed * 1664525u + 1013904223u;
            int32_t len = (int32_t)(seed >> 8) % 6;
            seed = seed * 1664525u + 1013904223u;
            b[i] = (ei_mem_buffer){((seed >> 8) % 50) * EI_MEMPLAN_ALIGN, f, f + len > n_steps ? n_steps : f + len, 0};
        }
        size_t arena;
        EI_CHECK_OK(ei_memplan_place(b, n, &arena));
        size_t peak = 0;
        for (int32_t t = -1; t <= n_steps; t++) {
            size_t sum = 0;
            for (int32_t i = 0; i < n; i++) sum += (b[i].first <= t && t <= b[i].last) ? b[i].bytes : 0;
            peak = sum > peak ? sum : peak;
        }
        EI_CHECK(arena >= peak);
        for (int32_t i = 0; i < n; i++) {
            EI_CHECK(b[i].offset + b[i].bytes <= arena);
            for (int32_t j = i + 1; j < n; j++) {
                bool together = b[i].first <= b[j].last && b[j].first <= b[i].last;
                bool disjoint = b[i].offset + b[i].bytes <= b[j].offset || b[j].offset + b[j].bytes <= b[i].offset;
                EI_CHECK(!together || !b[i].bytes || !b[j].bytes || disjoint);
            }
        }
    }
}

int main(void) {
    EI_RUN(test_chain_is_tight);
    EI_RUN(test_branches_do_not_overlap);
    EI_RUN(test_in_place_steps_share_bytes);
    EI_RUN(test_channel_scale_mul_in_place);
    EI_RUN(test_random_placement);
    EI_TEST_EXIT();
}
