/* Label files and config.json id2label (and through them the JSON reader) on hostile bytes. */
#include <stdint.h>
#include <string.h>

#include "edgeinfer/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ei_labels * l = NULL;
    ei_status * st = ei_labels_parse((const char *)data, size, "fuzz", &l);
    if (!st) {
        /* Every name must be readable and NUL-terminated. */
        volatile size_t total = 0;
        for (int32_t i = 0; i < ei_labels_count(l); i++) total += strlen(ei_labels_name(l, i));
        (void)total;
    }
    ei_status_destroy(st);
    ei_labels_destroy(l);
    return 0;
}
