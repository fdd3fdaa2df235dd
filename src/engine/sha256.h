/* SHA-256 (FIPS 180-4): identifies the ONNX bytes an engine was built from and names cache entries. */
#ifndef EI_ENGINE_SHA256_H
#define EI_ENGINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct ei_sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t  buf[64];
    size_t   used; /* bytes waiting in buf */
} ei_sha256;

void ei_sha256_init(ei_sha256 * c);
void ei_sha256_update(ei_sha256 * c, const void * data, size_t n);
void ei_sha256_final(ei_sha256 * c, uint8_t digest[32]);
/* One-shot convenience. */
void ei_sha256_once(const void * data, size_t n, uint8_t digest[32]);
/* Lower-case hex of the first n_bytes of digest into out (2 * n_bytes + 1 chars). */
void ei_hex(const uint8_t * digest, size_t n_bytes, char * out);

#endif
