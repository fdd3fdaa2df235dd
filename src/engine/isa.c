#include "engine/isa.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t detect(void) {
    unsigned a, b, c, d;
    uint64_t isa = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & (1u << 20)) isa |= EI_ISA_SSE42;
    bool     osxsave = c & (1u << 27);
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool     ymm = (xcr0 & 6) == 6, zmm = (xcr0 & 0xe6) == 0xe6, tiles = (xcr0 & 0x60000) == 0x60000;
    if (ymm && (c & (1u << 28))) isa |= EI_ISA_AVX;
    if (ymm && (c & (1u << 12))) isa |= EI_ISA_FMA;
    if (ymm && (c & (1u << 29))) isa |= EI_ISA_F16C;
    if (__get_cpuid_max(0, NULL) < 7) return isa;
    __cpuid_count(7, 0, a, b, c, d);
    if (ymm && (b & (1u << 5))) isa |= EI_ISA_AVX2;
    if (zmm && (b & (1u << 16))) isa |= EI_ISA_AVX512F;
    if (zmm && (b & (1u << 30))) isa |= EI_ISA_AVX512BW;
    if (zmm && (b & (1u << 31))) isa |= EI_ISA_AVX512VL;
    if (zmm && (c & (1u << 11))) isa |= EI_ISA_AVX512_VNNI;
    if (tiles && (d & (1u << 24))) isa |= EI_ISA_AMX_TILE;
    if (tiles && (d & (1u << 22))) isa |= EI_ISA_AMX_BF16;
    if (tiles && (d & (1u << 25))) isa |= EI_ISA_AMX_INT8;
    __cpuid_count(7, 1, a, b, c, d);
    if (zmm && (a & (1u << 5))) isa |= EI_ISA_AVX512_BF16;
    if (ymm && (a & (1u << 4))) isa |= EI_ISA_AVX_VNNI;
    return isa;
}
#else
static uint64_t detect(void) { return 0; }
#endif

/* Not cached: cpuid costs well under a microsecond, and a static would be a data race. */
uint64_t ei_isa_detect(void) { return detect(); }

void ei_isa_format(uint64_t isa, char * out, size_t n) {
    static const char * names[] = {"sse4.2",   "avx",      "avx2",     "fma",         "f16c",
                                   "avx512f",  "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                                   "amx_tile", "amx_bf16", "amx_int8", "avx_vnni"};
    size_t              used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (isa & (1ull << i)) {
            int w = snprintf(out + used, n - used, "%s%s", used ? " " : "", names[i]);
            if (w < 0 || (size_t)w >= n - used) return;
            used += (size_t)w;
        }
    if (isa >> (sizeof names / sizeof names[0]))
        snprintf(out + used, n - used, "%sunknown", used ? " " : "");
    else if (!used)
        snprintf(out, n, "none");
}
