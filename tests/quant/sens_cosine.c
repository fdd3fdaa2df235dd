/* Diagnostic for docs/precision.md ("Sensitivity: tensors kept in float"), not a test: calibrates a
 * model (entropy) on CALIB (folder or list) with the sensitivity analysis off and with the given
 * target, builds both INT8 engines, and prints, for each evaluation image, each output's cosine
 * with the fp32 engine (whole tensor, as tests/quant_int8 measures).
 *   sens_cosine MODEL.onnx CONFIG.ini CALIB TARGET|default IMAGE...
 * Environment: EI_SENS_WEIGHTS=0 (activations-only analysis), EI_BIAS_CORRECTION=0 (no channel
 * means), EI_SENS_MAX_FLOAT=N, EI_CALIB_METHOD=entropy|percentile|minmax, EI_CALIB_SAVE=PREFIX
 * (writes PREFIX0.calib without the analysis, PREFIX1.calib with), EI_SENS_CHECK=MIN (the test
 * quant_ssd_cosine: only the calibration with the analysis; exit 1 when an output's cosine with it
 * is not above MIN). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/calib.h"
#include "edgeinfer/config.h"
#include "edgeinfer/engine.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "edgeinfer/session.h"
#include "pipeline/infer_internal.h"

static int fail(ei_status * st) {
    fprintf(stderr, "error: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

static double cosine(const ei_tensor * a, const ei_tensor * b) {
    const float * x = ei_tensor_data_const(a);
    const float * y = ei_tensor_data_const(b);
    double        xy = 0, xx = 0, yy = 0;
    for (int64_t i = 0; i < ei_tensor_numel(a); i++)
        xy += (double)x[i] * y[i], xx += (double)x[i] * x[i], yy += (double)y[i] * y[i];
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : (xx == yy ? 1.0 : 0.0);
}

int main(int argc, char ** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: sens_cosine MODEL.onnx CONFIG.ini CALIB TARGET IMAGE...\n");
        return 2;
    }
    ei_infer_config *       cfg = NULL;
    ei_model *              fp32 = NULL;
    ei_status *             st = ei_infer_config_load(argv[2], &cfg);
    ei_engine_build_options o = ei_engine_build_options_default();
    if (!st) st = ei_engine_build(argv[1], &o, &fp32);
    char ** paths = NULL;
    int32_t n = 0;
    if (!st) st = ei_calib_images_list(argv[3], &paths, &n);
    if (st) return fail(st);
    ei_model *   q[2] = {NULL, NULL};
    const char * check = getenv("EI_SENS_CHECK");
    double       min_cos = check ? atof(check) : 0.0;
    for (int k = check ? 1 : 0; k < 2; k++) {
        ei_calib_options co = ei_calib_options_default();
        if (k && strcmp(argv[4], "default") != 0) co.sens_target_cosine = atof(argv[4]);
        if (!k) co.sens_target_cosine = 0.0;
        const char * e = getenv("EI_SENS_WEIGHTS");
        if (e) co.sens_weights = atoi(e) != 0;
        if ((e = getenv("EI_BIAS_CORRECTION"))) co.bias_correction = atoi(e) != 0;
        if ((e = getenv("EI_SENS_MAX_FLOAT"))) co.sens_max_float = atoi(e);
        if ((e = getenv("EI_CALIB_METHOD")) && !ei_calib_method_parse(e, &co.method)) return 2;
        ei_calib_table * t = NULL;
        ei_calib_report  rep;
        st = ei_calibrate(fp32, cfg, (const char * const *)paths, n, &co, &t, &rep);
        if (st) return fail(st);
        printf("%s: %d tensors; sensitivity %d of %d kept (%.4f -> %.4f) in %.1f s: %s\n",
               k ? "analysis" : "no analysis", rep.tensors, rep.sens_kept, rep.sens_candidates, rep.sens_cosine_all,
               rep.sens_cosine_final, rep.sens_seconds, rep.sens_kept_names);
        if ((e = getenv("EI_CALIB_SAVE"))) {
            char path[1024];
            snprintf(path, sizeof path, "%s%d.calib", e, k);
            if ((st = ei_calib_table_save(t, path))) return fail(st);
        }
        ei_engine_build_options oi = o;
        oi.precision = EI_PRECISION_INT8;
        oi.calib = t;
        st = ei_engine_build(argv[1], &oi, &q[k]);
        ei_calib_table_destroy(t);
        if (st) return fail(st);
    }
    ei_preprocess_spec pre;
    int32_t            batch;
    const char *       in_name;
    if ((st = ei_infer_match_input(cfg, fp32, &pre, &batch, &in_name))) return fail(st);
    ei_session * s[3] = {NULL, NULL, NULL};
    ei_model *   models[3] = {fp32, q[0], q[1]};
    for (int k = 0; k < 3; k++)
        if (models[k] && (st = ei_session_create(models[k], NULL, &s[k]))) return fail(st);
    int         bad = 0;
    ei_tensor * in = NULL;
    if ((st = ei_tensor_create(EI_DTYPE_F32, ei_model_input_shape(fp32, 0), &in))) return fail(st);
    for (int i = 5; i < argc; i++) {
        ei_image img;
        if ((st = ei_image_load(argv[i], EI_PIXEL_RGB, &img))) return fail(st);
        st = ei_preprocess(&pre, &img, ei_tensor_data(in), NULL);
        ei_image_free(&img);
        for (int k = 0; !st && k < 3; k++) {
            if (!s[k]) continue;
            st = ei_session_set_input(s[k], in_name, in);
            if (!st) st = ei_session_run(s[k]);
        }
        if (st) return fail(st);
        for (int32_t out = 0; out < ei_model_output_count(fp32); out++) {
            double with = cosine(ei_session_output(s[0], out), ei_session_output(s[2], out));
            if (s[1])
                printf("%s output %d: cosine without analysis %.4f, with %.4f\n", argv[i], out,
                       cosine(ei_session_output(s[0], out), ei_session_output(s[1], out)), with);
            else
                printf("%s output %d (%s): cosine %.4f%s\n", argv[i], out, ei_model_output_name(fp32, out), with,
                       check && !(with > min_cos) ? " FAIL" : "");
            bad += check && !(with > min_cos);
        }
    }
    for (int k = 0; k < 3; k++) ei_session_destroy(s[k]);
    for (int k = 0; k < 3; k++) ei_model_destroy(models[k]);
    ei_tensor_destroy(in);
    ei_calib_images_free(paths, n);
    ei_infer_config_destroy(cfg);
    return bad ? 1 : 0;
}
