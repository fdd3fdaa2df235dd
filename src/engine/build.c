/* ei_engine_build: the ONNX import an engine file captures, with the build options applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edgeinfer/engine.h"
#include "engine/sha256.h"
#include "quant/half.h"
#include "quant/qdq.h"
#include "quant/quantize.h"
#include "runtime/model_internal.h"

static const char * const g_precisions[EI_PRECISION_COUNT] = {"fp32", "bf16", "fp16", "int8"};

const char * ei_precision_name(ei_precision p) { return (unsigned)p < EI_PRECISION_COUNT ? g_precisions[p] : "?"; }

bool ei_precision_parse(const char * name, ei_precision * out) {
    for (int32_t i = 0; name && i < EI_PRECISION_COUNT; i++)
        if (!strcasecmp(name, g_precisions[i])) {
            *out = (ei_precision)i;
            return true;
        }
    return false;
}

ei_engine_build_options ei_engine_build_options_default(void) {
    ei_engine_build_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.precision = EI_PRECISION_FP32;
    o.optimization_level = 2;
    return o;
}

/* True when spec ("a:1x3,b:2") has an item for input name. */
static bool spec_names(const char * spec, const char * name) {
    size_t nl = strlen(name);
    for (const char * p = spec; p && *p;) {
        const char * end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char * colon = NULL;
        for (const char * q = p; q < end; q++)
            if (*q == ':') colon = q;
        if (colon && (size_t)(colon - p) == nl && !strncmp(p, name, nl)) return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* input_shapes plus "name:BxD1xD2..." for every input it does not name. Caller frees. */
static ei_status * batch_spec(const ei_model * m, const char * given, int32_t batch, char ** out) {
    size_t cap = (given ? strlen(given) : 0) + 64, used = 0;
    char * s = malloc(cap);
    if (!s) return ei_status_oom();
    used = (size_t)snprintf(s, cap, "%s", given ? given : "");
    for (int32_t i = 0; i < ei_model_input_count(m); i++) {
        const char *     name = ei_model_input_name(m, i);
        const ei_shape * sh = ei_model_input_shape(m, i);
        if (spec_names(given, name)) continue;
        if (sh->rank == 0) {
            free(s);
            return ei_errorf(EI_CODE_INVALID_ARGUMENT, "--batch: input '%s' is a scalar", name);
        }
        size_t need = used + strlen(name) + 2 + (size_t)sh->rank * 21 + 1;
        if (need > cap) {
            char * p = realloc(s, need * 2);
            if (!p) {
                free(s);
                return ei_status_oom();
            }
            s = p, cap = need * 2;
        }
        used += (size_t)snprintf(s + used, cap - used, "%s%s:%d", used ? "," : "", name, batch);
        for (int32_t d = 1; d < sh->rank; d++)
            used += (size_t)snprintf(s + used, cap - used, "x%lld", (long long)sh->dim[d]);
    }
    *out = s;
    return NULL;
}

/* INT8: the optimised fp32 graph's convolutions to ei.ConvInt8 and MatMuls with constant weights to
 * ei.MatMulInt8; the counts go into the report. */
static ei_status * quantize(ei_model * m, const ei_engine_build_options * opt) {
    ei_quantize_stats qs;
    EI_TRY(ei_quantize_int8(m->g, opt->calib, opt->keep_fp32, &qs));
    size_t       used = strlen(m->optimization_report), cap = sizeof m->optimization_report;
    const char * sep = used ? ", " : "";
    if (qs.convs || qs.matmuls) {
        if (qs.convs) {
            int w = snprintf(m->optimization_report + used, cap - used, "%s%d convolutions in int8 (%d writing int8)",
                             sep, qs.convs, qs.requant_fused);
            if (w > 0) used = used + (size_t)w < cap ? used + (size_t)w : cap - 1;
            sep = ", ";
        }
        if (qs.matmuls)
            snprintf(m->optimization_report + used, cap - used, "%s%d of %d MatMuls in int8", sep, qs.matmuls,
                     qs.matmul_candidates);
    } else {
        snprintf(m->optimization_report + used, cap - used,
                 "%swarning: no convolution in int8 (%d have no calibration entry, %d kept fp32)", sep, qs.no_entry,
                 qs.kept_fp32);
    }
    m->summary.optimization_report = m->optimization_report;
    /* The MAC count and the operator histogram were taken before the rewrite: the MACs stay. */
    return NULL;
}

/* ---- QDQ models (src/quant/qdq.h, docs/precision.md "QDQ models") -------------------------------
 * A model with QuantizeLinear/DequantizeLinear built at the default precision without a table: its
 * own scales become the calibration table and the engine is int8 where this build has the int8
 * rewrite (src/quant/quantize.h); without it, the pairs run as float operators (float semantics,
 * the same results as ONNX Runtime's run of the QDQ model). */
#if __has_include("quant/quantize.h")
#define EI_QDQ_BUILDS_INT8 1
#else
#define EI_QDQ_BUILDS_INT8 0
#endif

/* Replaces *m by the QDQ model's float graph and returns the table (NULL when *m has no Q/DQ
 * nodes or the engine stays in float semantics). The report says which. */
static ei_status * qdq_branch(const char * onnx_path, const ei_model_options * mo, const ei_engine_build_options * opt,
                              ei_model ** m, ei_calib_table ** table) {
    *table = NULL;
    int32_t nodes = ei_qdq_node_count((*m)->g);
    if (opt->precision != EI_PRECISION_FP32 || opt->calib || ei_qdq_activation_count((*m)->g) == 0) return NULL;
    if (!EI_QDQ_BUILDS_INT8) {
        size_t used = strlen((*m)->optimization_report), cap = sizeof(*m)->optimization_report;
        snprintf((*m)->optimization_report + used, cap - used,
                 "%sQDQ model: %d QuantizeLinear/DequantizeLinear nodes run in float (no int8 engines in this build)",
                 used ? ", " : "", nodes);
        (*m)->summary.optimization_report = (*m)->optimization_report;
        return NULL;
    }
    ei_model *   q = NULL;
    ei_qdq_stats qs;
    EI_TRY(ei_qdq_load_model(onnx_path, mo, &q, table, &qs));
    char passes[sizeof q->optimization_report];
    snprintf(passes, sizeof passes, "%s", q->optimization_report);
    snprintf(q->optimization_report, sizeof q->optimization_report,
             "QDQ model: %d tensors quantised by the model's own scales%s%.400s", qs.tensors, passes[0] ? ", " : "",
             passes);
    q->summary.optimization_report = q->optimization_report;
    ei_model_destroy(*m);
    *m = q;
    return NULL;
}
/* ---- end of QDQ models ---- */

ei_status * ei_engine_build(const char * onnx_path, const ei_engine_build_options * opt, ei_model ** out) {
    *out = NULL;
    ei_engine_build_options defaults = ei_engine_build_options_default();
    if (!opt) opt = &defaults;
    if ((unsigned)opt->precision >= EI_PRECISION_COUNT)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "precision %d is not one of fp32, bf16, fp16, int8",
                         (int)opt->precision);
    if (opt->precision == EI_PRECISION_INT8 && !opt->calib)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT,
                         "precision int8 needs a calibration table (activation scales): calibrate with "
                         "--calib-images DIR or pass one with --calib-cache FILE");
    if (opt->batch < 0 || opt->n_threads < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "batch and n_threads must not be negative");
    ei_model_options mo = ei_model_options_default();
    mo.input_shapes = opt->input_shapes;
    mo.optimization_level = opt->optimization_level;
    ei_model * m = NULL;
    EI_TRY(ei_model_load_file(onnx_path, &mo, &m));
    char * spec = NULL;
    if (opt->batch > 0) {
        /* The batch applies to the declared shapes, which only a first import knows. */
        ei_status * st = batch_spec(m, opt->input_shapes, opt->batch, &spec);
        ei_model_destroy(m);
        m = NULL;
        if (st) return st;
        mo.input_shapes = spec;
        st = ei_model_load_file(onnx_path, &mo, &m);
        if (st) {
            free(spec);
            return ei_status_wrapf(st, "with --batch %d", opt->batch);
        }
    }
    if (opt->precision == EI_PRECISION_BF16 || opt->precision == EI_PRECISION_FP16) {
        /* Weights of the heavy operators in half precision (src/quant/half.c). */
        ei_status * st = ei_half_convert(m->g, opt->precision, opt->keep_fp32, !opt->half_fp32_activations, NULL);
        if (st) {
            ei_model_destroy(m);
            free(spec);
            return ei_status_wrapf(st, "--precision %s", ei_precision_name(opt->precision));
        }
    }
    /* QDQ models: the model's own scales (see qdq_branch). */
    ei_calib_table *        qdq_table = NULL;
    ei_engine_build_options qdq_opt;
    ei_status *             qst = qdq_branch(onnx_path, &mo, opt, &m, &qdq_table);
    if (qst) {
        ei_model_destroy(m);
        free(spec);
        return qst;
    }
    if (qdq_table) {
        qdq_opt = *opt;
        qdq_opt.precision = EI_PRECISION_INT8;
        qdq_opt.calib = qdq_table;
        opt = &qdq_opt;
    }
    if (opt->precision == EI_PRECISION_INT8) {
        ei_status * st = quantize(m, opt);
        if (st) {
            ei_calib_table_destroy(qdq_table);
            ei_model_destroy(m);
            free(spec);
            return ei_status_wrapf(st, "int8 rewrite of %s", onnx_path);
        }
    }
    ei_sha256_once(m->file_map, m->file_size, m->build.onnx_sha256);
    m->build.has_onnx_sha256 = true;
    m->build.precision = opt->precision;
    m->build.batch = opt->batch;
    m->build.n_threads = opt->n_threads;
    m->build.optimization_level = opt->optimization_level;
    if (spec)
        m->build.input_shapes = spec;
    else if (opt->input_shapes && opt->input_shapes[0]) {
        m->build.input_shapes = strdup(opt->input_shapes);
        if (!m->build.input_shapes) {
            ei_calib_table_destroy(qdq_table);
            ei_model_destroy(m);
            return ei_status_oom();
        }
    }
    ei_calib_table_destroy(qdq_table);
    *out = m;
    return NULL;
}
