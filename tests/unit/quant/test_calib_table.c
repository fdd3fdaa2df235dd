/* The INT8 calibration table: in memory, its text file round trip, and every refusal. */
#define _GNU_SOURCE
#include <unistd.h>

#include "ei_test.h"

static char g_dir[] = "/tmp/ei_calib_XXXXXX";

static void write_file(const char * path, const char * text) {
    FILE * f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_memory(void) {
    ei_calib_table * t = NULL;
    EI_CHECK_OK(ei_calib_table_create(&t));
    EI_CHECK_OK(ei_calib_table_set(t, "conv1_out", 0.05f, true));
    EI_CHECK_OK(ei_calib_table_set(t, "x y", 0.25f, false));
    EI_CHECK_OK(ei_calib_table_set(t, "conv1_out", 0.5f, false)); /* replaces */
    EI_CHECK(ei_calib_table_count(t) == 2);
    float s = 0;
    bool  u = true;
    EI_CHECK(ei_calib_table_get(t, "conv1_out", &s, &u) && s == 0.5f && !u);
    EI_CHECK(!ei_calib_table_get(t, "missing", &s, &u));
    EI_CHECK(!strcmp(ei_calib_table_name(t, 1), "x y"));
    EI_CHECK(ei_calib_table_name(t, 2) == NULL);
    EI_CHECK_ERROR(ei_calib_table_set(t, "a\tb", 1.0f, false), EI_CODE_INVALID_ARGUMENT, "tab or line break");
    EI_CHECK_ERROR(ei_calib_table_set(t, "z", 0.0f, false), EI_CODE_INVALID_ARGUMENT, "must be finite and > 0");
    EI_CHECK_ERROR(ei_calib_table_set(t, "z", NAN, false), EI_CODE_INVALID_ARGUMENT, "must be finite");
    EI_CHECK_ERROR(ei_calib_table_set(t, "", 1.0f, false), EI_CODE_INVALID_ARGUMENT, "empty tensor name");
    ei_calib_method m;
    EI_CHECK(ei_calib_method_parse("Entropy", &m) && m == EI_CALIB_ENTROPY);
    EI_CHECK(ei_calib_method_parse("minmax", &m) && m == EI_CALIB_MINMAX);
    EI_CHECK(!ei_calib_method_parse("kl", &m));
    ei_calib_table_destroy(t);
}

static void test_round_trip(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/model.calib", g_dir);
    uint8_t sha[32], other[32], got[32];
    for (int i = 0; i < 32; i++) sha[i] = (uint8_t)(i * 7), other[i] = (uint8_t)(i * 7 + 1);
    ei_calib_table * t = NULL;
    EI_CHECK_OK(ei_calib_table_create(&t));
    EI_CHECK_OK(ei_calib_table_set(t, "in put", 1.0f / 127.0f, false));
    EI_CHECK_OK(ei_calib_table_set(t, "relu:0", 0.0123456789f, true));
    EI_CHECK_OK(ei_calib_table_set(t, "#7 ", 2.5f, true)); /* '#' first and a trailing space: not a comment */
    ei_calib_table_set_source(t, sha, EI_CALIB_PERCENTILE, 64);
    EI_CHECK_OK(ei_calib_table_save(t, path));
    ei_calib_table_destroy(t);
    t = NULL;
    EI_CHECK_OK(ei_calib_table_load(path, &t));
    if (!t) return;
    float s;
    bool  u;
    EI_CHECK(ei_calib_table_count(t) == 3);
    EI_CHECK(ei_calib_table_get(t, "relu:0", &s, &u) && s == 0.0123456789f && u);
    EI_CHECK(ei_calib_table_get(t, "#7 ", &s, &u) && s == 2.5f && u);
    EI_CHECK(ei_calib_table_get(t, "in put", &s, &u) && s == 1.0f / 127.0f && !u);
    EI_CHECK(ei_calib_table_method(t) == EI_CALIB_PERCENTILE && ei_calib_table_images(t) == 64);
    EI_CHECK(ei_calib_table_model_sha256(t, got) && !memcmp(got, sha, 32));
    EI_CHECK_OK(ei_calib_table_check_model(t, sha, path));
    EI_CHECK_ERROR(ei_calib_table_check_model(t, other, path), EI_CODE_INVALID_ARGUMENT, "made for another model");
    ei_calib_table_destroy(t);
    /* A hand-written table: no hash, comments, CRLF. */
    write_file(path, "# mine\r\nformat: 1\r\nconv_out\t0.5\tsigned\r\n");
    t = NULL;
    EI_CHECK_OK(ei_calib_table_load(path, &t));
    EI_CHECK(t && ei_calib_table_count(t) == 1 && !ei_calib_table_model_sha256(t, got));
    if (t) EI_CHECK_OK(ei_calib_table_check_model(t, other, path));
    ei_calib_table_destroy(t);
}

static void check_bad(const char * text, const char * substr) {
    char path[256];
    snprintf(path, sizeof path, "%s/bad.calib", g_dir);
    write_file(path, text);
    ei_calib_table * t = NULL;
    EI_CHECK_ERROR(ei_calib_table_load(path, &t), EI_CODE_INVALID_ARGUMENT, substr);
    EI_CHECK(t == NULL);
}

static void test_refusals(void) {
    check_bad("a\t0.5\tsigned\n", "no 'format: 1' line");
    check_bad("format: 1\n", "lists no tensor");
    check_bad("format: 1\na\tzero\tsigned\n", "line 2: tensor 'a': scale 'zero' is not a number");
    check_bad("format: 1\na\t0\tsigned\n", "must be finite and > 0");
    check_bad("format: 1\na\t-1\tsigned\n", "must be finite and > 0");
    check_bad("format: 1\na\t0.5\tboth\n", "must be 'signed' or 'unsigned'");
    check_bad("format: 1\na\t0.5\n", "expected NAME<TAB>SCALE");
    check_bad("format: 1\na\t0.5\tsigned\na\t0.5\tsigned\n", "listed twice");
    check_bad("format: 1\nmodel-sha256: 12\na\t0.5\tsigned\n", "not 64 hex digits");
    check_bad("format: 1\ncolour: red\n", "unknown key 'colour'");
    check_bad("format: 1\nmethod: kl\n", "method 'kl'");
    check_bad("just words\n", "expected 'NAME<TAB>SCALE");
    ei_calib_table * t = NULL;
    EI_CHECK_ERROR(ei_calib_table_load("/nonexistent/x.calib", &t), EI_CODE_NOT_FOUND, "/nonexistent/x.calib");
    char path[256];
    snprintf(path, sizeof path, "%s/future.calib", g_dir);
    write_file(path, "format: 3\n");
    EI_CHECK_ERROR(ei_calib_table_load(path, &t), EI_CODE_UNSUPPORTED, "reads formats 1 and 2");
    ei_calib_table * ok = NULL;
    EI_CHECK_OK(ei_calib_table_create(&ok));
    EI_CHECK_OK(ei_calib_table_set(ok, "a", 1.0f, false));
    EI_CHECK_ERROR(ei_calib_table_save(ok, "/nonexistent/dir/x.calib"), EI_CODE_IO, "/nonexistent/dir/x.calib");
    ei_calib_table_destroy(ok);
}

/* Channel means (bias correction): in memory, cleared by a new scale, format 2 round trip, refusals. */
static void test_means(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/means.calib", g_dir);
    ei_calib_table * t = NULL;
    EI_CHECK_OK(ei_calib_table_create(&t));
    if (!t) return;
    const float m[3] = {0.5f, -1.25f, 1e-7f}, mq[3] = {0.4921875f, -1.0f, 0.0f};
    EI_CHECK_ERROR(ei_calib_table_set_means(t, "a", 3, m, mq), EI_CODE_NOT_FOUND, "no tensor 'a'");
    EI_CHECK_OK(ei_calib_table_set(t, "a", 0.5f, false));
    EI_CHECK_OK(ei_calib_table_set(t, "b", 0.25f, true));
    EI_CHECK(ei_calib_table_means(t, "a", NULL, NULL) == 0);
    const float bad[1] = {NAN};
    EI_CHECK_ERROR(ei_calib_table_set_means(t, "a", 1, bad, mq), EI_CODE_INVALID_ARGUMENT, "not finite");
    EI_CHECK_OK(ei_calib_table_set_means(t, "a", 3, m, mq));
    const float *gm = NULL, *gq = NULL;
    EI_CHECK(ei_calib_table_means(t, "a", &gm, &gq) == 3 && gm && gq && gm[1] == -1.25f && gq[0] == 0.4921875f);
    const float tiny[1] = {1e-40f}, one[1] = {1.0f}; /* a subnormal is stored as 0 (strtof refuses it) */
    EI_CHECK_OK(ei_calib_table_set_means(t, "b", 1, tiny, one));
    EI_CHECK(ei_calib_table_means(t, "b", &gm, &gq) == 1 && gm[0] == 0.0f && gq[0] == 1.0f);
    EI_CHECK_OK(ei_calib_table_set_means(t, "b", 0, NULL, NULL));
    EI_CHECK_OK(ei_calib_table_set(t, "a", 0.5f, false)); /* same scale and sign: means kept */
    EI_CHECK(ei_calib_table_means(t, "a", NULL, NULL) == 3);
    EI_CHECK_OK(ei_calib_table_save(t, path));
    EI_CHECK_OK(ei_calib_table_set(t, "a", 0.75f, false)); /* another scale: the quantised means are stale */
    EI_CHECK(ei_calib_table_means(t, "a", NULL, NULL) == 0);
    ei_calib_table_destroy(t);
    t = NULL;
    EI_CHECK_OK(ei_calib_table_load(path, &t));
    if (t) {
        EI_CHECK(ei_calib_table_means(t, "a", &gm, &gq) == 3);
        EI_CHECK(gm && gq && gm[0] == 0.5f && gm[1] == -1.25f && gm[2] == 1e-7f && gq[1] == -1.0f && gq[2] == 0.0f);
        EI_CHECK(ei_calib_table_means(t, "b", NULL, NULL) == 0);
        EI_CHECK(ei_calib_table_remove(t, "a") && ei_calib_table_means(t, "a", NULL, NULL) == 0);
        ei_calib_table_destroy(t);
    }
    FILE * f = fopen(path, "r");
    char   text[4096] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    EI_CHECK(strstr(text, "format: 2\n") && strstr(text, "a\t0.5\tsigned\tmean:0.5,-1.25,1.00000001e-07\tmean-q:"));
    EI_CHECK(strstr(text, "b\t0.25\tunsigned\n"));
    /* A table without means is still written as format 1 (tested in test_round_trip's file). */
    struct {
        const char * line;
        const char * want;
    } bad_lines[] = {
        {"a\t0.5\tsigned\tmean:1,2\n", "expected 'mean:M0,M1"},
        {"a\t0.5\tsigned\tmean:1,2\tmean-q:1\n", "as many finite numbers"},
        {"a\t0.5\tsigned\tmean:1,x\tmean-q:1,2\n", "as many finite numbers"},
        {"a\t0.5\tsigned\tmeans:1\tmean-q:1\n", "as many finite numbers"},
        {"a\t0.5\tsigned\tmean:1,inf\tmean-q:1,2\n", "as many finite numbers"},
        {"a\t0.5\tsigned\tmean:\tmean-q:\n", "as many finite numbers"},
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "format: 2\n%s", bad_lines[i].line);
        write_file(path, body);
        t = NULL;
        EI_CHECK_ERROR(ei_calib_table_load(path, &t), EI_CODE_INVALID_ARGUMENT, bad_lines[i].want);
        ei_calib_table_destroy(t);
    }
}

int main(void) {
    if (!mkdtemp(g_dir)) return 1;
    EI_RUN(test_memory);
    EI_RUN(test_round_trip);
    EI_RUN(test_refusals);
    EI_RUN(test_means);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    EI_TEST_EXIT();
}
