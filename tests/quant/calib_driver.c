/* Runs the calibration statistics of src/quant on one raw float32 file (little-endian, as numpy's
 * tofile writes it) and prints what they give, for test_kl_oracle.py:
 *   amax <float %.9g>
 *   negative <0|1>
 *   bins <entropy bins> <percentile bins>
 *   threshold <entropy> <percentile> <minmax>      (%.9g)
 *   scale <entropy> <percentile> <minmax>          (threshold / 127, %.9g)
 *   hist <2048 counts>
 * The histogram is filled in two passes as ei_calibrate does: max |x| first, then the counts. */
#include <stdio.h>
#include <stdlib.h>

#include "quant/calib_internal.h"

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: calib_driver FILE.f32\n");
        return 2;
    }
    FILE * f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 5;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t  n = sz > 0 ? (size_t)sz / sizeof(float) : 0;
    float * x = malloc(n ? n * sizeof *x : 1);
    if (!x || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "%s: read failed\n", argv[1]);
        fclose(f);
        free(x);
        return 5;
    }
    fclose(f);
    ei_absstat s = {0};
    /* Two chunks, as two images would arrive. */
    ei_absstat_observe_range(&s, x, n / 2);
    ei_absstat_observe_range(&s, x + n / 2, n - n / 2);
    s.range = s.amax;
    ei_status * st = ei_absstat_observe_hist(&s, x, n / 2);
    if (!st) st = ei_absstat_observe_hist(&s, x + n / 2, n - n / 2);
    if (st) {
        fprintf(stderr, "%s\n", ei_status_message(st));
        ei_status_destroy(st);
        free(x);
        return 6;
    }
    printf("amax %.9g\nnegative %d\n", (double)s.amax, s.negative ? 1 : 0);
    printf("bins %d %d\n", ei_calib_entropy_bins(s.hist, EI_CALIB_BINS, s.negative ? 128 : 256),
           ei_calib_percentile_bins(s.hist, EI_CALIB_BINS, EI_CALIB_PERCENTILE_CUT));
    float th[3];
    for (int m = 0; m < 3; m++) th[m] = ei_absstat_threshold(&s, (ei_calib_method)m);
    printf("threshold %.9g %.9g %.9g\n", (double)th[0], (double)th[1], (double)th[2]);
    printf("scale %.9g %.9g %.9g\n", (double)(th[0] / 127.0f), (double)(th[1] / 127.0f), (double)(th[2] / 127.0f));
    printf("hist");
    for (int32_t i = 0; i < EI_CALIB_BINS; i++) printf(" %llu", (unsigned long long)s.hist[i]);
    printf("\n");
    ei_absstat_free(&s);
    free(x);
    return 0;
}
