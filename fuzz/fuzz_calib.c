/* INT8 calibration caches (ei_calib_table_load, include/edgeinfer/calib.h) on hostile bytes. The
 * loader reads a path: each input is written to one temporary file. A table that loads must save
 * and load again to the same entries (scales, signs and channel means). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeinfer/calib.h"

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

static char g_in[64], g_out[80];

static void cleanup(void) {
    if (g_in[0]) unlink(g_in);
    if (g_out[0]) unlink(g_out);
}

static bool temp_paths(void) {
    if (g_in[0]) return true;
    snprintf(g_in, sizeof g_in, "/tmp/ei_fuzz_calib_XXXXXX");
    int fd = mkstemp(g_in);
    if (fd < 0) {
        g_in[0] = '\0';
        return false;
    }
    close(fd);
    snprintf(g_out, sizeof g_out, "%s.out", g_in);
    atexit(cleanup);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (!temp_paths()) return 0;
    FILE * f = fopen(g_in, "wb");
    if (!f) return 0;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    fclose(f);
    if (w != size) return 0;
    ei_calib_table * t = NULL;
    ei_status *      st = ei_calib_table_load(g_in, &t);
    if (!st) {
        ei_calib_table * u = NULL;
        st = ei_calib_table_save(t, g_out);
        if (!st) st = ei_calib_table_load(g_out, &u);
        if (st || ei_calib_table_count(u) != ei_calib_table_count(t)) abort();
        for (int32_t i = 0; i < ei_calib_table_count(t); i++) {
            float s1, s2;
            bool  u1, u2;
            if (!ei_calib_table_get(t, ei_calib_table_name(t, i), &s1, &u1) ||
                !ei_calib_table_get(u, ei_calib_table_name(t, i), &s2, &u2) || s1 != s2 || u1 != u2 || !(s1 > 0.0f) ||
                !isfinite(s1))
                abort();
            const float *m1 = NULL, *q1 = NULL, *m2 = NULL, *q2 = NULL; /* channel means (format 2) */
            int32_t      c1 = ei_calib_table_means(t, ei_calib_table_name(t, i), &m1, &q1);
            int32_t      c2 = ei_calib_table_means(u, ei_calib_table_name(t, i), &m2, &q2);
            if (c1 != c2) abort();
            for (int32_t k = 0; k < c1; k++)
                if (m1[k] != m2[k] || q1[k] != q2[k] || !isfinite(m1[k]) || !isfinite(q1[k])) abort();
        }
        ei_calib_table_destroy(u);
    }
    ei_status_destroy(st);
    ei_calib_table_destroy(t);
    return 0;
}
