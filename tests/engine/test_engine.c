/* usage: engine_test SOURCE_DIR EXPORTED_MODELS_DIR WORK_DIR (EI_ASSETS_DIR: the shared assets) */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ei_test.h"
#include "engine/checksum.h"
#include "engine/engine_file.h"
#include "engine/isa.h"
#include "engine/sha256.h"

static const char * g_src;
static const char * g_exported;
static const char * g_work;
static char         g_assets[1024];

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool exists(const char * p) { return access(p, R_OK) == 0; }

static void test_sha256(void) {
    static const struct {
        const char * in;
        const char * hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t d[32];
    char    hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ei_sha256_once(v[i].in, strlen(v[i].in), d);
        ei_hex(d, 32, hex);
        EI_CHECK(strcmp(hex, v[i].hex) == 0);
    }
    /* One million 'a', fed in uneven pieces to exercise the buffering. */
    ei_sha256 c;
    char      a[997];
    memset(a, 'a', sizeof a);
    ei_sha256_init(&c);
    size_t left = 1000000;
    for (size_t k = 1; left; k = k % 997 + 1) {
        size_t n = k < left ? k : left;
        ei_sha256_update(&c, a, n);
        left -= n;
    }
    ei_sha256_final(&c, d);
    ei_hex(d, 32, hex);
    EI_CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
}

static void test_xxh64(void) {
    EI_CHECK(ei_xxh64("", 0, 0) == 0xEF46DB3751D8E999ull);
    EI_CHECK(ei_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ull);
    const char * s = "Nobody inspects the spammish repetition";
    EI_CHECK(ei_xxh64(s, strlen(s), 0) == 0xFBCEA83C8A378BF1ull);
}

static void test_isa(void) {
    char buf[256];
    ei_isa_format(EI_ISA_AVX2 | EI_ISA_FMA, buf, sizeof buf);
    EI_CHECK(strcmp(buf, "avx2 fma") == 0);
    ei_isa_format(0, buf, sizeof buf);
    EI_CHECK(strcmp(buf, "none") == 0);
    uint64_t isa = ei_isa_detect();
    ei_isa_format(isa, buf, sizeof buf);
    printf("this CPU: %s\n", buf);
#if defined(__x86_64__)
    EI_CHECK(isa & EI_ISA_SSE42);
#endif
}

/* Runs m single-threaded on a deterministic input; outputs appended to outs (caller frees). */
static ei_status * run_model(const ei_model * m, ei_tensor ** outs, int32_t max_outs) {
    ei_session_options so = ei_session_options_default();
    so.n_threads = 1;
    ei_session * s = NULL;
    EI_TRY(ei_session_create(m, &so, &s));
    ei_status * st = NULL;
    for (int32_t i = 0; i < ei_model_input_count(m) && !st; i++) {
        ei_tensor * t = NULL;
        st = ei_tensor_create(ei_model_input_dtype(m, i), ei_model_input_shape(m, i), &t);
        if (st) break;
        if (ei_tensor_dtype(t) == EI_DTYPE_F32) {
            float * p = ei_tensor_data(t);
            for (int64_t k = 0; k < ei_tensor_numel(t); k++) p[k] = (float)((k * 7919) % 1000) / 1000.0f;
        }
        st = ei_session_set_input(s, ei_model_input_name(m, i), t);
        ei_tensor_destroy(t);
    }
    if (!st) st = ei_session_run(s);
    for (int32_t i = 0; !st && i < ei_model_output_count(m) && i < max_outs; i++) {
        const ei_tensor * o = ei_session_output(s, i);
        ei_tensor *       c = NULL;
        st = ei_tensor_create(ei_tensor_dtype(o), ei_tensor_shape(o), &c);
        if (!st) memcpy(ei_tensor_data(c), ei_tensor_data_const(o), ei_tensor_nbytes(o));
        outs[i] = c;
    }
    ei_session_destroy(s);
    return st;
}

/* Build, save, load, run: the engine's outputs must equal the ONNX model's bit for bit. */
static void round_trip(const char * onnx, bool print_load_time) {
    char path[1200];
    snprintf(path, sizeof path, "%s/rt.engine", g_work);
    ei_model *  a = NULL, *b = NULL;
    ei_status * st = ei_engine_build(onnx, NULL, &a);
    if (!st) st = ei_model_save_engine(a, path);
    double t0 = now_ms();
    if (!st) st = ei_model_load_engine(path, &b);
    double load_ms = now_ms() - t0;
    if (st) {
        fprintf(stderr, "%s: %s\n", onnx, ei_status_message(st));
        ei_status_destroy(st);
        EI_CHECK(false);
        ei_model_destroy(a);
        return;
    }
    if (print_load_time) {
        /* The best of a few loads: the first one may include reading the file from disk. */
        for (int r = 0; r < 5; r++) {
            ei_model * c = NULL;
            t0 = now_ms();
            EI_CHECK_OK(ei_model_load_engine(path, &c));
            double ms = now_ms() - t0;
            if (ms < load_ms) load_ms = ms;
            ei_model_destroy(c);
        }
        struct stat sb;
        stat(path, &sb);
        /* Informational only: speed is asserted by benchmarks, never by tests (`edgeinfer bench`
         * prints the load time). */
        printf("  %s: engine %.1f MB, load %.2f ms\n", strrchr(onnx, '/') + 1, sb.st_size / 1e6, load_ms);
    }
    ei_model_summary sa, sb;
    ei_model_get_summary(a, &sa);
    ei_model_get_summary(b, &sb);
    EI_CHECK(sa.node_count == sb.node_count && sa.folded_node_count == sb.folded_node_count);
    EI_CHECK(sa.param_count == sb.param_count && sa.macs == sb.macs);
    EI_CHECK(ei_model_input_count(a) == ei_model_input_count(b));
    ei_tensor *oa[16] = {0}, *ob[16] = {0};
    EI_CHECK_OK(run_model(a, oa, 16));
    EI_CHECK_OK(run_model(b, ob, 16));
    for (int32_t i = 0; i < 16 && i < ei_model_output_count(a); i++) {
        bool same = oa[i] && ob[i] && ei_tensor_nbytes(oa[i]) == ei_tensor_nbytes(ob[i]) &&
                    !memcmp(ei_tensor_data_const(oa[i]), ei_tensor_data_const(ob[i]), ei_tensor_nbytes(oa[i]));
        if (!same) fprintf(stderr, "%s: output %d differs\n", onnx, i);
        EI_CHECK(same);
        ei_tensor_destroy(oa[i]);
        ei_tensor_destroy(ob[i]);
    }
    printf("  %s: round trip ok\n", strrchr(onnx, '/') + 1);
    ei_model_destroy(a);
    ei_model_destroy(b);
}

static void test_round_trip_tiny(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/models/tiny_cnn.onnx", g_src);
    round_trip(p, false);
    snprintf(p, sizeof p, "%s/fuzz/corpus/onnx/conv_relu.onnx", g_src);
    round_trip(p, false);
}

static void test_round_trip_real(void) {
    static const char * assets[] = {
        "models/person_detection/lightweight_person_detector_192.onnx",
        "models/face_detection/ulfd-version-slim-320.onnx",
        "models/coco_detection/yolox_nano_416.onnx",
        "models/segmentation/deeplabv3_mnv2_voc_257.onnx",
    };
    char p[1200];
    int  done = 0;
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", g_assets, assets[i]);
        if (exists(p)) round_trip(p, false), done++;
    }
    snprintf(p, sizeof p, "%s/ssdlite320_mobilenet_v3_large.onnx", g_exported);
    if (!exists(p)) snprintf(p, sizeof p, "%s/../main/build/exported_models/ssdlite320_mobilenet_v3_large.onnx", g_src);
    if (exists(p)) round_trip(p, true), done++;
    if (!done) printf("  (no real models found: skipped)\n");
}

/* The tiny model's engine as bytes, for the damage tests. */
static uint8_t * engine_bytes(size_t * size) {
    char onnx[1200], path[1200];
    snprintf(onnx, sizeof onnx, "%s/models/tiny_cnn.onnx", g_src);
    snprintf(path, sizeof path, "%s/good.engine", g_work);
    ei_model * m = NULL;
    EI_CHECK_OK(ei_engine_build(onnx, NULL, &m));
    EI_CHECK_OK(ei_model_save_engine(m, path));
    ei_model_destroy(m);
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t * b = malloc(*size);
    if (b && fread(b, 1, *size, f) != *size) b[0] = 0;
    fclose(f);
    return b;
}

static ei_status * load_bytes(const uint8_t * b, size_t n, const char * name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.engine", g_work, name);
    FILE * f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    ei_model *  m = NULL;
    ei_status * st = ei_model_load_engine(path, &m);
    ei_model_destroy(m);
    return st;
}

static void test_damaged(void) {
    size_t    n = 0;
    uint8_t * good = engine_bytes(&n);
    if (!good) {
        EI_CHECK(false);
        return;
    }
    uint8_t * b = malloc(n);
    EI_CHECK_OK(load_bytes(good, n, "same"));

    memcpy(b, good, n);
    b[n - 5] ^= 0x40; /* a weight byte */
    EI_CHECK_ERROR(load_bytes(b, n, "corrupt"), EI_CODE_CORRUPT_ENGINE, "checksum mismatch");
    EI_CHECK_ERROR(load_bytes(good, n - 100, "truncated"), EI_CODE_CORRUPT_ENGINE, "truncated engine");
    EI_CHECK_ERROR(load_bytes(good, 40, "truncated_header"), EI_CODE_CORRUPT_ENGINE, "shorter than the");
    memcpy(b, good, n);
    memcpy(b, "ONNXMODL", 8);
    EI_CHECK_ERROR(load_bytes(b, n, "magic"), EI_CODE_CORRUPT_ENGINE, "bad magic");
    memcpy(b, good, n);
    b[EI_ENGINE_OFF_VERSION] = 99;
    EI_CHECK_ERROR(load_bytes(b, n, "version"), EI_CODE_UNSUPPORTED, "engine format version 99");

    /* Require features this CPU lacks, with a valid checksum so only the ISA check can refuse it. */
    uint64_t lacking = (EI_ISA_AVX512F | EI_ISA_AMX_TILE | EI_ISA_AVX512_BF16) & ~ei_isa_detect();
    if (lacking) {
        memcpy(b, good, n);
        memcpy(b + EI_ENGINE_OFF_REQUIRED_ISA, &lacking, 8);
        uint64_t sum = ei_engine_checksum(b, n);
        memcpy(b + EI_ENGINE_OFF_CHECKSUM, &sum, 8);
        EI_CHECK_ERROR(load_bytes(b, n, "isa"), EI_CODE_UNSUPPORTED, "CPU features this CPU lacks");
        ei_status * st = load_bytes(b, n, "isa");
        printf("  wrong ISA: %s\n", ei_status_message(st));
        ei_status_destroy(st);
    }
    /* Every truncation and every single-byte flip (checksum repaired) must give a message, never
     * a crash: the reader checks what it reads even past the checksum. */
    for (size_t cut = 0; cut < n; cut += 97) ei_status_destroy(load_bytes(good, cut, "cut"));
    uint64_t meta_off, meta_size;
    memcpy(&meta_off, good + EI_ENGINE_OFF_META, 8);
    memcpy(&meta_size, good + EI_ENGINE_OFF_META + 8, 8);
    for (size_t k = 0; k < meta_size; k += 3) {
        memcpy(b, good, n);
        b[meta_off + k] ^= 0xA5;
        uint64_t sum = ei_engine_checksum(b, n);
        memcpy(b + EI_ENGINE_OFF_CHECKSUM, &sum, 8);
        ei_status_destroy(load_bytes(b, n, "flip"));
    }
    free(b);
    free(good);
}

static void copy_file(const char * from, const char * to) {
    FILE * a = fopen(from, "rb"), *b = fopen(to, "wb");
    char   buf[65536];
    size_t k;
    while (a && b && (k = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, k, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

static void test_cache(void) {
    char dir[1200], onnx[1200], src[1200];
    snprintf(dir, sizeof dir, "%s/cache", g_work);
    DIR * d = opendir(dir); /* start empty: the work folder outlives runs */
    for (struct dirent * e; d && (e = readdir(d));) {
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.') unlink(p);
    }
    if (d) closedir(d);
    snprintf(onnx, sizeof onnx, "%s/model.onnx", g_work);
    snprintf(src, sizeof src, "%s/models/tiny_cnn.onnx", g_src);
    copy_file(src, onnx);
    ei_engine_cache_info info;
    ei_model *           m = NULL;
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, NULL, &m, &info));
    EI_CHECK(info.built && strstr(info.reason, "no engine"));
    ei_model_destroy(m), m = NULL;
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, NULL, &m, &info));
    EI_CHECK(!info.built);
    ei_model_destroy(m), m = NULL;
    /* Other options: another engine. */
    ei_engine_build_options o = ei_engine_build_options_default();
    o.n_threads = 1;
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, &o, &m, &info));
    EI_CHECK(info.built && ei_model_engine_threads(m) == 1);
    ei_model_destroy(m), m = NULL;
    /* A damaged cached engine is rebuilt, saying why. */
    FILE * f = fopen(info.path, "r+b");
    fseek(f, -3, SEEK_END);
    fputc('X', f);
    fclose(f);
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, &o, &m, &info));
    EI_CHECK(info.built && strstr(info.reason, "checksum mismatch"));
    ei_model_destroy(m), m = NULL;
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, &o, &m, &info));
    EI_CHECK(!info.built);
    ei_model_destroy(m), m = NULL;
    /* Another model at the same path: "model changed". */
    snprintf(src, sizeof src, "%s/fuzz/corpus/onnx/conv_relu.onnx", g_src);
    sleep(0); /* size differs anyway, so the manifest's stat check sees the change */
    copy_file(src, onnx);
    EI_CHECK_OK(ei_engine_cache_get(dir, onnx, NULL, &m, &info));
    EI_CHECK(info.built && strstr(info.reason, "model changed"));
    printf("  cache: %s\n", info.reason);
    ei_model_destroy(m), m = NULL;
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: engine_test SOURCE_DIR EXPORTED_DIR WORK_DIR\n");
        return 2;
    }
    g_src = argv[1], g_exported = argv[2], g_work = argv[3];
    const char * assets = getenv("EI_ASSETS_DIR");
    snprintf(g_assets, sizeof g_assets, "%s", assets ? assets : EI_DEFAULT_ASSETS_DIR);
    mkdir(g_work, 0777);
    EI_RUN(test_sha256);
    EI_RUN(test_xxh64);
    EI_RUN(test_isa);
    EI_RUN(test_round_trip_tiny);
    EI_RUN(test_damaged);
    EI_RUN(test_cache);
    EI_RUN(test_round_trip_real);
    EI_TEST_EXIT();
}
