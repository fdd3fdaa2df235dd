/* The growable detection list and the mapping of boxes from network pixels to image pixels. */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "edgeinfer/detect.h"

ei_status * ei_detections_reserve(ei_detections * list, int32_t capacity) {
    if (!list) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_detections_reserve: list is NULL");
    if (capacity < 0)
        return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_detections_reserve: negative capacity %d", capacity);
    if (capacity <= list->capacity) return NULL;
    ei_detection * items = realloc(list->items, (size_t)capacity * sizeof(*items));
    if (!items) return ei_status_oom();
    list->items = items;
    list->capacity = capacity;
    return NULL;
}

ei_status * ei_detections_push(ei_detections * list, const ei_detection * d) {
    if (!list || !d) return ei_errorf(EI_CODE_INVALID_ARGUMENT, "ei_detections_push: list or detection is NULL");
    if (list->count == list->capacity) {
        if (list->capacity > INT32_MAX / 2)
            return ei_errorf(EI_CODE_OUT_OF_MEMORY, "detection list is full (%d boxes)", list->count);
        EI_TRY(ei_detections_reserve(list, list->capacity ? list->capacity * 2 : 64));
    }
    list->items[list->count++] = *d;
    return NULL;
}

void ei_detections_free(ei_detections * list) {
    if (!list) return;
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static float ei_clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

void ei_detections_to_image(const ei_frame_transform * xf, ei_detection * d, int32_t n, int clip) {
    if (!xf || !d) return;
    /* A degenerate transform (scale 0) would divide by zero; leave the boxes as they are. */
    if (!(xf->scale_x > 0.0f) || !(xf->scale_y > 0.0f)) return;
    const float ix = 1.0f / xf->scale_x, iy = 1.0f / xf->scale_y;
    const float w = (float)xf->src_width, h = (float)xf->src_height;
    for (int32_t i = 0; i < n; i++) {
        d[i].x1 = (d[i].x1 - xf->pad_x) * ix;
        d[i].x2 = (d[i].x2 - xf->pad_x) * ix;
        d[i].y1 = (d[i].y1 - xf->pad_y) * iy;
        d[i].y2 = (d[i].y2 - xf->pad_y) * iy;
        if (clip) {
            d[i].x1 = ei_clampf(d[i].x1, 0.0f, w);
            d[i].x2 = ei_clampf(d[i].x2, 0.0f, w);
            d[i].y1 = ei_clampf(d[i].y1, 0.0f, h);
            d[i].y2 = ei_clampf(d[i].y2, 0.0f, h);
        }
    }
}
