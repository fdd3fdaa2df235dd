/* CPU instruction-set fingerprint (x86 cpuid + xgetbv): which features an engine needs and which
 * the CPU that built it had. Other architectures report 0 (no x86 features). */
#ifndef EI_ENGINE_ISA_H
#define EI_ENGINE_ISA_H

#include <stddef.h>
#include <stdint.h>

enum {
    EI_ISA_SSE42 = 1u << 0,
    EI_ISA_AVX = 1u << 1,
    EI_ISA_AVX2 = 1u << 2,
    EI_ISA_FMA = 1u << 3,
    EI_ISA_F16C = 1u << 4,
    EI_ISA_AVX512F = 1u << 5,
    EI_ISA_AVX512BW = 1u << 6,
    EI_ISA_AVX512VL = 1u << 7,
    EI_ISA_AVX512_VNNI = 1u << 8,
    EI_ISA_AVX512_BF16 = 1u << 9,
    EI_ISA_AMX_TILE = 1u << 10,
    EI_ISA_AMX_BF16 = 1u << 11,
    EI_ISA_AMX_INT8 = 1u << 12,
    EI_ISA_AVX_VNNI = 1u << 13,
};

/* What kernels compiled into this library require of the CPU: the x86-64 baseline. Faster
 * kernels (sgemm) pick AVX2/FMA at run time, so an engine does not depend on them. */
#define EI_ISA_REQUIRED_BASELINE 0u

/* Features of the running CPU (those the OS also enables, for AVX and AVX-512 state). */
uint64_t ei_isa_detect(void);
/* "avx2 fma" style list of the bits in isa; "none" when empty. */
void ei_isa_format(uint64_t isa, char * out, size_t n);

#endif
