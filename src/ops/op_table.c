#include <string.h>

#include "ops/op.h"

static const ei_op_def * const g_ops[EI_OP_COUNT + 1] = {
#define EI_OP(sym, onnx_name) [EI_OP_##sym] = &ei_op_def_##sym,
#include "ops/op_table.def"
#undef EI_OP
    [EI_OP_COUNT] = NULL,
};

static const char * const g_names[EI_OP_COUNT + 1] = {
#define EI_OP(sym, onnx_name) [EI_OP_##sym] = onnx_name,
#include "ops/op_table.def"
#undef EI_OP
    [EI_OP_COUNT] = NULL,
};

const ei_op_def * ei_op_find(const char * domain, const char * op_type) {
    if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0) return NULL;
    for (int i = 0; i < EI_OP_COUNT; i++)
        if (strcmp(g_names[i], op_type) == 0) return g_ops[i];
    return NULL;
}

const ei_op_def * ei_op_get(ei_op_kind kind) { return (unsigned)kind < EI_OP_COUNT ? g_ops[kind] : NULL; }

ei_op_kind ei_op_kind_of(const ei_op_def * def) {
    for (int i = 0; i < EI_OP_COUNT; i++)
        if (g_ops[i] == def) return (ei_op_kind)i;
    return EI_OP_COUNT;
}
