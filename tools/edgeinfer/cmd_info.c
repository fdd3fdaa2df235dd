#include <stdio.h>
#include <string.h>

#include "cli.h"

static void help(void) {
    printf("usage: edgeinfer info MODEL.onnx|MODEL.engine [--input-shape NAME:DIMS[,NAME:DIMS...]] [-O0]\n\n"
           "Reads the model, infers every shape and folds constant sub-graphs, then prints its inputs,\n"
           "outputs, opsets, operator histogram, parameter count and multiply-accumulates per inference.\n\n"
           "  --input-shape NAME:DIMS  fix symbolic input dimensions, e.g. images:1x3x416x416\n"
           "                           (symbolic dimensions left unfixed are taken as 1)\n"
           "  -O0, --no-optimize       describe the graph as imported, without the optimisation passes\n");
}

static void print_si(double v, const char * unit) {
    const char * p = "";
    if (v >= 1e9)
        v /= 1e9, p = "G";
    else if (v >= 1e6)
        v /= 1e6, p = "M";
    else if (v >= 1e3)
        v /= 1e3, p = "k";
    printf("%.3g %s%s", v, p, unit);
}

int ei_cmd_info(int argc, char ** argv) {
    const char *     path = NULL;
    ei_model_options opt = ei_model_options_default();
    for (int i = 1; i < argc; i++) {
        if (ei_cli_is_help(argv[i])) {
            help();
            return EI_EXIT_OK;
        } else if (strcmp(argv[i], "--input-shape") == 0) {
            if (++i >= argc) return ei_cli_usage_error("info", "--input-shape needs a value");
            opt.input_shapes = argv[i];
        } else if (strcmp(argv[i], "-O0") == 0 || strcmp(argv[i], "--no-optimize") == 0) {
            opt.optimization_level = 0;
        } else if (argv[i][0] == '-') {
            return ei_cli_usage_error("info", "unknown option '%s'", argv[i]);
        } else if (path) {
            return ei_cli_usage_error("info", "only one model can be described at a time");
        } else {
            path = argv[i];
        }
    }
    if (!path) return ei_cli_usage_error("info", "missing MODEL.onnx");
    ei_model * m = NULL;
    bool       engine = ei_file_is_engine(path);
    if (engine && opt.input_shapes)
        return ei_cli_usage_error("info",
                                  "an engine's shapes are fixed when it is built; --input-shape does not apply");
    ei_status * st = engine ? ei_model_load_engine(path, &m) : ei_model_load_file(path, &opt, &m);
    if (st) return ei_cli_fail(st);
    ei_model_summary s;
    ei_model_get_summary(m, &s);
    char buf[160];
    printf("model:     %s%s\n", path, engine ? " (engine)" : "");
    printf("ir:        %lld   producer: %s %s\n", (long long)s.ir_version,
           s.producer_name[0] ? s.producer_name : "(none)", s.producer_version);
    printf("opsets:   ");
    for (int32_t i = 0; i < s.opset_count; i++)
        printf(" %s %lld", s.opset_domain[i][0] ? s.opset_domain[i] : "ai.onnx", (long long)s.opset_version[i]);
    printf("\ninputs:\n");
    for (int32_t i = 0; i < ei_model_input_count(m); i++)
        printf("  %-24s %-8s %s\n", ei_model_input_name(m, i), ei_dtype_name(ei_model_input_dtype(m, i)),
               ei_shape_format(ei_model_input_shape(m, i), buf, sizeof buf));
    printf("outputs:\n");
    for (int32_t i = 0; i < ei_model_output_count(m); i++)
        printf("  %-24s %-8s %s\n", ei_model_output_name(m, i), ei_dtype_name(ei_model_output_dtype(m, i)),
               ei_shape_format(ei_model_output_shape(m, i), buf, sizeof buf));
    if (engine) printf("precision: %s\n", ei_precision_name(ei_model_engine_precision(m)));
    printf("nodes:     %d (%d computed at load time)\n", s.node_count, s.folded_node_count);
    if (s.nodes_after_optimization != s.nodes_before_optimization ||
        (s.optimization_report && s.optimization_report[0]))
        printf("optimised: %d -> %d nodes (%s)\n", s.nodes_before_optimization, s.nodes_after_optimization,
               s.optimization_report);
    else
        printf("optimised: %d nodes, nothing to rewrite%s\n", s.nodes_after_optimization,
               opt.optimization_level ? "" : " (-O0)");
    printf("params:    %lld (", (long long)s.param_count);
    print_si((double)s.param_count, "");
    printf(")\nMACs:      ");
    print_si((double)s.macs, "");
    printf(" per inference\noperators:\n");
    for (int32_t i = 0; i < ei_model_op_type_count(m); i++)
        printf("  %-24s %d\n", ei_model_op_type_name(m, i), ei_model_op_type_nodes(m, i));
    ei_model_destroy(m);
    return EI_EXIT_OK;
}
