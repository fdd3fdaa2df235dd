/* The label files of the shared assets' models load with their class counts (skips without them). */
#include <sys/stat.h>

#include "edgeinfer/labels.h"
#include "ei_test.h"

static const struct {
    const char * path;
    int32_t      count;
    const char * first, *last;
} g_files[] = {
    {"models/coco_detection/coco80_classes.txt", 80, "person", "toothbrush"},
    {"models/coco_detection/coco80_official_names.txt", 80, "person", "toothbrush"},
    {"models/face_detection/ulfd_labels.txt", 2, "BACKGROUND", "face"},
    {"models/person_detection/person_labels.txt", 1, "person", "person"},
    {"models/segmentation/voc21_labels.txt", 21, "background", "tvmonitor"},
    {"models/segmentation/road_segmentation_labels.txt", 4, "BG", "mark"},
};

int main(void) {
    char        probe[4096];
    struct stat sb;
    snprintf(probe, sizeof probe, "%s/%s", ei_test_assets_dir(), g_files[0].path);
    if (stat(probe, &sb) != 0) EI_SKIP("assets not found at %s (set EI_ASSETS_DIR)", ei_test_assets_dir());
    for (size_t i = 0; i < sizeof g_files / sizeof g_files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", ei_test_assets_dir(), g_files[i].path);
        ei_labels * l = NULL;
        EI_CHECK_OK(ei_labels_load(path, &l));
        int32_t n = ei_labels_count(l);
        printf("%s: %d labels\n", g_files[i].path, (int)n);
        EI_CHECK(n == g_files[i].count);
        if (n > 0) {
            EI_CHECK(strcmp(ei_labels_name(l, 0), g_files[i].first) == 0);
            EI_CHECK(strcmp(ei_labels_name(l, n - 1), g_files[i].last) == 0);
        }
        ei_labels_destroy(l);
    }
    EI_TEST_EXIT();
}
