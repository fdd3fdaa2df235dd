/* Plugins that break the parser ABI's contract in one way each, so that the host's checks can be
 * asserted. Built as a module next to the test. */
#include <math.h>
#include <stdio.h>

#include "edgeinfer/parser.h"

#define BAD_EXPORT __attribute__((visibility("default")))

BAD_EXPORT uint32_t ei_parser_abi_version(void);
BAD_EXPORT int      bad_overflow(const ei_parser_input * in, ei_parser_output * out);
BAD_EXPORT int      bad_nan(const ei_parser_input * in, ei_parser_output * out);
BAD_EXPORT int      bad_class(const ei_parser_input * in, ei_parser_output * out);
BAD_EXPORT int      bad_fail(const ei_parser_input * in, ei_parser_output * out);
BAD_EXPORT int      bad_greedy(const ei_parser_input * in, ei_parser_output * out);
BAD_EXPORT int      good_many(const ei_parser_input * in, ei_parser_output * out);

uint32_t ei_parser_abi_version(void) { return EI_PARSER_ABI_VERSION; }

static void box(ei_detection * d, float x, int32_t class_id, float score) {
    d->x1 = x;
    d->y1 = 1.0f;
    d->x2 = x + 10.0f;
    d->y2 = 11.0f;
    d->class_id = class_id;
    d->score = score;
}

/* Claims more boxes than fit while returning success. */
int bad_overflow(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    out->count = out->capacity + 5;
    return EI_PARSER_OK;
}

int bad_nan(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    box(&out->detections[0], 1.0f, 0, 0.9f);
    box(&out->detections[1], 2.0f, 0, 0.9f);
    out->detections[1].y2 = NAN;
    out->count = 2;
    return EI_PARSER_OK;
}

int bad_class(const ei_parser_input * in, ei_parser_output * out) {
    box(&out->detections[0], 1.0f, in->n_classes, 0.9f);
    out->count = 1;
    return EI_PARSER_OK;
}

int bad_fail(const ei_parser_input * in, ei_parser_output * out) {
    snprintf(out->error, sizeof out->error, "layer count %d is not what I expected", (int)in->n_layers);
    return EI_PARSER_ERROR;
}

/* Always asks for more room than it was given. */
int bad_greedy(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    out->count = out->capacity + 1;
    return EI_PARSER_NEED_CAPACITY;
}

/* A correct plugin that reports 1000 boxes (more than the host's first buffer), alternating
 * classes 0 and 1 with scores i/1000: exercises the capacity retry and the threshold filter. */
int good_many(const ei_parser_input * in, ei_parser_output * out) {
    (void)in;
    const int32_t n = 1000;
    out->count = n;
    if (n > out->capacity) return EI_PARSER_NEED_CAPACITY;
    for (int32_t i = 0; i < n; i++) box(&out->detections[i], (float)i, i % 2, (float)i / 1000.0f);
    return EI_PARSER_OK;
}
