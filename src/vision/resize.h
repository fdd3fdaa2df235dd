/* A streaming 8-bit resizer that reproduces cv2.resize: rows of the resized image are produced one
 * at a time, in increasing order, so pre-processing can normalise each row straight into the
 * network input without materialising a resized (or float) image. */
#ifndef EI_VISION_RESIZE_H
#define EI_VISION_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/preprocess.h"
#include "edgeinfer/status.h"

/* Hot loops written for the auto-vectoriser get an AVX2 clone, picked at load time (gcc ifunc);
 * elsewhere they are plain C. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define EI_VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EI_VEC_CLONES
#endif

typedef struct ei_resizer ei_resizer;

/* src: sw x sh packed pixels of cn (1..4) bytes, rows sstride bytes apart; the resizer reads it
 * (borrowed) until destroyed. The caller owns *out (ei_resizer_destroy). */
ei_status * ei_resizer_create(const uint8_t * src, int32_t sw, int32_t sh, size_t sstride, int cn, int32_t dw,
                              int32_t dh, ei_resize_filter filter, ei_resizer ** out);
/* Row dy (dw*cn bytes) of the resized image; valid until the next call. Rows must be asked for in
 * increasing order (0, 1, 2...; repeats allowed). */
/* Whether rows come from per-pixel taps (bilinear or nearest), as opposed to a copy or area sums. */
int ei_resizer_has_taps(const ei_resizer * r);
/* Fills out with the cn bytes of source pixels (cols[0], sy) ... (cols[ncols-1], sy). */
typedef void (*ei_resizer_source_fn)(void * ctx, int32_t sy, const int32_t * cols, int32_t ncols, uint8_t * out);
/* Source rows come from fn instead of src, and only the columns the taps touch are asked for (for
 * 4:2:0 frames: only those pixels are converted to RGB). Bilinear and nearest only (has_taps);
 * the result is bit-identical to resizing the full image fn describes. */
ei_status * ei_resizer_set_source(ei_resizer * r, ei_resizer_source_fn fn, void * ctx);
/* Asks for planar rows: each row then holds dw bytes of channel 0, then of channel 1, then of 2
 * (same values). Bilinear with 3 channels only (where the horizontal pass vectorises); returns 1
 * when rows are planar, 0 when they stay packed. Call before the first row. */
int ei_resizer_set_planar(ei_resizer * r);
/* A horizontal pass for planar rows, on source columns: for output pixel i < n,
 * D[c n + i] = p(x0[i], sy)[c] * a0 + p(x1[i], sy)[c] * a1 with a0 = pw[i] & 0xffff, a1 = pw[i] >> 16. */
typedef void (*ei_resizer_hpass_fn)(void * ctx, int32_t sy, const int32_t * x0, const int32_t * x1, const int32_t * pw,
                                    int32_t n, int32_t * D);
/* Planar rows (ei_resizer_set_planar) whose horizontal pass is fn, reading the source itself;
 * bilinear with 3 channels only. Returns 1 when installed, 0 when not applicable. */
int             ei_resizer_set_hpass(ei_resizer * r, ei_resizer_hpass_fn fn, void * ctx);
const uint8_t * ei_resizer_row(ei_resizer * r, int32_t dy);
/* Row dy of planar rows (ei_resizer_set_planar returned 1), normalised straight from the vertical
 * pass: d[k][x] = scale[k] * ((float)v - offset[k]) for x < dw, v the byte ei_resizer_row would
 * give for channel map[k] (the same floats, without the byte row). Same order rules as
 * ei_resizer_row. */
void ei_resizer_row_planar_f32(ei_resizer * r, int32_t dy, const int map[3], const float scale[3],
                               const float offset[3], float * const d[3]);
void ei_resizer_destroy(ei_resizer * r);
/* Points a resizer at another image of the same size and channels (a new frame), keeping its
 * tables, row source and planar set-up; rows start again from 0. */
void ei_resizer_rebind(ei_resizer * r, const uint8_t * src, size_t sstride);

/* Whether the hand-written AVX2 paths (resize.c, yuv_taps.c) run: the CPU has AVX2 and the scalar
 * code is not forced. Read when a resizer is set up. */
int ei_resize_avx2(void);
/* Tests only: nonzero runs the scalar code even where AVX2 is there, so both paths are checked on
 * one machine. Process-wide; not for concurrent use. */
void ei_resize_force_scalar(int on);

#endif
