/* Prior generation: counts, order and values of hand-checked cells, and spec errors. Whole prior
 * sets are compared with torchvision and the pytorch-ssd / ULFD formulas in tests/vision_decode. */
#include "edgeinfer/detect.h"
#include "ei_test.h"

static ei_prior_spec ulfd_spec(void) {
    static const int   fw[4] = {40, 20, 10, 5}, fh[4] = {30, 15, 8, 4}, ns[4] = {3, 2, 2, 3};
    static const float sz[4][3] = {{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}};
    ei_prior_spec      s;
    memset(&s, 0, sizeof(s));
    s.style = EI_PRIOR_MIN_BOXES;
    s.image_w = 320;
    s.image_h = 240;
    s.n_levels = 4;
    s.clip = 1;
    for (int k = 0; k < 4; k++) {
        s.level[k].fm_w = fw[k];
        s.level[k].fm_h = fh[k];
        s.level[k].n_sizes = ns[k];
        for (int i = 0; i < ns[k]; i++) s.level[k].sizes[i] = sz[k][i];
    }
    return s;
}

static void test_ulfd(void) {
    ei_prior_spec s = ulfd_spec();
    float *       p = NULL;
    int32_t       n = 0;
    EI_CHECK_OK(ei_priors_generate(&s, &p, &n));
    EI_CHECK(n == 4420);
    if (n == 4420) {
        EI_CHECK_NEAR(p[0], 0.5 / 40, 1e-7);
        EI_CHECK_NEAR(p[1], 0.5 / 30, 1e-7);
        EI_CHECK_NEAR(p[2], 10.0 / 320, 1e-7);
        EI_CHECK_NEAR(p[3], 10.0 / 240, 1e-7);
        EI_CHECK_NEAR(p[4 * 2 + 2], 24.0 / 320, 1e-7); /* third size of the first cell */
        EI_CHECK_NEAR(p[4 * 3 + 0], 1.5 / 40, 1e-7);   /* second cell of the first row */
        EI_CHECK_NEAR(p[4 * 4419 + 3], 1.0, 0);        /* 256/240 clamped */
    }
    free(p);
    s.image_w = 640;
    s.image_h = 480;
    static const int fw[4] = {80, 40, 20, 10}, fh[4] = {60, 30, 15, 8};
    for (int k = 0; k < 4; k++) s.level[k].fm_w = fw[k], s.level[k].fm_h = fh[k];
    EI_CHECK_OK(ei_priors_generate(&s, &p, &n));
    EI_CHECK(n == 17640);
    free(p);
}

static void test_torchvision_ssdlite(void) {
    ei_prior_spec s;
    memset(&s, 0, sizeof(s));
    s.style = EI_PRIOR_TORCHVISION;
    s.image_w = s.image_h = 320;
    s.n_levels = 6;
    s.min_ratio = 0.2f;
    s.max_ratio = 0.95f;
    s.clip = 1;
    static const int g[6] = {20, 10, 5, 3, 2, 1};
    for (int k = 0; k < 6; k++) {
        s.level[k].fm_w = s.level[k].fm_h = g[k];
        s.level[k].n_aspect_ratios = 2;
        s.level[k].aspect_ratios[0] = 2;
        s.level[k].aspect_ratios[1] = 3;
    }
    float * p = NULL;
    int32_t n = 0;
    EI_CHECK_OK(ei_priors_generate(&s, &p, &n));
    EI_CHECK(n == 3234);
    if (n == 3234) {
        EI_CHECK_NEAR(p[2], 0.2, 1e-7);                  /* s_0 */
        EI_CHECK_NEAR(p[4 + 2], sqrt(0.2 * 0.35), 1e-7); /* s'_0 = sqrt(s_0 s_1) */
        EI_CHECK_NEAR(p[8 + 2], 0.2 * sqrt(2.0), 1e-7);
        EI_CHECK_NEAR(p[8 + 3], 0.2 / sqrt(2.0), 1e-7);
        EI_CHECK_NEAR(p[12 + 2], 0.2 / sqrt(2.0), 1e-7);
        EI_CHECK_NEAR(p[4 * 3233 + 0], 0.5, 1e-7); /* last level: one cell */
    }
    free(p);
}

static void test_errors(void) {
    ei_prior_spec s = ulfd_spec();
    float *       p = NULL;
    int32_t       n = 0;
    s.n_levels = 0;
    EI_CHECK_ERROR(ei_priors_generate(&s, &p, &n), EI_CODE_INVALID_ARGUMENT, "0 levels");
    s = ulfd_spec();
    s.level[2].fm_w = 0;
    EI_CHECK_ERROR(ei_priors_generate(&s, &p, &n), EI_CODE_INVALID_ARGUMENT, "level 2 feature map 0x8");
    s = ulfd_spec();
    s.level[1].n_sizes = 0;
    EI_CHECK_ERROR(ei_priors_generate(&s, &p, &n), EI_CODE_INVALID_ARGUMENT, "level 1 has no min_boxes sizes");
    s = ulfd_spec();
    s.image_w = 0;
    EI_CHECK_ERROR(ei_priors_generate(&s, &p, &n), EI_CODE_INVALID_ARGUMENT, "image size 0x240");
    s = ulfd_spec();
    s.style = EI_PRIOR_PYTORCH_SSD;
    EI_CHECK_ERROR(ei_priors_generate(&s, &p, &n), EI_CODE_INVALID_ARGUMENT, "min_size 0 must be positive");
    EI_CHECK(p == NULL && n == 0);
}

int main(void) {
    EI_RUN(test_ulfd);
    EI_RUN(test_torchvision_ssdlite);
    EI_RUN(test_errors);
    EI_TEST_EXIT();
}
