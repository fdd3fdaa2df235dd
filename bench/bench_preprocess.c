/* Decode + resize + normalise of one JPEG into a 320x320 RGB NCHW input, (x - 127.5) / 127.5, the
 * work of cv2.imread + cv2.dnn.blobFromImage(img, 1/127.5, (320, 320), 127.5, swapRB=True).
 *   bench_preprocess IMAGE REPS [full|scaled|both]
 * prints the median milliseconds per frame of each mode on one line ("full 12.3 scaled 4.5");
 * bench/preprocess_vs_opencv.py runs it against OpenCV in the same run. Single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/edgeinfer.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run(const char * path, int reps, int scaled, float * out, const ei_preprocess_spec * spec) {
    double * t = malloc(sizeof(double) * (size_t)reps);
    for (int i = 0; i < reps; i++) {
        double      t0 = now_ms();
        ei_image    img;
        ei_status * st = scaled ? ei_image_load_scaled(path, EI_PIXEL_RGB, spec->width, spec->height, &img)
                                : ei_image_load(path, EI_PIXEL_RGB, &img);
        if (!st) st = ei_preprocess(spec, &img, out, NULL);
        ei_image_free(&img);
        if (st) {
            fprintf(stderr, "bench_preprocess: %s\n", ei_status_message(st));
            exit(1);
        }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    double m = t[reps / 2];
    free(t);
    return m;
}

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_preprocess IMAGE REPS [full|scaled|both]\n");
        return 2;
    }
    int                reps = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1;
    const char *       mode = argc > 3 ? argv[3] : "both";
    ei_preprocess_spec spec = ei_preprocess_spec_default();
    spec.width = spec.height = 320;
    spec.color = EI_PIXEL_RGB;
    for (int c = 0; c < 3; c++) spec.scale[c] = 1.f / 127.5f, spec.offset[c] = 127.5f;
    float * out = malloc(sizeof(float) * 3 * 320 * 320);
    if (strcmp(mode, "scaled")) printf("full %.3f ", run(argv[1], reps, 0, out, &spec));
    if (strcmp(mode, "full")) printf("scaled %.3f", run(argv[1], reps, 1, out, &spec));
    printf("\n");
    free(out);
    return 0;
}
