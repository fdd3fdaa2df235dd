#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ops/op.h"

int32_t ei_ops_count(void) { return EI_OP_COUNT; }

const char * ei_ops_name(int32_t i) {
    const ei_op_def * d = ei_op_get((ei_op_kind)i);
    return d ? d->name : NULL;
}

int ei_cmd_ops(int argc, char ** argv) {
    if (argc > 1 && ei_cli_is_help(argv[1])) {
        printf("usage: edgeinfer ops\n\nLists the ONNX operators (default ai.onnx domain) that edgeinfer runs.\n");
        return EI_EXIT_OK;
    }
    if (argc > 1) return ei_cli_usage_error("ops", "unexpected argument '%s'", argv[1]);
    for (int32_t i = 0; i < ei_ops_count(); i++) printf("%s\n", ei_ops_name(i));
    return EI_EXIT_OK;
}
