/* ei.FromBlocked8 with flat = 1 (src/ops/blocked8.c), the node concat_from_blocked8.c makes: each
 * output image is the inputs' NHWC images [Hk, Wk, Ck] one after the other. Checked exactly
 * against a direct loop on odd sizes (5 and 12 channels: a partial block each, 1 x 1 and 9 x 13
 * maps, 70 x 3 pixels over two tiles, batch 2), on 1 and 2 threads; and the attribute checks that
 * keep a hostile engine file from reaching the kernel: flat without nhwc, a shape that does not
 * hold the images, dims whose product overflows. */
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "ei_test.h"
#include "ir/graph.h"
#include "ir/graph_edit.h"
#include "ops/blocked8.h"
#include "ops/op.h"

#define N_IMG 2

typedef struct level {
    int64_t c, h, w;
} level;

static const level k_levels[] = {{5, 9, 13}, {12, 1, 1}, {5, 70, 3}};
#define N_LEVELS ((int32_t)(sizeof k_levels / sizeof k_levels[0]))

static int64_t per_image(void) {
    int64_t s = 0;
    for (int32_t k = 0; k < N_LEVELS; k++) s += k_levels[k].c * k_levels[k].h * k_levels[k].w;
    return s;
}

/* The node with flat, nhwc and shape as given (shape_rank 0: no shape attribute). */
static ei_node * make_node(ei_graph * g, int64_t flat, int64_t nhwc, const int64_t * shape, int32_t shape_rank) {
    int32_t ins[N_LEVELS], out;
    for (int32_t k = 0; k < N_LEVELS; k++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", k);
        if (ei_graph_value_add(g, name, &ins[k])) abort();
        ei_value * v = &g->values[ins[k]];
        v->dtype = EI_DTYPE_F32;
        v->shape = ei_shape_make(
            5, (const int64_t[]){N_IMG, ei_blocks8(k_levels[k].c), k_levels[k].h, k_levels[k].w, EI_BLOCK8});
        v->shape_known = true;
    }
    if (ei_graph_value_add(g, "out", &out)) abort();
    int32_t idx;
    if (ei_graph_node_new(g, "ei.FromBlocked8", "n0", 13, ins, N_LEVELS, &out, 1, &idx)) abort();
    ei_node * n = &g->nodes[idx];
    int64_t   ch[N_LEVELS];
    for (int32_t k = 0; k < N_LEVELS; k++) ch[k] = k_levels[k].c;
    if (ei_node_set_attr_ints(n, "channels", ch, N_LEVELS) || ei_node_set_attr_int(n, "flat", flat) ||
        ei_node_set_attr_int(n, "nhwc", nhwc) || (shape_rank && ei_node_set_attr_ints(n, "shape", shape, shape_rank)))
        abort();
    return n;
}

static ei_status * import_infer(ei_graph * g, ei_node * n) {
    EI_TRY(ei_node_reimport(n));
    return n->def->infer(g, n);
}

static void run_case(int32_t threads) {
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    int64_t   shape[3] = {N_IMG, per_image() / 3, 3}; /* 3 divides the per-image count (1647) */
    ei_node * n = make_node(g, 1, 1, shape, 3);
    EI_CHECK_OK(import_infer(g, n));
    const ei_value * yv = &g->values[n->outputs[0]];
    EI_CHECK(yv->shape.rank == 3 && yv->shape.dim[1] == shape[1]);
    ei_tensor * in[N_LEVELS] = {0};
    ei_tensor * y = NULL;
    uint32_t    seed = 7;
    for (int32_t k = 0; k < N_LEVELS; k++) {
        if (ei_tensor_create(EI_DTYPE_F32, &g->values[n->inputs[k]].shape, &in[k])) abort();
        float * d = ei_tensor_data(in[k]);
        for (int64_t i = 0; i < ei_tensor_numel(in[k]); i++) {
            seed = seed * 1664525u + 1013904223u;
            d[i] = (float)(seed >> 8);
        }
    }
    if (ei_tensor_create(EI_DTYPE_F32, &yv->shape, &y)) abort();
    ei_threadpool * pool = NULL;
    EI_CHECK_OK(ei_threadpool_create(threads, &pool));
    ei_exec ex = {.pool = pool};
    EI_CHECK_OK(n->def->run(n, (const ei_tensor * const *)in, &y, &ex));
    const float * out = ei_tensor_data(y);
    int64_t       bad = 0, off = 0;
    for (int32_t k = 0; k < N_LEVELS; k++) {
        const level * L = &k_levels[k];
        const float * x = ei_tensor_data(in[k]);
        int64_t       cb = ei_blocks8(L->c), hw = L->h * L->w;
        for (int64_t i = 0; i < N_IMG; i++)
            for (int64_t p = 0; p < hw; p++)
                for (int64_t c = 0; c < L->c; c++) {
                    float want = x[((i * cb + c / 8) * hw + p) * 8 + c % 8];
                    bad += out[i * per_image() + off + p * L->c + c] != want;
                }
        off += L->c * hw;
    }
    EI_CHECK(bad == 0);
    ei_threadpool_destroy(pool);
    for (int32_t k = 0; k < N_LEVELS; k++) ei_tensor_destroy(in[k]);
    ei_tensor_destroy(y);
    ei_graph_destroy(g);
}

static void test_one_thread(void) { run_case(1); }
static void test_two_threads(void) { run_case(2); }

static void expect_error(int64_t flat, int64_t nhwc, const int64_t * shape, int32_t rank, const char * msg) {
    ei_graph * g = NULL;
    if (ei_graph_create(&g)) abort();
    ei_node * n = make_node(g, flat, nhwc, shape, rank);
    EI_CHECK_ERROR(import_infer(g, n), EI_CODE_INVALID_MODEL, msg);
    ei_graph_destroy(g);
}

static void test_hostile_attributes(void) {
    int64_t good[2] = {N_IMG, per_image()}, short_by_one[2] = {N_IMG, per_image() - 1};
    int64_t huge[3] = {INT64_MAX / 2, 4, 3}, negative[2] = {-N_IMG, -per_image()};
    expect_error(1, 0, good, 2, "needs nhwc = 1");
    expect_error(1, 1, NULL, 0, "shape");
    expect_error(1, 1, short_by_one, 2, "does not hold 2 images of 1647 values");
    expect_error(1, 1, huge, 3, "does not hold");
    expect_error(1, 1, negative, 2, "negative dim");
    expect_error(2, 1, good, 2, "flat must be 0 or 1");
}

int main(void) {
    EI_RUN(test_one_thread);
    EI_RUN(test_two_threads);
    EI_RUN(test_hostile_attributes);
    EI_TEST_EXIT();
}
