#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char * name;
    int (*fn)(int argc, char ** argv);
    const char * summary;
} command;

static const command g_commands[] = {
    {"info", ei_cmd_info, "describe a model: inputs, outputs, opsets, operators, parameters, MACs"},
    {"run", ei_cmd_run, "run a model on tensors from .npy or .pb files and write its outputs"},
    {"build", ei_cmd_build, "build an engine file: the model imported once, loaded in milliseconds"},
    {"ops", ei_cmd_ops, "list the supported ONNX operators"},
    {"detect", ei_cmd_detect, "find objects in images with a detector config; annotated images and COCO JSON"},
    {"segment", ei_cmd_segment, "label every pixel of images with a segmentation config; overlays and counts"},
    {"eval", ei_cmd_eval, "measure accuracy: COCO mAP (as pycocotools) or mIoU, per precision, with latency"},
    {"bench", ei_cmd_bench, "measure load time, latency percentiles, throughput and GFLOP/s of a model"},
};

static void usage(FILE * f) {
    fprintf(f, "edgeinfer %s: run ONNX detection and segmentation networks fast, on CPUs.\n\n", EI_VERSION_STRING);
    fprintf(f, "usage: edgeinfer COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        fprintf(f, "  %-6s %s\n", g_commands[i].name, g_commands[i].summary);
    fprintf(f, "\n`edgeinfer COMMAND --help` describes one command. `edgeinfer --version` prints the version.\n");
}

int ei_cli_fail(ei_status * st) {
    int code;
    switch (ei_status_code(st)) {
    case EI_CODE_OK: return EI_EXIT_OK;
    case EI_CODE_INVALID_ARGUMENT:
    case EI_CODE_INVALID_MODEL:
    case EI_CODE_CORRUPT_ENGINE: code = EI_EXIT_INVALID; break;
    case EI_CODE_UNSUPPORTED: code = EI_EXIT_UNSUPPORTED; break;
    case EI_CODE_NOT_FOUND:
    case EI_CODE_IO: code = EI_EXIT_IO; break;
    default: code = EI_EXIT_INTERNAL; break;
    }
    fprintf(stderr, "error: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return code;
}

int ei_cli_usage_error(const char * cmd, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `edgeinfer %s --help`)\n", cmd);
    va_end(ap);
    return EI_EXIT_USAGE;
}

bool ei_cli_is_help(const char * arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

int main(int argc, char ** argv) {
    ei_cli_apply_omp_policy(argv);
    if (argc < 2) {
        usage(stderr);
        return EI_EXIT_USAGE;
    }
    if (ei_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        if (argc > 2)
            for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
                if (strcmp(argv[2], g_commands[i].name) == 0) {
                    char * help_argv[] = {argv[2], (char *)"--help", NULL};
                    return g_commands[i].fn(2, help_argv);
                }
        usage(stdout);
        return EI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("edgeinfer %s\n", EI_VERSION_STRING);
        ei_cli_print_omp_policy(stdout);
        return EI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        if (strcmp(argv[1], g_commands[i].name) == 0) return g_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EI_EXIT_USAGE;
}
