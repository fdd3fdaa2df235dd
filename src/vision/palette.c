/* The PASCAL VOC colour map: the bits of the class id, three at a time, are spread from the most
 * significant bit down over r, g and b (bit 0 -> r, bit 1 -> g, bit 2 -> b). Class 0 is black,
 * 1 (128,0,0), 2 (0,128,0), 15 (192,128,128): the colours VOC's annotation PNGs use. */
#include "edgeinfer/draw.h"

ei_rgb ei_palette_color(int32_t class_id) {
    /* The map has 256 entries; ids beyond wrap, and negative ids (no class) are white. */
    ei_rgb c = {255, 255, 255};
    if (class_id < 0) return c;
    uint32_t id = (uint32_t)class_id & 0xffu;
    c.r = c.g = c.b = 0;
    for (int shift = 7; shift >= 0 && id; shift--, id >>= 3) {
        c.r |= (uint8_t)(((id >> 0) & 1u) << shift);
        c.g |= (uint8_t)(((id >> 1) & 1u) << shift);
        c.b |= (uint8_t)(((id >> 2) & 1u) << shift);
    }
    return c;
}
