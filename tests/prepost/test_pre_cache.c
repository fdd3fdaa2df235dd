/* ei_preprocess keeps the last resizer of each thread (preprocess.c, pre_cache) and reuses it for
 * the next image of the same sizes: a sequence of frames that changes content, sizes, format,
 * layout, letterboxing, filter and code path (AVX2 / scalar) must give, frame by frame, the very
 * floats a fresh thread (empty cache) gives; so must four threads running their own sequences
 * at once. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"
#include "ei_test.h"
#include "vision/resize.h"

typedef struct step {
    ei_pixel_format fmt;
    int32_t         sw, sh, dw, dh;
    int             keep, nhwc, filter, scalar, seed;
} step;

static const step steps[] = {
    {EI_PIXEL_NV12, 768, 432, 320, 320, 0, 0, EI_RESIZE_BILINEAR, 0, 1},
    {EI_PIXEL_NV12, 768, 432, 320, 320, 0, 0, EI_RESIZE_BILINEAR, 0, 2}, /* same sizes, new frame */
    {EI_PIXEL_NV12, 768, 432, 320, 320, 0, 0, EI_RESIZE_BILINEAR, 1, 2}, /* scalar path */
    {EI_PIXEL_NV12, 768, 432, 320, 320, 1, 0, EI_RESIZE_BILINEAR, 0, 3}, /* letterbox */
    {EI_PIXEL_I420, 768, 432, 320, 320, 1, 0, EI_RESIZE_BILINEAR, 0, 3},
    {EI_PIXEL_I420, 768, 432, 320, 320, 1, 1, EI_RESIZE_BILINEAR, 0, 4}, /* NHWC: row source */
    {EI_PIXEL_I420, 768, 432, 320, 320, 1, 1, EI_RESIZE_BILINEAR, 0, 5},
    {EI_PIXEL_I420, 768, 432, 320, 320, 1, 0, EI_RESIZE_BILINEAR, 0, 5},
    {EI_PIXEL_I420, 768, 432, 320, 320, 0, 0, EI_RESIZE_AREA, 0, 6}, /* no taps: converted first */
    {EI_PIXEL_I420, 768, 432, 320, 320, 0, 0, EI_RESIZE_AREA, 0, 7},
    {EI_PIXEL_BGR, 97, 61, 33, 17, 0, 0, EI_RESIZE_BILINEAR, 0, 8},
    {EI_PIXEL_BGR, 97, 61, 33, 17, 0, 0, EI_RESIZE_BILINEAR, 0, 9},
    {EI_PIXEL_RGB, 97, 61, 33, 17, 0, 0, EI_RESIZE_NEAREST, 0, 9},
    {EI_PIXEL_NV12, 2, 2, 5, 3, 0, 0, EI_RESIZE_BILINEAR, 0, 10},
    {EI_PIXEL_NV12, 2, 2, 5, 3, 0, 0, EI_RESIZE_BILINEAR, 0, 12}, /* every row reads source rows 0, 1 */
    {EI_PIXEL_BGR, 40, 30, 16, 1, 0, 0, EI_RESIZE_BILINEAR, 0, 13},
    {EI_PIXEL_BGR, 40, 30, 16, 1, 0, 0, EI_RESIZE_BILINEAR, 0, 14},
    {EI_PIXEL_NV12, 768, 432, 320, 320, 0, 0, EI_RESIZE_BILINEAR, 0, 11}, /* back to the first sizes */
};
enum { N_STEPS = sizeof steps / sizeof steps[0] };

static void fill(ei_image * img, int seed) {
    uint32_t s = 2654435761u * (uint32_t)(seed + 1);
    int      planes = img->format == EI_PIXEL_I420 ? 3 : img->format == EI_PIXEL_NV12 ? 2 : 1;
    for (int p = 0; p < planes; p++) {
        int32_t rows = p == 0 ? img->height : (img->height + 1) / 2;
        for (size_t i = 0; i < (size_t)rows * (size_t)img->stride[p]; i++) {
            s = s * 1664525u + 1013904223u;
            img->plane[p][i] = (uint8_t)(s >> 24);
        }
    }
}

static float * run_step(const step * t) {
    ei_image img;
    EI_CHECK_OK(ei_image_alloc(t->fmt, t->sw, t->sh, &img));
    fill(&img, t->seed);
    ei_preprocess_spec spec = ei_preprocess_spec_default();
    spec.width = t->dw, spec.height = t->dh, spec.keep_aspect = t->keep, spec.filter = (ei_resize_filter)t->filter;
    spec.layout = t->nhwc ? EI_LAYOUT_NHWC : EI_LAYOUT_NCHW;
    for (int c = 0; c < 3; c++) spec.scale[c] = 1.f / 58.f, spec.offset[c] = 120.f + (float)c, spec.pad_value[c] = 7.f;
    float * out = malloc(sizeof(float) * 3 * (size_t)t->dw * (size_t)t->dh);
    if (t->scalar) ei_resize_force_scalar(1); /* only from the main thread (process-wide switch) */
    EI_CHECK_OK(ei_preprocess(&spec, &img, out, NULL));
    if (t->scalar) ei_resize_force_scalar(0);
    ei_image_free(&img);
    return out;
}

static void * fresh_thread(void * arg) { return run_step(arg); }

/* The step's floats from a thread of its own (an empty cache). */
static float * run_fresh(const step * t) {
    pthread_t th;
    void *    out = NULL;
    EI_CHECK(pthread_create(&th, NULL, fresh_thread, (void *)t) == 0);
    EI_CHECK(pthread_join(th, &out) == 0);
    return out;
}

static int same(const step * t, const float * a, const float * b) {
    return !memcmp(a, b, sizeof(float) * 3 * (size_t)t->dw * (size_t)t->dh);
}

static void test_sequence(void) {
    for (int k = 0; k < N_STEPS; k++) {
        float *got = run_step(&steps[k]), *want = run_fresh(&steps[k]);
        if (!same(&steps[k], got, want)) printf("  step %d differs from a fresh thread\n", k);
        EI_CHECK(same(&steps[k], got, want));
        free(got), free(want);
    }
}

/* Four threads, each its own rotation of the steps (no scalar steps: the switch is process-wide). */
static float * want_of[N_STEPS];
static int     thread_bad[4];

static void * worker(void * arg) {
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < N_STEPS; j++) {
            int k = (j + 3 * id) % N_STEPS;
            if (steps[k].scalar) continue;
            float * got = run_step(&steps[k]);
            thread_bad[id] |= !same(&steps[k], got, want_of[k]);
            free(got);
        }
    return NULL;
}

static void test_threads(void) {
    for (int k = 0; k < N_STEPS; k++) want_of[k] = run_fresh(&steps[k]);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) EI_CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++) EI_CHECK(pthread_join(th[i], NULL) == 0);
    for (int i = 0; i < 4; i++) EI_CHECK(!thread_bad[i]);
    for (int k = 0; k < N_STEPS; k++) free(want_of[k]);
}

int main(void) {
    EI_RUN(test_sequence);
    EI_RUN(test_threads);
    EI_TEST_EXIT();
}
