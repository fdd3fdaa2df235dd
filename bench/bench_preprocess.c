/* Decode + resize + normalise of one JPEG into a 320x320 RGB NCHW input, (x - 127.5) / 127.5, the
 * work of cv2.imread + cv2.dnn.blobFromImage(img, 1/127.5, (320, 320), 127.5, swapRB=True).
 *   bench_preprocess IMAGE REPS [full|scaled|both|all]
 * prints the median milliseconds per frame of each mode on one line ("full 12.3 scaled 4.5");
 * `all` adds the stages without the JPEG decoder: "resize" (an already decoded BGR frame, as
 * cv2.dnn.blobFromImage gets it) and "nv12" (a 4:2:0 video frame, as a video decoder hands it over);
 * bench/preprocess_vs_opencv.py runs it against OpenCV in the same run. Single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/edgeinfer.h"
#include "edgeinfer/image.h"
#include "edgeinfer/preprocess.h"

#include "bench_time.h"

/* One timed job: a file decoded and pre-processed (path set), or a frame in memory pre-processed. */
typedef struct job {
    const char *               path;
    int                        scaled;
    const ei_image *           frame;
    const ei_preprocess_spec * spec;
    float *                    out;
} job;

static ei_status * run_once(const job * j) {
    if (j->frame) return ei_preprocess(j->spec, j->frame, j->out, NULL);
    ei_image    img;
    ei_status * st = j->scaled ? ei_image_load_scaled(j->path, EI_PIXEL_RGB, j->spec->width, j->spec->height, &img)
                               : ei_image_load(j->path, EI_PIXEL_RGB, &img);
    if (!st) st = ei_preprocess(j->spec, &img, j->out, NULL);
    ei_image_free(&img);
    return st;
}

/* The median milliseconds of reps runs of the job. */
static double median_ms(const job * j, int reps) {
    double * t = malloc(sizeof(double) * (size_t)reps);
    for (int i = 0; i < reps; i++) {
        double      t0 = ei_bench_now_ms();
        ei_status * st = run_once(j);
        if (st) {
            fprintf(stderr, "bench_preprocess: %s\n", ei_status_message(st));
            exit(1);
        }
        t[i] = ei_bench_now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), ei_bench_cmp_double);
    double m = t[reps / 2];
    free(t);
    return m;
}

/* A BGR frame and an NV12 frame of the image: the inputs of the decoder-free modes. The NV12
 * frame is the BGR one through BT.601 limited range, as a video decoder would produce. */
static void frames_of(const char * path, ei_image * bgr, ei_image * nv12) {
    ei_status * st = ei_image_load(path, EI_PIXEL_BGR, bgr);
    if (!st) st = ei_image_alloc(EI_PIXEL_NV12, bgr->width & ~1, bgr->height & ~1, nv12);
    if (st) {
        fprintf(stderr, "bench_preprocess: %s\n", ei_status_message(st));
        exit(1);
    }
    for (int32_t y = 0; y < nv12->height; y++)
        for (int32_t x = 0; x < nv12->width; x++) {
            const uint8_t * p = bgr->plane[0] + (size_t)y * (size_t)bgr->stride[0] + (size_t)x * 3;
            double          b = p[0], g = p[1], r = p[2];
            nv12->plane[0][(size_t)y * (size_t)nv12->stride[0] + (size_t)x] =
                (uint8_t)(16.5 + 0.257 * r + 0.504 * g + 0.098 * b);
            if (!(y & 1) && !(x & 1)) {
                uint8_t * uv = nv12->plane[1] + (size_t)(y / 2) * (size_t)nv12->stride[1] + (size_t)x;
                uv[0] = (uint8_t)(128.5 - 0.148 * r - 0.291 * g + 0.439 * b);
                uv[1] = (uint8_t)(128.5 + 0.439 * r - 0.368 * g - 0.071 * b);
            }
        }
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
    if (strcmp(mode, "scaled")) printf("full %.3f ", median_ms(&(job){argv[1], 0, NULL, &spec, out}, reps));
    if (strcmp(mode, "full")) printf("scaled %.3f ", median_ms(&(job){argv[1], 1, NULL, &spec, out}, reps));
    if (!strcmp(mode, "all")) {
        ei_image bgr, nv12;
        frames_of(argv[1], &bgr, &nv12);
        printf("resize %.3f ", median_ms(&(job){NULL, 0, &bgr, &spec, out}, reps));
        printf("nv12 %.3f", median_ms(&(job){NULL, 0, &nv12, &spec, out}, reps));
        ei_image_free(&bgr);
        ei_image_free(&nv12);
    }
    printf("\n");
    free(out);
    return 0;
}
