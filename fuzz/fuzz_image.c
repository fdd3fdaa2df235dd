/* The image decoders (JPEG via libjpeg-turbo, PNG via libpng) on hostile bytes: every wanted format,
 * full and DCT-scaled, must return an image or a status, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>

#include "edgeinfer/edgeinfer.h"
#include "edgeinfer/image.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    static const ei_pixel_format wants[] = {EI_PIXEL_RGB, EI_PIXEL_BGR, EI_PIXEL_RGBA, EI_PIXEL_GRAY};
    ei_pixel_format              want = wants[size % 4];
    ei_image                     img;
    ei_status *                  st = ei_image_decode(data, size, want, &img);
    if (!st) ei_image_free(&img);
    ei_status_destroy(st);
    st = ei_image_decode_scaled(data, size, EI_PIXEL_BGR, 8, 8, &img);
    if (!st) ei_image_free(&img);
    ei_status_destroy(st);
    return 0;
}
