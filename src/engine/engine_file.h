/* Engine file layout shared by the writer, the reader, the cache and the tests
 * (docs/engine-format.md). All integers little-endian. */
#ifndef EI_ENGINE_ENGINE_FILE_H
#define EI_ENGINE_ENGINE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define EI_ENGINE_MAGIC       "EIENGINE"
#define EI_ENGINE_HEADER_SIZE 128
#define EI_ENGINE_ALIGN       64

/* Byte offsets of the header fields. */
enum {
    EI_ENGINE_OFF_MAGIC = 0,         /* 8 bytes "EIENGINE" */
    EI_ENGINE_OFF_VERSION = 8,       /* u32 format version */
    EI_ENGINE_OFF_HEADER_SIZE = 12,  /* u32 */
    EI_ENGINE_OFF_FILE_SIZE = 16,    /* u64 */
    EI_ENGINE_OFF_REQUIRED_ISA = 24, /* u64 EI_ISA_* bits the CPU must have */
    EI_ENGINE_OFF_BUILDER_ISA = 32,  /* u64 EI_ISA_* bits of the CPU that built it */
    EI_ENGINE_OFF_META = 40,         /* u64 offset, u64 size of the metadata (graph) section */
    EI_ENGINE_OFF_DATA = 56,         /* u64 offset, u64 size of the constant data section */
    EI_ENGINE_OFF_CHECKSUM = 72,     /* u64 XXH64 of the file with this field zeroed */
};

/* XXH64 over the whole file with the checksum field taken as zero. */
uint64_t ei_engine_checksum(const uint8_t * file, size_t size);

#endif
