/* XXH64: the engine file's integrity checksum. SHA-256 would take ~50 ms on a 14 MB engine;
 * XXH64 runs at memory speed, so a load stays in milliseconds and still catches any flipped byte
 * or truncation (it is not a defence against deliberate forgery, nor meant as one). */
#ifndef EI_ENGINE_CHECKSUM_H
#define EI_ENGINE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t ei_xxh64(const void * data, size_t n, uint64_t seed);

#endif
