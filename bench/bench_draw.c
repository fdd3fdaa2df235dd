/* Drawing cost per 1280x720 frame: 20 captioned boxes, and a segmentation overlay, on RGB, NV12 and
 * I420 (the streaming OSD draws on the decoder's I420 in place). Prints the median of 200 frames in
 * milliseconds. Run by hand: build/bench/bench_draw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgeinfer/draw.h"

#include "bench_time.h"

enum { W = 1280, H = 720, N = 200, BOXES = 20 };

static double median(double * v) {
    qsort(v, N, sizeof *v, ei_bench_cmp_double);
    return v[N / 2];
}

int main(void) {
    static const char * names[80] = {"person", "bicycle", "car", "motorcycle", "airplane", "bus"};
    ei_detection        d[BOXES];
    for (int i = 0; i < BOXES; i++) {
        float x = (float)(37 * i % 1100), y = (float)(53 * i % 600);
        d[i] = (ei_detection){x, y, x + 120.0f + (float)(i * 7 % 60), y + 90.0f, 0.5f + 0.02f * (float)i, i % 6};
    }
    ei_seg_map map = {W, H, 21, malloc((size_t)W * H), NULL};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) map.labels[y * W + x] = (uint8_t)((x / 160 + y / 180) % 4 == 0 ? 0 : x / 160 + 1);
    const ei_pixel_format fmts[] = {EI_PIXEL_RGB, EI_PIXEL_NV12, EI_PIXEL_I420};
    printf("%-5s %12s %12s\n", "fmt", "boxes_ms", "overlay_ms");
    for (int f = 0; f < 3; f++) {
        ei_image img;
        if (ei_image_alloc(fmts[f], W, H, &img)) return 1;
        double tb[N], to[N];
        for (int i = 0; i < N; i++) {
            double      t0 = ei_bench_now_ms();
            ei_status * st = ei_draw_detections_named(&img, d, BOXES, names, 80);
            double      t1 = ei_bench_now_ms();
            ei_status * st2 = ei_draw_seg_overlay(&img, &map, 0.5f, 0);
            double      t2 = ei_bench_now_ms();
            if (st || st2) return 1;
            tb[i] = t1 - t0, to[i] = t2 - t1;
        }
        printf("%-5s %12.3f %12.3f\n", ei_pixel_format_name(fmts[f]), median(tb), median(to));
        ei_image_free(&img);
    }
    free(map.labels);
    return 0;
}
