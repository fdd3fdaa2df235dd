/* ei_box_iou, ei_nms and ei_cluster on hand-made box sets (torchvision agreement is checked on
 * random and real sets by tests/vision_decode). */
#include "edgeinfer/detect.h"
#include "ei_test.h"

static ei_detection box(float x1, float y1, float x2, float y2, float s, int32_t c) {
    ei_detection d = {x1, y1, x2, y2, s, c};
    return d;
}

static void test_iou(void) {
    ei_detection a = box(0, 0, 10, 10, 1, 0), b = box(5, 0, 15, 10, 1, 0), c = box(20, 20, 30, 30, 1, 0);
    EI_CHECK_NEAR(ei_box_iou(&a, &b), 50.0 / 150.0, 1e-6);
    EI_CHECK_NEAR(ei_box_iou(&a, &a), 1.0, 1e-6);
    EI_CHECK_NEAR(ei_box_iou(&a, &c), 0.0, 0);
    ei_detection z = box(3, 3, 3, 3, 1, 0);
    EI_CHECK_NEAR(ei_box_iou(&z, &z), 0.0, 0); /* empty union: 0, not NaN */
}

static void test_nms_classwise_and_agnostic(void) {
    ei_detection d[4] = {box(0, 0, 10, 10, 0.5f, 0), box(1, 0, 11, 10, 0.9f, 0), box(1, 0, 11, 10, 0.8f, 1),
                         box(50, 50, 60, 60, 0.1f, 0)};
    ei_detection e[4];
    memcpy(e, d, sizeof(d));
    int32_t k = ei_nms(d, 4, 0.5f, 0, 0);
    EI_CHECK(k == 3);
    EI_CHECK(d[0].score == 0.9f && d[1].score == 0.8f && d[2].score == 0.1f);
    k = ei_nms(e, 4, 0.5f, 1, 0);
    EI_CHECK(k == 2);
    EI_CHECK(e[0].score == 0.9f && e[1].score == 0.1f);
}

static void test_nms_topk_and_ties(void) {
    ei_detection d[45];
    for (int i = 0; i < 45; i++) d[i] = box((float)(i * 20), 0, (float)(i * 20 + 10), 10, i % 3 == 0 ? 0.5f : 0.25f, i);
    int32_t k = ei_nms(d, 45, 0.5f, 1, 0);
    EI_CHECK(k == 45);
    /* Stable: equal scores keep their input order (class_id holds the input index). */
    int ordered = 1;
    for (int i = 1; i < k; i++)
        if (d[i].score == d[i - 1].score && d[i].class_id < d[i - 1].class_id) ordered = 0;
    EI_CHECK(ordered);
    EI_CHECK(d[0].class_id == 0 && d[15].class_id == 1);
    EI_CHECK(ei_nms(d, 45, 0.5f, 1, 7) == 7);
    EI_CHECK(ei_nms(NULL, 3, 0.5f, 1, 0) == 0);
}

static void test_cluster(void) {
    ei_class_attrs a[2] = {ei_class_attrs_default(), ei_class_attrs_default()};
    a[0].nms_iou_threshold = 0.5f;
    a[1].pre_cluster_threshold = 0.6f;
    a[1].nms_iou_threshold = 0.2f;
    ei_detection d[6] = {
        box(0, 0, 10, 10, 0.9f, 0),    box(2, 0, 12, 10, 0.8f, 0),   /* IoU 0.67 > 0.5: suppressed */
        box(0, 20, 10, 30, 0.7f, 1),   box(3, 20, 13, 30, 0.65f, 1), /* IoU 0.54 > 0.2: suppressed */
        box(40, 40, 50, 50, 0.5f, 1),                                /* below class 1 pre-cluster 0.6 */
        box(90, 90, 95, 95, 0.95f, 7),                               /* unknown class: dropped */
    };
    int32_t k = ei_cluster(d, 6, a, 2, 0, 0);
    EI_CHECK(k == 2);
    EI_CHECK(d[0].class_id == 0 && d[0].score == 0.9f && d[1].class_id == 1 && d[1].score == 0.7f);

    /* post-cluster threshold, size limits and per-class topk */
    ei_detection e[4] = {box(0, 0, 10, 10, 0.9f, 0), box(20, 0, 30, 10, 0.8f, 0), box(40, 0, 80, 10, 0.7f, 0),
                         box(0, 50, 3, 53, 0.6f, 1)};
    a[0].topk = 1;
    a[0].max_w = 30.0f;
    a[1].pre_cluster_threshold = 0.2f;
    a[1].min_w = 5.0f;
    EI_CHECK(ei_cluster(e, 4, a, 2, 0, 0) == 1);
    EI_CHECK(e[0].score == 0.9f);
    ei_detection f[2] = {box(0, 0, 10, 10, 0.3f, 0), box(20, 0, 30, 10, 0.9f, 0)};
    a[0] = ei_class_attrs_default();
    a[0].post_cluster_threshold = 0.5f;
    EI_CHECK(ei_cluster(f, 2, a, 2, 0, 0) == 1 && f[0].score == 0.9f);

    /* class-agnostic: a box of class 1 suppressed by one of class 0 */
    ei_detection g[2] = {box(0, 0, 10, 10, 0.9f, 0), box(1, 0, 11, 10, 0.8f, 1)};
    a[0] = a[1] = ei_class_attrs_default();
    EI_CHECK(ei_cluster(g, 2, a, 2, 1, 0) == 1);
    ei_detection h[2] = {box(0, 0, 10, 10, 0.9f, 0), box(1, 0, 11, 10, 0.8f, 1)};
    EI_CHECK(ei_cluster(h, 2, a, 2, 0, 0) == 2);
    EI_CHECK(ei_cluster(h, 2, a, 2, 0, 1) == 1); /* overall topk */
}

/* More classes than the stack counters hold: per-class topk counted by scanning. */
static void test_cluster_many_classes(void) {
    enum { NC = 2000 };
    static ei_class_attrs a[NC];
    for (int c = 0; c < NC; c++) {
        a[c] = ei_class_attrs_default();
        a[c].topk = 1;
    }
    ei_detection d[3] = {box(0, 0, 10, 10, 0.9f, 1500), box(20, 0, 30, 10, 0.8f, 1500), box(40, 0, 50, 10, 0.7f, 3)};
    EI_CHECK(ei_cluster(d, 3, a, NC, 0, 0) == 2);
    EI_CHECK(d[0].class_id == 1500 && d[1].class_id == 3);
}

static void test_list_and_to_image(void) {
    ei_detections l = {0};
    for (int i = 0; i < 100; i++) {
        ei_detection d = box(0, 0, 1, 1, (float)i, i);
        EI_CHECK_OK(ei_detections_push(&l, &d));
    }
    EI_CHECK(l.count == 100 && l.items[99].class_id == 99);
    EI_CHECK_OK(ei_detections_reserve(&l, 1000));
    EI_CHECK(l.capacity >= 1000);
    ei_detections_free(&l);
    EI_CHECK(l.items == NULL && l.count == 0);
    ei_detections_free(NULL);

    ei_frame_transform xf = {640, 480, 416, 416, 0.65f, 0.65f, 0.0f, 52.0f};
    ei_detection       d = box(65, 52 + 65, 650, 52 + 390, 1, 0);
    ei_detections_to_image(&xf, &d, 1, 1);
    EI_CHECK_NEAR(d.x1, 100, 1e-3);
    EI_CHECK_NEAR(d.y1, 100, 1e-3);
    EI_CHECK_NEAR(d.x2, 640, 1e-3); /* 1000, clipped */
    EI_CHECK_NEAR(d.y2, 480, 1e-3); /* 600, clipped */
}

int main(void) {
    EI_RUN(test_iou);
    EI_RUN(test_nms_classwise_and_agnostic);
    EI_RUN(test_nms_topk_and_ties);
    EI_RUN(test_cluster);
    EI_RUN(test_cluster_many_classes);
    EI_RUN(test_list_and_to_image);
    EI_TEST_EXIT();
}
