/* Label files and Hugging Face id2label: formats, trimming, and each error's message. */
#define _POSIX_C_SOURCE 200809L

#include "edgeinfer/labels.h"
#include "ei_test.h"
#include "vision/json.h"

static ei_labels * parse(const char * text) {
    ei_labels * l = NULL;
    EI_CHECK_OK(ei_labels_parse(text, strlen(text), "t.txt", &l));
    return l;
}

#define CHECK_PARSE_ERROR(text, substr)                                                                                \
    do {                                                                                                               \
        ei_labels * l_ = NULL;                                                                                         \
        EI_CHECK_ERROR(ei_labels_parse(text, sizeof(text) - 1, "t.txt", &l_), EI_CODE_INVALID_ARGUMENT, substr);       \
        EI_CHECK(l_ == NULL);                                                                                          \
    } while (0)

static void test_lines(void) {
    ei_labels * l = parse("background\r\nperson \t\nbicycle\n\n");
    EI_CHECK(ei_labels_count(l) == 3);
    EI_CHECK(strcmp(ei_labels_name(l, 0), "background") == 0);
    EI_CHECK(strcmp(ei_labels_name(l, 1), "person") == 0);
    EI_CHECK(strcmp(ei_labels_name(l, 2), "bicycle") == 0);
    EI_CHECK(ei_labels_name(l, 3) == NULL && ei_labels_name(l, -1) == NULL && ei_labels_name(NULL, 0) == NULL);
    EI_CHECK(ei_labels_count(NULL) == 0);
    ei_labels_destroy(l);
    l = parse("potted plant\nno final newline");
    EI_CHECK(ei_labels_count(l) == 2 && strcmp(ei_labels_name(l, 0), "potted plant") == 0);
    EI_CHECK(strcmp(ei_labels_name(l, 1), "no final newline") == 0);
    ei_labels_destroy(l);
    l = parse("\xEF\xBB\xBF"
              "caf\xC3\xA9\n"); /* a byte order mark is skipped; UTF-8 names are kept */
    EI_CHECK(ei_labels_count(l) == 1 && strcmp(ei_labels_name(l, 0), "caf\xC3\xA9") == 0);
    ei_labels_destroy(l);
    l = parse("a;b"); /* one line with ';' is DeepStream's classifier format */
    EI_CHECK(ei_labels_count(l) == 2 && strcmp(ei_labels_name(l, 1), "b") == 0);
    ei_labels_destroy(l);
    l = parse("Black;Blue;Brown;\n"); /* a trailing ';' adds no class */
    EI_CHECK(ei_labels_count(l) == 3 && strcmp(ei_labels_name(l, 2), "Brown") == 0);
    ei_labels_destroy(l);
    l = parse("a;b\nc\n"); /* several lines: ';' is part of a name */
    EI_CHECK(ei_labels_count(l) == 2 && strcmp(ei_labels_name(l, 0), "a;b") == 0);
    ei_labels_destroy(l);
    ei_labels_destroy(NULL);
}

static void test_text_errors(void) {
    CHECK_PARSE_ERROR("", "t.txt: empty label file (no class names)");
    CHECK_PARSE_ERROR("\n \r\n\n", "t.txt: empty label file (no class names)");
    CHECK_PARSE_ERROR("a\n\nb\n", "t.txt: line 2 is empty (every class needs a name)");
    CHECK_PARSE_ERROR("a\nb\n  \nc", "t.txt: line 3 is empty");
    CHECK_PARSE_ERROR("a;;b", "t.txt: field 2 of the ';'-separated list is empty");
    CHECK_PARSE_ERROR("ok\nbad \xFF byte\n", "t.txt: line 2: invalid UTF-8 (byte 0xFF at offset 7)");
    CHECK_PARSE_ERROR("ok\n\xC0\xAF\n", "t.txt: line 2: invalid UTF-8 (byte 0xC0"); /* overlong '/' */
    CHECK_PARSE_ERROR("\xED\xA0\x80\n", "t.txt: line 1: invalid UTF-8");            /* a surrogate */
    CHECK_PARSE_ERROR("trunc\xE2\x82", "t.txt: line 1: invalid UTF-8");
    CHECK_PARSE_ERROR("a\nb\0c\n", "t.txt: line 2: NUL byte in a label file");
}

static void test_id2label(void) {
    const char * cfg =
        "{\n  \"architectures\": [\"DetrForObjectDetection\"],\n  \"id2label\": {\n"
        "    \"1\": \"person\", \"0\": \"N/A\", \"2\": \"caf\\u00e9 \\ud83d\\ude00\\n\"\n  },\n"
        "  \"label2id\": {\"N/A\": 0}, \"num_queries\": 100, \"dropout\": 0.1, \"x\": [true, false, null,"
        " -1.5e-3, {\"nested\": [[]]}]\n}\n";
    ei_labels * l = parse(cfg);
    EI_CHECK(ei_labels_count(l) == 3);
    EI_CHECK(strcmp(ei_labels_name(l, 0), "N/A") == 0);
    EI_CHECK(strcmp(ei_labels_name(l, 1), "person") == 0);
    EI_CHECK(strcmp(ei_labels_name(l, 2), "caf\xC3\xA9 \xF0\x9F\x98\x80\n") == 0);
    ei_labels_destroy(l);
}

static void test_id2label_errors(void) {
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": \"a\", \"2\": \"c\"}}",
                      "t.txt: line 1: \"id2label\" has 2 entries but an id 2: ids must be 0..1 without gaps");
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": \"a\", \"0\": \"b\"}}", "t.txt: line 1: \"id2label\" id 0 appears twice");
    CHECK_PARSE_ERROR("{\"id2label\": {\"00\": \"a\"}}", "\"id2label\" key \"00\" is not a class id");
    CHECK_PARSE_ERROR("{\"id2label\": {\"-1\": \"a\"}}", "\"id2label\" key \"-1\" is not a class id");
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": 5}}", "\"id2label\" entry \"0\" is a number, not a string");
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": \"\"}}", "\"id2label\" entry \"0\" is an empty name");
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": \"a\\u0000b\"}}", "\"id2label\" entry \"0\" is a name with a NUL");
    CHECK_PARSE_ERROR("{\"id2label\": {}}", "t.txt: \"id2label\" is empty (no class names)");
    CHECK_PARSE_ERROR("{\"id2label\": []}", "t.txt: line 1: \"id2label\" is a array, not an object");
    CHECK_PARSE_ERROR("{\"labels\": {}}", "t.txt: no \"id2label\" key");
    CHECK_PARSE_ERROR("{\"id2label\": {\"0\": \"a\"}", "t.txt: line 1, column 24: unterminated object");
    CHECK_PARSE_ERROR("{\n\"id2label\":\n {\"0\" \"a\"}}", "t.txt: line 3, column 7: expected ':' after an object key");
    CHECK_PARSE_ERROR("{\"a\": \"\\x\"}", "line 1, column 8: invalid escape in a string");
    CHECK_PARSE_ERROR("{\"a\": \"\\ud83d\"}", "high surrogate not followed by a low surrogate");
    CHECK_PARSE_ERROR("{\"a\": \"\\ude00\"}", "unpaired low surrogate");
    CHECK_PARSE_ERROR("{\"a\": \"\\u12g4\"}", "\\u must be followed by 4 hex digits");
    CHECK_PARSE_ERROR("{\"a\": \"\xFF\"}", "invalid UTF-8 in a string");
    CHECK_PARSE_ERROR("{\"a\": \"x\ty\"}", "control character in a string");
    CHECK_PARSE_ERROR("{\"a\": 01}", "expected ',' or '}' in an object");
    CHECK_PARSE_ERROR("{\"a\": 1.}", "invalid number (digits must follow '.')");
    CHECK_PARSE_ERROR("{\"a\": 1e}", "invalid number (bad exponent)");
    CHECK_PARSE_ERROR("{\"a\": tru}", "unexpected character (expected a value)");
    CHECK_PARSE_ERROR("{\"a\": 1} x", "unexpected data after the JSON value");
    CHECK_PARSE_ERROR("{\"a\": [1,]}", "unexpected character (expected a value)");
    CHECK_PARSE_ERROR("{\"a\": \"open", "unterminated string");
}

static void test_json_limits(void) {
    /* 64 levels parse, 65 do not; the reader must not recurse without bound on hostile input. */
    char deep[300];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    ei_json * v = NULL;
    EI_CHECK_ERROR(ei_json_parse(deep, 130, "deep.json", &v), EI_CODE_INVALID_ARGUMENT,
                   "deep.json: line 1, column 65: nesting deeper than 64 levels");
    EI_CHECK_OK(ei_json_parse(deep + 1, 128, "deep.json", &v));
    EI_CHECK(v && v->type == EI_JSON_TYPE_ARRAY && v->n_children == 1);
    ei_json_destroy(v);
    v = NULL;
    char * big = malloc(100000);
    memset(big, '[', 100000);
    EI_CHECK_ERROR(ei_json_parse(big, 100000, "big.json", &v), EI_CODE_INVALID_ARGUMENT, "nesting deeper");
    free(big);
    EI_CHECK_OK(ei_json_parse(" {\"k\": -0.5e+2, \"s\": \"\\\"\\/\\b\\f\\r\\t\"} ", 37, "j", &v));
    const ei_json * k = ei_json_object_get(v, "k");
    EI_CHECK(k && k->type == EI_JSON_TYPE_NUMBER && k->number == -50.0);
    const ei_json * s = ei_json_object_get(v, "s");
    EI_CHECK(s && strcmp(s->str, "\"/\b\f\r\t") == 0);
    EI_CHECK(ei_json_object_get(v, "missing") == NULL);
    ei_json_destroy(v);
}

static void test_load_file(void) {
    ei_labels * l = NULL;
    EI_CHECK_ERROR(ei_labels_load("/nonexistent/labels.txt", &l), EI_CODE_NOT_FOUND,
                   "cannot open label file /nonexistent/labels.txt: No such file or directory");
    char path[] = "/tmp/ei_test_labels_XXXXXX";
    int  fd = mkstemp(path);
    EI_CHECK(fd >= 0);
    if (fd < 0) return;
    FILE * f = fdopen(fd, "wb");
    fputs("cat\n\ndog\n", f);
    fclose(f);
    char expected[128];
    snprintf(expected, sizeof expected, "%s: line 2 is empty", path);
    EI_CHECK_ERROR(ei_labels_load(path, &l), EI_CODE_INVALID_ARGUMENT, expected);
    f = fopen(path, "wb");
    fputs("{\"id2label\": {\"0\": \"cat\", \"1\": \"dog\"}}", f);
    fclose(f);
    EI_CHECK_OK(ei_labels_load(path, &l));
    EI_CHECK(ei_labels_count(l) == 2 && strcmp(ei_labels_name(l, 1), "dog") == 0);
    ei_labels_destroy(l);
    remove(path);
}

int main(void) {
    EI_RUN(test_lines);
    EI_RUN(test_text_errors);
    EI_RUN(test_id2label);
    EI_RUN(test_id2label_errors);
    EI_RUN(test_json_limits);
    EI_RUN(test_load_file);
    EI_TEST_EXIT();
}
