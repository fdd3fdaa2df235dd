/* The engine reader on hostile bytes. The checksum would reject almost every mutation before the
 * parser sees it, so the target repairs it first: what is fuzzed is everything after that check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeinfer/edgeinfer.h"
#include "engine/engine_file.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * b = malloc(size ? size : 1);
    if (!b) return 0;
    if (size) memcpy(b, data, size);
    if (size >= EI_ENGINE_HEADER_SIZE) {
        uint64_t n = size, sum;
        memcpy(b + EI_ENGINE_OFF_FILE_SIZE, &n, 8);
        sum = ei_engine_checksum(b, size);
        memcpy(b + EI_ENGINE_OFF_CHECKSUM, &sum, 8);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_engine.%ld.engine", (long)getpid());
    FILE * f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, size, f);
        fclose(f);
        ei_model * m = NULL;
        ei_status_destroy(ei_model_load_engine(path, &m));
        ei_model_destroy(m);
        unlink(path);
    }
    free(b);
    return 0;
}
