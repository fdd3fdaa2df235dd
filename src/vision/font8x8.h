/* The built-in 8x8 bitmap font (draw.c's captions). */
#ifndef EI_VISION_FONT8X8_H
#define EI_VISION_FONT8X8_H

#include <stdint.h>

#define EI_FONT8X8_FIRST 0x20 /* ' ' */
#define EI_FONT8X8_LAST  0x7e /* '~' */

/* Printable ASCII, EI_FONT8X8_FIRST..EI_FONT8X8_LAST: 8 rows per glyph, top row first; in each
 * row bit 0 is the leftmost pixel. */
extern const uint8_t ei_font8x8[EI_FONT8X8_LAST - EI_FONT8X8_FIRST + 1][8];

#endif
