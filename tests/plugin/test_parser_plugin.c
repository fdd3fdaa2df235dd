/* Parser plugins through the host API.
 *   test_parser_plugin ULFD_PLUGIN BAD_PLUGINS V999_PLUGIN NO_VERSION_PLUGIN
 *       the ABI checks: loading errors, contract violations, the capacity retry;
 *   test_parser_plugin ULFD_PLUGIN --ulfd DIR
 *       the example plugin on ONNX Runtime's outputs (DIR/scores.npy, DIR/boxes.npy) against the
 *       numpy reference decode DIR/ref.npy ([K, 6]: x1 y1 x2 y2 score class), written by
 *       ulfd_vs_numpy.py. */
#include <unistd.h>

#include "edgeinfer/parser.h"
#include "ei_test.h"

static const char *g_ulfd, *g_bad, *g_v999, *g_nover;

static void test_load_errors(void) {
    ei_parser_plugin * p = NULL;
    EI_CHECK_ERROR(ei_parser_plugin_load("/nonexistent/libnothing.so", "f", &p), EI_CODE_NOT_FOUND,
                   "parser plugin /nonexistent/libnothing.so: cannot open: No such file or directory");
    EI_CHECK(p == NULL);
    /* A file that exists but is no library: the dlerror text is in the message. */
    char self[64];
    snprintf(self, sizeof self, "/proc/%ld/cmdline", (long)getpid());
    EI_CHECK_ERROR(ei_parser_plugin_load(self, "f", &p), EI_CODE_INVALID_ARGUMENT, "cannot load the library: ");
    EI_CHECK_ERROR(ei_parser_plugin_load(g_ulfd, "no_such_function", &p), EI_CODE_NOT_FOUND,
                   "no function 'no_such_function' (parse-bbox-func-name) in the library");
    EI_CHECK_ERROR(ei_parser_plugin_load(g_v999, "v999_parse", &p), EI_CODE_UNSUPPORTED,
                   "built for parser ABI version 999, but this edgeinfer speaks version 1");
    EI_CHECK_ERROR(ei_parser_plugin_load(g_nover, "nov_parse", &p), EI_CODE_INVALID_ARGUMENT,
                   "the library does not export ei_parser_abi_version()");
    EI_CHECK_ERROR(ei_parser_plugin_load(g_ulfd, "", &p), EI_CODE_INVALID_ARGUMENT, "parse-bbox-func-name is empty");
    EI_CHECK_ERROR(ei_parser_plugin_load("", "f", &p), EI_CODE_INVALID_ARGUMENT, "custom-lib-path is empty");
    EI_CHECK(p == NULL);
}

/* Runs function fn of the bad-plugins library on one dummy output. */
static ei_status * run_bad(const char * fn, int32_t n_classes, ei_detections * out) {
    ei_parser_plugin * p = NULL;
    ei_status *        st = ei_parser_plugin_load(g_bad, fn, &p);
    if (st) return st;
    ei_shape    s = {2, {1, 4}};
    ei_tensor * t = NULL;
    st = ei_tensor_create(EI_DTYPE_F32, &s, &t);
    if (!st) {
        ei_class_attrs attrs[4];
        for (int i = 0; i < 4; i++) attrs[i] = (ei_class_attrs){.pre_cluster_threshold = 0.5f};
        const ei_tensor * outs[1] = {t};
        const char *      names[1] = {"out"};
        st = ei_parser_plugin_run(p, outs, names, 1, 0, 320, 240, attrs, n_classes, out);
    }
    ei_tensor_destroy(t);
    ei_parser_plugin_destroy(p);
    return st;
}

static void test_contract_violations(void) {
    ei_detections d = {0};
    EI_CHECK_ERROR(run_bad("bad_overflow", 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(bad_overflow) reported 261 detections but the buffer holds 256");
    EI_CHECK_ERROR(run_bad("bad_nan", 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(bad_nan): detection 1 has a non-finite value (box 2,1,12,nan score 0.9)");
    EI_CHECK_ERROR(run_bad("bad_class", 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(bad_class): detection 0 has class id 2, outside 0..1 (num-detected-classes is 2)");
    EI_CHECK_ERROR(run_bad("bad_fail", 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(bad_fail) failed (returned -1): layer count 1 is not what I expected");
    EI_CHECK_ERROR(run_bad("bad_greedy", 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(bad_greedy) asked for room for 260 detections (capacity was 259, attempt 4)");
    EI_CHECK(d.count == 0); /* nothing is appended when the plugin's output is rejected */
    /* The library is named in every message. */
    EI_CHECK_ERROR(run_bad("bad_nan", 2, &d), EI_CODE_INVALID_ARGUMENT, g_bad);
    free(d.items);
}

static void test_capacity_retry_and_threshold(void) {
    ei_detections d = {0};
    d.items = malloc(sizeof *d.items);
    d.capacity = 1;
    d.items[0] = (ei_detection){0, 0, 1, 1, 0.5f, 0};
    d.count = 1; /* results are appended after what is there */
    EI_CHECK_OK(run_bad("good_many", 2, &d));
    /* good_many reports 1000 boxes with scores i/1000; threshold 0.5 keeps i >= 500. */
    EI_CHECK(d.count == 1 + 500);
    int ordered = 1;
    for (int32_t k = 1; k < d.count; k++) ordered &= d.items[k].x1 == (float)(499 + k);
    EI_CHECK(ordered);
    EI_CHECK(d.items[1].class_id == 0 && d.items[2].class_id == 1);
    free(d.items);
}

static void test_bad_inputs(void) {
    ei_parser_plugin * p = NULL;
    EI_CHECK_OK(ei_parser_plugin_load(g_ulfd, "ei_parse_ulfd", &p));
    if (!p) return;
    ei_shape    s = {3, {1, 10, 2}};
    ei_tensor * t = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_F32, &s, &t));
    ei_class_attrs    attrs[2] = {{.pre_cluster_threshold = 0.2f}, {.pre_cluster_threshold = 0.2f}};
    const ei_tensor * outs[1] = {t};
    const char *      names[1] = {"scores"};
    ei_detections     d = {0};
    EI_CHECK_ERROR(ei_parser_plugin_run(p, outs, names, 1, 0, 320, 240, attrs, 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "(ei_parse_ulfd) failed (returned -1): needs the outputs 'scores' [1,N,2] and 'boxes' [1,N,4]");
    EI_CHECK_ERROR(ei_parser_plugin_run(p, outs, names, 1, 3, 320, 240, attrs, 2, &d), EI_CODE_INVALID_ARGUMENT,
                   "batch item 3 requested but output 'scores' has shape 1x10x2");
    EI_CHECK_ERROR(ei_parser_plugin_run(p, outs, names, 1, 0, 320, 240, attrs, 0, &d), EI_CODE_INVALID_ARGUMENT,
                   "num-detected-classes must be > 0");
    ei_tensor_destroy(t);
    ei_shape    si = {3, {1, 10, 4}};
    ei_tensor * ti = NULL;
    EI_CHECK_OK(ei_tensor_create(EI_DTYPE_I32, &si, &ti));
    outs[0] = ti;
    EI_CHECK_ERROR(ei_parser_plugin_run(p, outs, names, 1, 0, 320, 240, attrs, 2, &d), EI_CODE_UNSUPPORTED,
                   "output 'scores' is int32; parser plugins receive float32 layers only");
    ei_tensor_destroy(ti);
    EI_CHECK(d.count == 0);
    free(d.items);
    ei_parser_plugin_destroy(p);
}

static ei_status * load_npy(const char * dir, const char * file, ei_tensor ** t) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return ei_tensor_load_file(path, t);
}

static void test_ulfd_vs_numpy(const char * dir) {
    ei_tensor *scores = NULL, *boxes = NULL, *ref = NULL;
    EI_CHECK_OK(load_npy(dir, "scores.npy", &scores));
    EI_CHECK_OK(load_npy(dir, "boxes.npy", &boxes));
    EI_CHECK_OK(load_npy(dir, "ref.npy", &ref));
    ei_parser_plugin * p = NULL;
    EI_CHECK_OK(ei_parser_plugin_load(g_ulfd, "ei_parse_ulfd", &p));
    if (scores && boxes && ref && p) {
        /* Outputs in the order boxes, scores: the plugin finds them by name. */
        const ei_tensor * outs[2] = {boxes, scores};
        const char *      names[2] = {"boxes", "scores"};
        ei_class_attrs    attrs[2] = {{.pre_cluster_threshold = 0.2f}, {.pre_cluster_threshold = 0.2f}};
        attrs[1].pre_cluster_threshold = 0.7f;
        ei_detections d = {0};
        EI_CHECK_OK(ei_parser_plugin_run(p, outs, names, 2, 0, 320, 240, attrs, 2, &d));
        const float * r = ei_tensor_data_const(ref);
        int64_t       k = ei_tensor_shape(ref)->dim[0];
        printf("ulfd-1.jpg: %d faces from the plugin, %d from the numpy reference\n", (int)d.count, (int)k);
        EI_CHECK(d.count == k);
        EI_CHECK(k > 0);
        double worst = 0;
        for (int32_t i = 0; i < d.count && i < k; i++) {
            const ei_detection * b = &d.items[i];
            const float *        e = r + i * 6;
            double               diffs[5] = {b->x1 - e[0], b->y1 - e[1], b->x2 - e[2], b->y2 - e[3], b->score - e[4]};
            for (int j = 0; j < 5; j++) worst = fmax(worst, fabs(diffs[j]));
            EI_CHECK(b->class_id == (int32_t)e[5]);
        }
        printf("largest difference: %g\n", worst);
        EI_CHECK(worst <= 1e-3);
        free(d.items);
    }
    ei_parser_plugin_destroy(p);
    ei_tensor_destroy(scores);
    ei_tensor_destroy(boxes);
    ei_tensor_destroy(ref);
}

int main(int argc, char ** argv) {
    if (argc == 4 && strcmp(argv[2], "--ulfd") == 0) {
        g_ulfd = argv[1];
        int before = ei_test_failures;
        test_ulfd_vs_numpy(argv[3]);
        printf("%s test_ulfd_vs_numpy\n", ei_test_failures == before ? "ok  " : "FAIL");
        EI_TEST_EXIT();
    }
    if (argc != 5) {
        fprintf(stderr,
                "usage: %s ULFD_PLUGIN BAD_PLUGINS V999_PLUGIN NO_VERSION_PLUGIN\n"
                "       %s ULFD_PLUGIN --ulfd DIR\n",
                argv[0], argv[0]);
        return 2;
    }
    g_ulfd = argv[1], g_bad = argv[2], g_v999 = argv[3], g_nover = argv[4];
    EI_RUN(test_load_errors);
    EI_RUN(test_contract_violations);
    EI_RUN(test_capacity_retry_and_threshold);
    EI_RUN(test_bad_inputs);
    EI_TEST_EXIT();
}
