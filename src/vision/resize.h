/* A streaming 8-bit resizer that reproduces cv2.resize: rows of the resized image are produced one
 * at a time, in increasing order, so pre-processing can normalise each row straight into the
 * network input without materialising a resized (or float) image. */
#ifndef EI_VISION_RESIZE_H
#define EI_VISION_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "edgeinfer/preprocess.h"
#include "edgeinfer/status.h"

typedef struct ei_resizer ei_resizer;

/* src: sw x sh packed pixels of cn (1..4) bytes, rows sstride bytes apart; the resizer reads it
 * (borrowed) until destroyed. The caller owns *out (ei_resizer_destroy). */
ei_status * ei_resizer_create(const uint8_t * src, int32_t sw, int32_t sh, size_t sstride, int cn, int32_t dw,
                              int32_t dh, ei_resize_filter filter, ei_resizer ** out);
/* Row dy (dw*cn bytes) of the resized image; valid until the next call. Rows must be asked for in
 * increasing order (0, 1, 2...; repeats allowed). */
const uint8_t * ei_resizer_row(ei_resizer * r, int32_t dy);
void            ei_resizer_destroy(ei_resizer * r);

#endif
