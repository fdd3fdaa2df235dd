/* The inference config parser on hostile bytes: GKeyFile's INI grammar, then every typed value
 * parser and cross-key check. parse touches no file, so nothing here depends on the disk. */
#include <stdint.h>
#include <stdlib.h>

#include "edgeinfer/config.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_infer_config * cfg = NULL;
    ei_status *       st = ei_infer_config_parse((const char *)data, size, "fuzz.ini", &cfg);
    if (!st && !cfg) abort(); /* success must hand back a config */
    if (st && cfg) abort();   /* failure must not */
    ei_status_destroy(st);
    ei_infer_config_destroy(cfg);
    return 0;
}
