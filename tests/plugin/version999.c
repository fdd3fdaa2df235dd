/* A plugin built for a parser ABI version this edgeinfer does not speak. */
#include "edgeinfer/parser.h"

#define V999_EXPORT __attribute__((visibility("default")))

V999_EXPORT uint32_t ei_parser_abi_version(void);
V999_EXPORT int      v999_parse(const ei_parser_input * in, ei_parser_output * out);

uint32_t ei_parser_abi_version(void) { return 999; }

int v999_parse(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    out->count = 0;
    return EI_PARSER_OK;
}
