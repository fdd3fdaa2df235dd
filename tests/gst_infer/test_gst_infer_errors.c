/* edgeinfer's failures: a missing config, a config with a bad value and a missing config-file-path
 * fail READY->PAUSED with an error naming the file / key (no crash, no leak); a config that does not
 * match its model names the mismatch. */
#include "gst_infer_common.h"

/* Builds appsrc ! edgeinfer PROPS ! fakesink, expects PAUSED to fail with an error containing
 * each of want[]. */
static void expect_failure(const char * props, const char * const * want, int n_want) {
    gchar *      desc = g_strdup_printf("appsrc ! edgeinfer %s ! fakesink", props);
    GstElement * p = gst_parse_launch(desc, NULL);
    EI_CHECK(p != NULL);
    if (!p) return;
    EI_CHECK(gst_element_set_state(p, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
    gchar * error = bus_error(p);
    EI_CHECK(error != NULL);
    for (int i = 0; error && i < n_want; i++) {
        EI_CHECK(strstr(error, want[i]) != NULL);
        if (!strstr(error, want[i])) fprintf(stderr, "'%s' does not name '%s'\n", error, want[i]);
    }
    printf("%s -> %s\n", props, error ? error : "(no error)");
    g_free(error);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    g_free(desc);
}

static void test_missing_config(void) {
    const char * want[] = {"/nonexistent/dir/missing.ini"};
    expect_failure("config-file-path=/nonexistent/dir/missing.ini", want, 1);
}

static void test_no_config(void) {
    const char * want[] = {"config-file-path"};
    expect_failure("", want, 1);
}

static void test_bad_value(void) {
    g_mkdir_with_parents(EI_TEST_WORK_DIR, 0755);
    gchar *      path = g_strdup_printf("%s/%d-bad.ini", EI_TEST_WORK_DIR, (int)getpid());
    const char * text = "[property]\nonnx-file=model.onnx\nnetwork-type=0\nbatch-size=many\n";
    EI_CHECK(g_file_set_contents(path, text, -1, NULL));
    gchar *      props = g_strdup_printf("config-file-path=\"%s\"", path);
    const char * want[] = {"bad.ini", "batch-size", "many"};
    expect_failure(props, want, 3);
    remove(path);
    g_free(props);
    g_free(path);
}

/* infer-dims that are not the model's: ei_infer_create refuses, the message says why. */
static void test_model_mismatch(void) {
    gchar * model = g_build_filename(assets_dir(), "models/coco_detection/yolox_nano_416.onnx", NULL);
    if (access(model, R_OK) != 0) {
        printf("skipped: %s is missing\n", model);
        g_free(model);
        return;
    }
    char *  base = localised_config("yolox_nano.ini", NULL);
    gchar * text = NULL;
    g_file_get_contents(base, &text, NULL, NULL);
    gchar ** parts = g_strsplit(text, "infer-dims=3;416;416", 2);
    gchar *  bad = g_strjoinv("infer-dims=3;320;320", parts);
    gchar *  path = g_strdup_printf("%s/%d-mismatch.ini", EI_TEST_WORK_DIR, (int)getpid());
    EI_CHECK(g_file_set_contents(path, bad, -1, NULL));
    gchar *      props = g_strdup_printf("config-file-path=\"%s\"", path);
    const char * want[] = {"mismatch.ini"};
    expect_failure(props, want, 1);
    remove(path);
    remove(base);
    g_free(props);
    g_free(path);
    g_free(bad);
    g_strfreev(parts);
    g_free(text);
    g_free(base);
    g_free(model);
}

int main(int argc, char ** argv) {
    test_setup(&argc, &argv);
    EI_RUN(test_missing_config);
    EI_RUN(test_no_config);
    EI_RUN(test_bad_value);
    EI_RUN(test_model_mismatch);
    gst_deinit();
    EI_TEST_EXIT();
}
