/* ei_draw_detections: class names from an ei_labels. Kept apart from draw_results.c so programs
 * that draw with plain name arrays do not link the label reader. */
#include "core/status.h"
#include "vision/draw_internal.h"

ei_status * ei_draw_detections(ei_image * img, const ei_detection * d, int32_t n, const ei_labels * labels) {
    EI_TRY(ei_draw_check_detections(img, d, n));
    for (int32_t i = 0; i < n; i++)
        ei_draw_detection_one(img, &d[i], labels ? ei_labels_name(labels, d[i].class_id) : NULL);
    return NULL;
}
