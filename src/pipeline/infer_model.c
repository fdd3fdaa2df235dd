/* Which model file an inference config runs, and when its engine is (re)built. nvinfer's rule is
 * kept: model-engine-file is used when it loads, and otherwise built from onnx-file and written
 * there. Unlike nvinfer, an engine built from other ONNX bytes than onnx-file, or for another batch
 * size, is rebuilt (stale engines after retraining are a classic support thread), and every
 * decision is logged with its reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "edgeinfer/engine.h"
#include "engine/sha256.h"
#include "pipeline/infer_internal.h"
#include "runtime/model_internal.h"

void ei_infer_logf(const ei_infer_options * opt, const char * fmt, ...) {
    if (!opt || !opt->log) return;
    char    msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    opt->log(opt->log_user, msg);
}

static ei_status * file_sha256(const char * path, uint8_t sha[32]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ei_errorf(EI_CODE_NOT_FOUND, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return ei_errorf(EI_CODE_IO, "cannot stat '%s': %s", path, strerror(errno));
    }
    void * p = sb.st_size ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (p == MAP_FAILED) return ei_errorf(EI_CODE_IO, "cannot map '%s': %s", path, strerror(errno));
    ei_sha256_once(p, (size_t)sb.st_size, sha);
    if (p) munmap(p, (size_t)sb.st_size);
    return NULL;
}

static int64_t batch_of(const ei_model * m) {
    if (!ei_model_input_count(m) || ei_model_input_shape(m, 0)->rank == 0) return 1;
    return ei_model_input_shape(m, 0)->dim[0];
}

/* Why the engine at path cannot be used for cfg (into why), or "" when it can. *m is the loaded
 * engine when usable, else NULL. */
static void try_engine(const ei_infer_config * cfg, const char * path, ei_model ** m, char * why, size_t n) {
    *m = NULL;
    why[0] = 0;
    if (access(path, F_OK) != 0) {
        snprintf(why, n, "%s does not exist", path);
        return;
    }
    ei_status * st = ei_model_load_engine(path, m);
    if (st) {
        snprintf(why, n, "%s is unusable: %s", path, ei_status_message(st));
        ei_status_destroy(st);
        return;
    }
    /* build.batch 0: built at the batch the model fixes, after the configured one was refused. */
    /* Without onnx-file the engine is all there is: its precision wins. */
    if (cfg->onnx_file && ei_model_engine_precision(*m) != cfg->precision) {
        snprintf(why, n, "%s is a %s engine, the config asks for %s (network-mode)", path,
                 ei_precision_name(ei_model_engine_precision(*m)), ei_precision_name(cfg->precision));
    } else if (batch_of(*m) != cfg->batch_size && (*m)->build.batch != 0) {
        snprintf(why, n, "%s was built for batch %lld, the config asks for batch-size=%d", path,
                 (long long)batch_of(*m), cfg->batch_size);
    } else if (cfg->onnx_file) {
        uint8_t     sha[32];
        ei_status * hs = file_sha256(cfg->onnx_file, sha);
        if (hs) {
            ei_status_destroy(hs); /* no ONNX to compare with: the engine stands */
        } else if (!(*m)->build.has_onnx_sha256 || memcmp((*m)->build.onnx_sha256, sha, 32) != 0) {
            snprintf(why, n, "%s was built from other ONNX bytes than %s (the model changed)", path, cfg->onnx_file);
        }
    }
    if (why[0]) {
        ei_model_destroy(*m);
        *m = NULL;
    }
}

/* True when st says the model fixes its batch dimension, so no other batch can be built. */
static bool fixed_batch_refusal(const ei_status * st) {
    const char * msg = ei_status_message(st);
    return msg && strstr(msg, "dimension 0 is fixed to") && strstr(msg, "by the model");
}

/* Builds (through the cache when cache_dir is set) with eo; when the model fixes its batch and
 * eo asks for another, says so and builds at the model's batch: the caller runs larger batches
 * in chunks (ei_infer_batch_size). */
static ei_status * build_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_engine_build_options * eo,
                               ei_model ** out) {
    for (int32_t attempt = 0;; attempt++) {
        ei_status * st;
        if (opt->cache_dir) {
            ei_engine_cache_info info;
            st = ei_engine_cache_get(opt->cache_dir, cfg->onnx_file, eo, out, &info);
            if (!st && info.built)
                ei_infer_logf(opt, "cache: built %s (%s) in %.0f ms", info.path, info.reason, info.load_ms);
            else if (!st)
                ei_infer_logf(opt, "cache: loaded %s in %.1f ms", info.path, info.load_ms);
        } else {
            st = ei_engine_build(cfg->onnx_file, eo, out);
        }
        if (st && attempt == 0 && eo->batch > 1 && fixed_batch_refusal(st)) {
            ei_infer_logf(opt,
                          "engine: %s fixes its batch size, so batch-size=%d runs as chunks of the model's batch "
                          "(export the model with a dynamic batch dimension to batch inside the network)",
                          cfg->onnx_file, eo->batch);
            ei_status_destroy(st);
            eo->batch = 0;
            continue;
        }
        return ei_status_wrapf(st, "onnx-file %s", cfg->onnx_file);
    }
}

/* network-mode=1: the calibration cache int8-calib-file, checked against onnx-file. */
static ei_status * load_calib(const ei_infer_config * cfg, ei_calib_table ** out) {
    *out = NULL;
    if (cfg->precision != EI_PRECISION_INT8 || !cfg->onnx_file) return NULL;
    if (!cfg->int8_calib_file)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "network-mode=1 (int8) needs int8-calib-file to build an engine");
    EI_TRY(ei_status_wrapf(ei_calib_table_load(cfg->int8_calib_file, out), "int8-calib-file"));
    uint8_t     sha[32];
    ei_status * st = file_sha256(cfg->onnx_file, sha);
    if (!st) st = ei_calib_table_check_model(*out, sha, cfg->int8_calib_file);
    if (st) {
        ei_calib_table_destroy(*out);
        *out = NULL;
    }
    return st;
}

static ei_status * open_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_engine_build_options eo,
                              ei_model ** out);

ei_status * ei_infer_open_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_model ** out) {
    *out = NULL;
    ei_engine_build_options eo = ei_engine_build_options_default();
    eo.batch = cfg->batch_size > 0 ? cfg->batch_size : 1;
    eo.n_threads = opt->n_threads;
    eo.precision = cfg->precision;
    ei_calib_table * calib = NULL;
    EI_TRY(load_calib(cfg, &calib));
    eo.calib = calib;
    ei_status * st = open_model(cfg, opt, eo, out);
    ei_calib_table_destroy(calib);
    return st;
}

static ei_status * open_model(const ei_infer_config * cfg, const ei_infer_options * opt, ei_engine_build_options eo,
                              ei_model ** out) {
    char why[1400] = "";
    if (cfg->model_engine_file) {
        try_engine(cfg, cfg->model_engine_file, out, why, sizeof why);
        if (*out) {
            ei_infer_logf(opt, "engine: loaded %s", cfg->model_engine_file);
            return NULL;
        }
        if (!cfg->onnx_file)
            return ei_errorf(EI_CODE_NOT_FOUND, "model-engine-file: %s, and no onnx-file is given to build it from",
                             why);
        ei_infer_logf(opt, "engine: building from %s because %s", cfg->onnx_file, why);
        ei_infer_options no_cache = *opt;
        no_cache.cache_dir = NULL;
        EI_TRY(build_model(cfg, &no_cache, &eo, out));
        ei_status * st = ei_model_save_engine(*out, cfg->model_engine_file);
        if (st) {
            /* Keep running: the user loses start-up time, not results; say so loudly. */
            ei_infer_logf(opt, "warning: could not write model-engine-file %s (%s); the next start will build again",
                          cfg->model_engine_file, ei_status_message(st));
            ei_status_destroy(st);
        } else {
            ei_infer_logf(opt, "engine: wrote %s", cfg->model_engine_file);
        }
        return NULL;
    }
    if (!cfg->onnx_file)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "the config names no onnx-file or model-engine-file");
    return build_model(cfg, opt, &eo, out);
}
