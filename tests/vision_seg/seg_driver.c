/* Runs ei_segment_decode on a score tensor from a .npy file and writes the label map and the
 * per-class counts as .npy, for check_segment.py to compare with its numpy reference.
 *   seg_driver SCORES.npy nchw|nhwc SRC_W SRC_H NET_W NET_H SCALE_X SCALE_Y PAD_X PAD_Y UPSAMPLE
 *              THRESHOLD SIGMOID LABELS.npy COUNTS.npy [REPEAT]
 * THRESHOLD "-inf" is plain argmax. REPEAT > 1 decodes that many times and prints the median
 * time (a figure for the docs, not a test assertion). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/segment.h"

static int fail(ei_status * st) {
    fprintf(stderr, "seg_driver: %s\n", ei_status_message(st));
    ei_status_destroy(st);
    return 1;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char ** argv) {
    if (argc != 16 && argc != 17) {
        fprintf(stderr, "usage: seg_driver SCORES.npy nchw|nhwc SRC_W SRC_H NET_W NET_H SCALE_X SCALE_Y PAD_X PAD_Y "
                        "UPSAMPLE THRESHOLD SIGMOID LABELS.npy COUNTS.npy [REPEAT]\n");
        return 2;
    }
    ei_tensor * scores = NULL;
    ei_status * st = ei_tensor_load_file(argv[1], &scores);
    if (st) return fail(st);
    ei_segment_params p = ei_segment_params_default();
    p.layout = strcmp(argv[2], "nhwc") == 0 ? EI_LAYOUT_NHWC : EI_LAYOUT_NCHW;
    ei_frame_transform xf;
    xf.src_width = atoi(argv[3]);
    xf.src_height = atoi(argv[4]);
    xf.net_width = atoi(argv[5]);
    xf.net_height = atoi(argv[6]);
    xf.scale_x = strtof(argv[7], NULL);
    xf.scale_y = strtof(argv[8], NULL);
    xf.pad_x = strtof(argv[9], NULL);
    xf.pad_y = strtof(argv[10], NULL);
    p.upsample_scores = atoi(argv[11]);
    p.threshold = strtof(argv[12], NULL);
    p.sigmoid = atoi(argv[13]);
    const int  repeat = argc == 17 ? atoi(argv[16]) : 1;
    ei_seg_map map;
    double     times[101];
    int        n_times = 0;
    for (int r = 0; r < (repeat < 1 ? 1 : repeat > 101 ? 101 : repeat); r++) {
        if (r) ei_seg_map_free(&map);
        double t0 = now_ms();
        st = ei_segment_decode(&p, scores, 0, &xf, &map);
        if (st) {
            ei_tensor_destroy(scores);
            return fail(st);
        }
        times[n_times++] = now_ms() - t0;
    }
    if (n_times > 1) {
        qsort(times, (size_t)n_times, sizeof times[0], cmp_double);
        printf("decode %dx%d: median %.2f ms over %d runs\n", xf.src_width, xf.src_height, times[n_times / 2], n_times);
    }
    ei_shape   ls = {2, {map.height, map.width}}, cs = {1, {map.n_classes}};
    ei_tensor *lt = NULL, *ct = NULL;
    st = ei_tensor_create(EI_DTYPE_U8, &ls, &lt);
    if (!st) st = ei_tensor_create(EI_DTYPE_I64, &cs, &ct);
    if (!st) {
        memcpy(ei_tensor_data(lt), map.labels, (size_t)map.width * map.height);
        memcpy(ei_tensor_data(ct), map.pixel_count, (size_t)map.n_classes * sizeof(int64_t));
        st = ei_tensor_save_file(lt, "labels", argv[14]);
    }
    if (!st) st = ei_tensor_save_file(ct, "counts", argv[15]);
    ei_tensor_destroy(lt);
    ei_tensor_destroy(ct);
    ei_tensor_destroy(scores);
    ei_seg_map_free(&map);
    return st ? fail(st) : 0;
}
