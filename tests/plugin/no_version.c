/* A shared library with a parse function but without ei_parser_abi_version(): not a plugin. */
#include "edgeinfer/parser.h"

__attribute__((visibility("default"))) int nov_parse(const ei_parser_input * in, ei_parser_output * out);

int nov_parse(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    out->count = 0;
    return EI_PARSER_OK;
}
