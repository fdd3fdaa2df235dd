/* The engine cache: DIR/<key>.engine, key = hex(SHA-256(ONNX SHA-256, build options, format
 * version, CPU features, and for INT8 the calibration table's content))[:16]. A small manifest per
 * (ONNX path, options), DIR/<key2>.last, holds the ONNX's hash with its size and mtime (so an
 * unchanged file is not re-hashed on every run), the engine it maps to and the table's hash (so a
 * changed model or a new calibration is reported as such and its old engine removed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edgeinfer/engine.h"
#include "engine/isa.h"
#include "engine/sha256.h"
#include "runtime/model_internal.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void options_key(const ei_engine_build_options * o, char * out, size_t n) {
    /* bf16 / fp16 (src/quant/half.h) also depend on keep_fp32 and on whether activations are rounded. */
    bool half = o->precision == EI_PRECISION_BF16 || o->precision == EI_PRECISION_FP16;
    snprintf(out, n, "precision=%d;batch=%d;threads=%d;opt=%d;shapes=%s;keep_fp32=%s;format=%u;isa=%llx%s",
             (int)o->precision, o->batch, o->n_threads, o->optimization_level, o->input_shapes ? o->input_shapes : "",
             (o->precision == EI_PRECISION_INT8 || half) && o->keep_fp32 ? o->keep_fp32 : "", EI_ENGINE_FORMAT_VERSION,
             (unsigned long long)ei_isa_detect(),
             !half                      ? ""
             : o->half_fp32_activations ? ";activations=fp32"
                                        : ";activations=rounded");
}

/* Hex of the first 8 bytes of SHA-256 over the table's entries (name, scale, sign, and the channel
 * means that bias correction uses), "-" when the engine does not use one. */
static void table_key(const ei_engine_build_options * o, char out[17]) {
    if (o->precision != EI_PRECISION_INT8 || !o->calib) {
        snprintf(out, 17, "-");
        return;
    }
    ei_sha256 c;
    uint8_t   d[32];
    ei_sha256_init(&c);
    for (int32_t i = 0; i < ei_calib_table_count(o->calib); i++) {
        const char * name = ei_calib_table_name(o->calib, i);
        float        scale = 0.0f;
        bool         u = false;
        ei_calib_table_get(o->calib, name, &scale, &u);
        uint8_t sign = u;
        ei_sha256_update(&c, name, strlen(name) + 1);
        ei_sha256_update(&c, &scale, sizeof scale);
        ei_sha256_update(&c, &sign, 1);
        const float *mean = NULL, *mean_q = NULL;
        int32_t      ch = ei_calib_table_means(o->calib, name, &mean, &mean_q);
        if (ch > 0) {
            ei_sha256_update(&c, &ch, sizeof ch);
            ei_sha256_update(&c, mean, (size_t)ch * sizeof *mean);
            ei_sha256_update(&c, mean_q, (size_t)ch * sizeof *mean_q);
        }
    }
    ei_sha256_final(&c, d);
    ei_hex(d, 8, out);
}

static ei_status * hash_file(const char * path, size_t size, uint8_t sha[32]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ei_errorf(EI_CODE_IO, "cannot open '%s': %s", path, strerror(errno));
    void * p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (p == MAP_FAILED) return ei_errorf(EI_CODE_IO, "cannot map '%s': %s", path, strerror(errno));
    ei_sha256_once(p, size, sha);
    if (p) munmap(p, size);
    return NULL;
}

typedef struct manifest {
    bool      found;
    char      sha[65];
    long long size, mtime_ns;
    char      engine[64];
    char      table[17]; /* table_key; "-" for none (also in manifests written before INT8) */
} manifest;

static void manifest_read(const char * path, manifest * m) {
    memset(m, 0, sizeof *m);
    FILE * f = fopen(path, "r");
    if (!f) return;
    int got = fscanf(f, "%64s %lld %lld %63s %16s", m->sha, &m->size, &m->mtime_ns, m->engine, m->table);
    m->found = got >= 4;
    if (got < 5) snprintf(m->table, sizeof m->table, "-");
    fclose(f);
}

static void manifest_write(const char * path, const char * sha, long long size, long long mtime_ns, const char * engine,
                           const char * table) {
    char tmp[PATH_MAX + 96];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return;
    FILE * f = fopen(tmp, "w");
    if (!f) return; /* the manifest only saves work; the cache works without it */
    fprintf(f, "%s %lld %lld %s %s\n", sha, size, mtime_ns, engine, table);
    if (fclose(f) != 0 || rename(tmp, path) != 0) unlink(tmp);
}

ei_status * ei_engine_cache_get(const char * cache_dir, const char * onnx_path, const ei_engine_build_options * opt,
                                ei_model ** out, ei_engine_cache_info * info) {
    *out = NULL;
    ei_engine_cache_info scratch;
    if (!info) info = &scratch;
    memset(info, 0, sizeof *info);
    ei_engine_build_options defaults = ei_engine_build_options_default();
    if (!opt) opt = &defaults;
    double t0 = now_ms();
    if (strlen(cache_dir) > 4000) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the cache directory path is too long");
    if (mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
        return ei_errorf(EI_CODE_IO, "cannot create cache directory '%s': %s", cache_dir, strerror(errno));
    struct stat sb;
    if (stat(onnx_path, &sb) != 0)
        return ei_errorf(errno == ENOENT ? EI_CODE_NOT_FOUND : EI_CODE_IO, "cannot open '%s': %s", onnx_path,
                         strerror(errno));
    long long mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000ll + sb.st_mtim.tv_nsec;

    char      okey[1024], real[PATH_MAX], digest_hex[65], mpath[4096], epath[4096], name[32], tkey[17];
    uint8_t   d[32];
    ei_sha256 c;
    options_key(opt, okey, sizeof okey);
    table_key(opt, tkey);
    if (!realpath(onnx_path, real)) snprintf(real, sizeof real, "%s", onnx_path);
    ei_sha256_init(&c);
    ei_sha256_update(&c, real, strlen(real) + 1);
    ei_sha256_update(&c, okey, strlen(okey));
    ei_sha256_final(&c, d);
    ei_hex(d, 8, name);
    if (snprintf(mpath, sizeof mpath, "%s/%s.last", cache_dir, name) >= (int)sizeof mpath)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the cache directory path is too long");

    manifest man;
    manifest_read(mpath, &man);
    uint8_t onnx_sha[32];
    if (man.found && man.size == (long long)sb.st_size && man.mtime_ns == mtime_ns && strlen(man.sha) == 64) {
        for (int i = 0; i < 32; i++) {
            unsigned v = 0;
            sscanf(man.sha + 2 * i, "%2x", &v);
            onnx_sha[i] = (uint8_t)v;
        }
    } else {
        EI_TRY(hash_file(onnx_path, (size_t)sb.st_size, onnx_sha));
    }
    ei_hex(onnx_sha, 32, digest_hex);

    ei_sha256_init(&c);
    ei_sha256_update(&c, onnx_sha, 32);
    ei_sha256_update(&c, okey, strlen(okey));
    ei_sha256_update(&c, tkey, strlen(tkey));
    ei_sha256_final(&c, d);
    ei_hex(d, 8, name);
    if (snprintf(epath, sizeof epath, "%s/%s.engine", cache_dir, name) >= (int)sizeof epath)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the cache directory path is too long");
    memcpy(info->path, epath, strlen(epath) + 1);
    char ename[48];
    snprintf(ename, sizeof ename, "%s.engine", name);

    if (access(epath, F_OK) == 0) {
        ei_status * st = ei_model_load_engine(epath, out);
        if (!st && memcmp((*out)->build.onnx_sha256, onnx_sha, 32) != 0) {
            ei_model_destroy(*out);
            *out = NULL;
            st = ei_errorf(EI_CODE_CORRUPT_ENGINE, "it was built from other ONNX bytes");
        }
        if (!st) {
            info->load_ms = now_ms() - t0;
            if (!man.found || strcmp(man.sha, digest_hex) || man.mtime_ns != mtime_ns || strcmp(man.table, tkey) ||
                strcmp(man.engine, ename))
                manifest_write(mpath, digest_hex, (long long)sb.st_size, mtime_ns, ename, tkey);
            return NULL;
        }
        snprintf(info->reason, sizeof info->reason, "the cached engine is unusable: %s", ei_status_message(st));
        ei_status_destroy(st);
    } else if (man.found && strcmp(man.sha, digest_hex) != 0) {
        snprintf(info->reason, sizeof info->reason,
                 "model changed: its SHA-256 is %.16s..., the cached engine's %.16s...", digest_hex, man.sha);
        if (strcmp(man.engine, ename) != 0 && strchr(man.engine, '/') == NULL) {
            char old[4200];
            if (snprintf(old, sizeof old, "%s/%s", cache_dir, man.engine) < (int)sizeof old) unlink(old);
        }
    } else if (man.found && strcmp(man.table, tkey) != 0) {
        snprintf(info->reason, sizeof info->reason, "calibration table changed: its hash is %s, the cached engine's %s",
                 tkey, man.table);
        if (strcmp(man.engine, ename) != 0 && strchr(man.engine, '/') == NULL) {
            char old[4200];
            if (snprintf(old, sizeof old, "%s/%s", cache_dir, man.engine) < (int)sizeof old) unlink(old);
        }
    } else {
        snprintf(info->reason, sizeof info->reason, "no engine for this model and options");
    }
    info->built = true;
    ei_model *  m = NULL;
    ei_status * st = ei_engine_build(onnx_path, opt, &m);
    if (!st) st = ei_model_save_engine(m, epath);
    if (st) {
        ei_model_destroy(m);
        return st;
    }
    manifest_write(mpath, digest_hex, (long long)sb.st_size, mtime_ns, ename, tkey);
    info->load_ms = now_ms() - t0;
    *out = m;
    return NULL;
}
