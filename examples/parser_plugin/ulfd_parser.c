/* An example edgeinfer parser plugin: decodes the Ultra-Light-Fast face detector's built-in
 * decoding outputs (version-RFB-320 / slim-320 / RFB-640) into face boxes.
 *
 *   scores  [1, N, 2]  softmaxed; column 1 is P(face)
 *   boxes   [1, N, 4]  corner form (x1, y1, x2, y2), fractions of the network input, not clipped
 *
 * Boxes are reported in network-input pixels, unclipped, with class id 1 ("face"; 0 is the
 * background), keeping those whose score reaches class 1's pre-cluster threshold. NMS is left to the
 * host. Layers are found by name ("scores", "boxes") or else by their last dimension (2, 4).
 *
 * Config:  custom-lib-path=/path/to/libei_parser_ulfd.so
 *          parse-bbox-func-name=ei_parse_ulfd
 *          num-detected-classes=2 */
#include <stdio.h>
#include <string.h>

#include "edgeinfer/parser.h"

#if defined(__GNUC__)
#define ULFD_EXPORT __attribute__((visibility("default")))
#else
#define ULFD_EXPORT
#endif

ULFD_EXPORT uint32_t ei_parser_abi_version(void);
ULFD_EXPORT int      ei_parse_ulfd(const ei_parser_input * in, ei_parser_output * out);

uint32_t ei_parser_abi_version(void) { return EI_PARSER_ABI_VERSION; }

static const ei_parser_layer * find_layer(const ei_parser_input * in, const char * name, int64_t last_dim) {
    for (int32_t i = 0; i < in->n_layers; i++)
        if (in->layers[i].name && strcmp(in->layers[i].name, name) == 0) return &in->layers[i];
    for (int32_t i = 0; i < in->n_layers; i++)
        if (in->layers[i].rank == 3 && in->layers[i].dims[2] == last_dim) return &in->layers[i];
    return NULL;
}

int ei_parse_ulfd(const ei_parser_input * in, ei_parser_output * out) {
    const ei_parser_layer * scores = find_layer(in, "scores", 2);
    const ei_parser_layer * boxes = find_layer(in, "boxes", 4);
    if (!scores || !boxes) {
        snprintf(out->error, sizeof out->error, "needs the outputs 'scores' [1,N,2] and 'boxes' [1,N,4]");
        return EI_PARSER_ERROR;
    }
    if (scores->rank != 3 || scores->dims[2] != 2 || boxes->rank != 3 || boxes->dims[2] != 4 ||
        scores->dims[1] != boxes->dims[1]) {
        snprintf(out->error, sizeof out->error, "'%s' must be [1,N,2] and '%s' [1,N,4] with the same N", scores->name,
                 boxes->name);
        return EI_PARSER_ERROR;
    }
    if (in->n_classes < 2) {
        snprintf(out->error, sizeof out->error, "num-detected-classes is %d; this model has 2 (background, face)",
                 (int)in->n_classes);
        return EI_PARSER_ERROR;
    }
    const float   threshold = in->pre_cluster_thresholds[1];
    const float   w = (float)in->net_w, h = (float)in->net_h;
    const int64_t n = scores->dims[1];
    int32_t       count = 0;
    for (int64_t i = 0; i < n; i++) {
        float score = scores->data[i * 2 + 1];
        if (!(score >= threshold)) continue;
        if (count < out->capacity) {
            const float *  b = boxes->data + i * 4;
            ei_detection * d = &out->detections[count];
            d->x1 = b[0] * w;
            d->y1 = b[1] * h;
            d->x2 = b[2] * w;
            d->y2 = b[3] * h;
            d->score = score;
            d->class_id = 1;
        }
        count++;
    }
    out->count = count;
    return count > out->capacity ? EI_PARSER_NEED_CAPACITY : EI_PARSER_OK;
}
